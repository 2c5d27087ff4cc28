"""IR to the source of a standalone PyTorch module (`NAME.py`)."""

from __future__ import annotations

import ast
import subprocess
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from pde2net import __version__, ir
from pde2net.analysis.report import Report
from pde2net.codegen import runtime
from pde2net.codegen.block import BlockCode, BlockWriter
from pde2net.codegen.names import IMPORTS, PYTHON, Namer, class_name, defined_names
from pde2net.codegen.printer import TorchPrinter

INDENT = "    "
# Runtime helpers by group, in the order the module lists them.
HELPERS = {
    "conv_weight": runtime.CONV_WEIGHT,
    "conv_adjoint": runtime.CONV_ADJOINT,
    "TVNorm": runtime.TVNORM,
    "NormBound": runtime.NORM_BOUND,
    "stencil": runtime.STENCIL,
    "multigrid": runtime.MULTIGRID,
    "solvers": runtime.SOLVERS,
    "fourier": runtime.FOURIER,
    "reversible": runtime.REVERSIBLE,
}


@dataclass(frozen=True)
class Generated:
    source: str
    class_name: str
    # block index -> spec weight name -> attribute holding its per-step Parameters
    weights: dict[int, dict[str, str]]
    # block index -> spec weight name -> attribute holding its NormBound modules
    bounds: dict[int, dict[str, str]] = field(default_factory=dict)


def generate(network: ir.Network, report: Report, reversible: bool = False) -> Generated:
    """The module's source, formatted by ruff; the same IR always gives the same bytes.

    The analysis `report` says which norm bounds enforcement keeps and what each block's
    docstring states about its stability (nothing here re-derives them). With
    `reversible`, reversible schemes train through a backward pass that reconstructs
    their states instead of storing them.
    """
    gen = _Generator(network, report, reversible)
    source = format_source(gen.source())
    return Generated(source, gen.network_class, gen.weights, gen.bounds)


def format_source(source: str) -> str:
    """ruff format with default settings (isolated from any project configuration)."""
    from ruff.__main__ import find_ruff_bin

    result = subprocess.run(
        [find_ruff_bin(), "format", "--isolated", "--stdin-filename", "model.py", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:  # a generator bug, never a user mistake
        raise RuntimeError(f"generated code does not format:\n{result.stderr}\n{source}")
    return result.stdout


def _padding(kernel: tuple[int, ...]) -> str:
    pads = [k // 2 for k in kernel]
    return str(pads[0]) if len(set(pads)) == 1 else str(tuple(pads))


def _docstring(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


class _Generator:
    def __init__(self, network: ir.Network, report: Report, reversible: bool = False) -> None:
        self.network = network
        self.report = report
        helper_names = set().union(*(defined_names(code) for code in HELPERS.values()))
        self.globals = Namer(PYTHON | IMPORTS | helper_names)
        self.helpers: set[str] = set()
        self.weights: dict[int, dict[str, str]] = {}
        self.bounds: dict[int, dict[str, str]] = {}
        # each block's class, shared by blocks whose classes come out the same
        self.codes: dict[int, BlockCode] = {}
        self.classes: dict[str, tuple[BlockCode, list[ir.Block]]] = {}
        for block in network.blocks:
            code = BlockWriter(block, report.block(block.index), self.globals, reversible).write()
            self.codes[block.index] = code
            self.classes.setdefault(code.key, (code, []))[1].append(block)
            self.helpers |= code.helpers
            if "stencil" in self.helpers:  # stencil_adjoint calls it
                self.helpers.add("conv_adjoint")
            self.weights[block.index] = code.weights
            self.bounds[block.index] = code.bounds
        module = self.globals.child()
        self.network_class = module.name(class_name(network.name))
        self.class_names: dict[str, str] = {}
        for key, (_, blocks) in self.classes.items():
            pde = blocks[0].pde.name
            same_pde = [k for k, (_, b) in self.classes.items() if b[0].pde.name == pde]
            wish = class_name(pde)
            if len(same_pde) > 1:
                wish += class_name(blocks[0].scheme.name)
            self.class_names[key] = module.name(wish)
        self.functions: dict[str, str] = {}  # network-level activation -> python function
        self.function_names: dict[str, str] = {}
        for layer in network.layers:
            if isinstance(layer, ir.ActivationLayer) and layer.function.torch is None:
                fn = layer.function
                if fn.name not in self.function_names:
                    self.function_names[fn.name] = module.name(fn.name)
        self.module = module

    # -- the whole file ------------------------------------------------------------------
    def source(self) -> str:
        net = self.network
        for layer in net.layers:
            if isinstance(layer, ir.ActivationLayer) and layer.function.torch is None:
                self._network_function(layer.function)
        network_code = self._network_class()
        parts = [
            f'"""{_docstring(net.name)}: generated by pde2net {__version__} from '
            f"{_docstring(Path(net.source_file).name)}. Do not edit; edit the spec.\n\n"
            f"Input (batch, {', '.join(map(str, net.input.shape))}) -> output "
            f"(batch, {', '.join(map(str, net.output_shape))}); "
            f'{net.parameters:,} trainable parameters.\n"""\n\n'
            "from __future__ import annotations\n\n"
            "import math\n\nimport torch\nimport torch.nn.functional as F\nfrom torch import nn",
            f"INPUT_SHAPE = {tuple(net.input.shape)!r}",
        ]
        parts += [code for group, code in HELPERS.items() if group in self.helpers]
        parts.extend(self.functions.values())
        for key, (code, blocks) in self.classes.items():
            parts.append(self._block_class(self.class_names[key], code, blocks))
        parts.append(network_code)
        return "\n\n\n".join(p.strip("\n") for p in parts) + "\n"

    def _block_class(self, cls: str, code: BlockCode, blocks: list[ir.Block]) -> str:
        """The class statement: its docstring states the equations, the scheme and each
        block's stability condition with its status, from the analysis report."""
        first = blocks[0]
        pde = first.pde
        args = ", ".join(pde.args)
        doc = [
            f"pde {pde.name}({args}) stepped by {get_title(first)}."
            if args
            else f"pde {pde.name} stepped by {get_title(first)}.",
            "",
            *[f"{ir.derivative(eq.order)}({eq.state}) = {eq.text}" for eq in pde.equations],
            "",
            "Stability, from the analysis report:",
        ]
        doc += _stability(blocks, self.report)
        node = ast.ClassDef(
            cls,
            [ast.Attribute(ast.Name("nn", ast.Load()), "Module", ast.Load())],
            [],
            [ast.Expr(ast.Constant("\n".join(doc) + "\n")), *code.methods],
            [],
        )
        return ast.unparse(ast.fix_missing_locations(node))

    # -- the network ------------------------------------------------------------------------
    def _network_class(self) -> str:
        net = self.network
        init: list[str] = []
        forward: list[str] = []
        counters: dict[str, int] = {}
        x = self.module.child().name("x")

        def attr(kind: str) -> str:
            counters[kind] = counters.get(kind, 0) + 1
            return f"{kind}{counters[kind]}"

        printer = TorchPrinter({}, methods=self.function_names)
        for layer in net.layers:
            if isinstance(layer, ir.ConvLayer):
                name = attr("conv")
                d = len(layer.kernel)
                kernel = layer.kernel[0] if len(set(layer.kernel)) == 1 else layer.kernel
                stride = f", stride={layer.stride}" if layer.stride != 1 else ""
                init.append(
                    f"self.{name} = nn.Conv{d}d({layer.c_in}, {layer.c_out}, {kernel}, "
                    f"padding={_padding(layer.kernel)}{stride}, bias={layer.bias})"
                )
                forward.append(f"{x} = self.{name}({x})")
            elif isinstance(layer, ir.BatchNormLayer):
                name = attr("bn")
                init.append(f"self.{name} = nn.BatchNorm{max(layer.dims, 1)}d({layer.channels})")
                forward.append(f"{x} = self.{name}({x})")
            elif isinstance(layer, ir.ActivationLayer):
                forward.append(f"{x} = {printer.activation(layer.function, x)}")
            elif isinstance(layer, ir.PoolLayer):
                forward.append(f"{x} = F.{layer.kind}_pool{layer.dims}d({x}, {layer.size})")
            elif isinstance(layer, ir.GlobalPoolLayer):
                dims = tuple(range(2, 2 + layer.dims))
                op = "torch.mean" if layer.kind == "avg" else "torch.amax"
                forward.append(f"{x} = {op}({x}, dim={dims!r})")
            elif isinstance(layer, ir.FlattenLayer):
                forward.append(f"{x} = torch.flatten({x}, 1)")
            elif isinstance(layer, ir.LinearLayer):
                name = attr("linear")
                init.append(
                    f"self.{name} = nn.Linear({layer.c_in}, {layer.c_out}, bias={layer.bias})"
                )
                forward.append(f"{x} = self.{name}({x})")
            elif isinstance(layer, ir.IdentityLayer):
                continue
            elif isinstance(layer, ir.Block):
                code = self.codes[layer.index]
                cls = self.class_names[code.key]
                call = ", ".join(f"{k}={ast.unparse(v)}" for k, v in code.arguments.items())
                name = f"block{layer.index}"
                init.append(f"self.{name} = {cls}({call})")
                forward.append(f"# {layer.pde.signature} by {layer.scheme.text}")
                forward.append(f"{x} = self.{name}({x})")
        shape = ", ".join(map(str, net.input.shape))
        lines = [
            f"class {self.network_class}(nn.Module):",
            f'{INDENT}"""{_docstring(net.name)}: (batch, {shape}) -> '
            f'(batch, {", ".join(map(str, net.output_shape))})."""',
            "",
            f"{INDENT}def __init__(self) -> None:",
            f"{INDENT * 2}super().__init__()",
            *[INDENT * 2 + line for line in init],
            "",
            f"{INDENT}def forward(self, {x}: torch.Tensor) -> torch.Tensor:",
            *[INDENT * 2 + line for line in forward],
            f"{INDENT * 2}return {x}",
        ]
        return "\n".join(lines)

    def _network_function(self, fn: ir.Function) -> None:
        if fn.name in self.functions:
            return
        pyname = self.function_names[fn.name]
        var = self.module.child().name(fn.var.name)
        body = TorchPrinter({fn.var.name: var}).doprint(fn.expr)
        self.functions[fn.name] = (
            f"def {pyname}({var}: torch.Tensor) -> torch.Tensor:\n"
            f'{INDENT}"""{_docstring(fn.name)}({fn.var.name}) = {_docstring(str(fn.expr))}"""\n'
            f"{INDENT}return {body}"
        )


def get_title(block: ir.Block) -> str:
    from pde2net.schemes import get

    name, title = block.scheme.name, get(block.scheme.name).title
    return name if title.lower() == name else f"{name} ({title})"


def _stability(blocks: list[ir.Block], report: Report) -> list[str]:
    """Each block's verdict and the condition behind it, numbers plugged in; blocks with
    the same scheme call, status and condition share a line."""
    groups: dict[tuple[str, str, str], list[ir.Block]] = {}
    for block in blocks:
        verdict = report.block(block.index)
        key = (block.scheme.text, verdict.status, verdict.condition)
        groups.setdefault(key, []).append(block)
    lines = []
    for (scheme, status, condition), members in groups.items():
        names = ", ".join(
            f"block{b.index}"
            + (f" ({', '.join(f'{k} = {v}' for k, v in b.pde.args.items())})" if b.pde.args else "")
            for b in members
        )
        text = f"- {names}, by {scheme}: {status}: {condition}"
        lines += textwrap.wrap(text, 84, subsequent_indent="  ", break_on_hyphens=False)
    return lines

"""Fresh names for generated Python: every identifier in a generated module comes from a
`Namer`, so no spec name can capture or shadow one the generated code relies on.

A namer starts from the names its scope already has (Python's keywords and builtins,
the module's imports and runtime helpers, nn.Module's attributes) and hands out each
wish unchanged if it is free, else with underscores appended until it is. Spec names ask
first; every name the generator introduces (a scheme's locals, helper methods, derived
attributes such as K_bias) asks after them, so it never meets one.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
from collections.abc import Iterable

_IDENT = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
KEYWORDS = frozenset(keyword.kwlist + keyword.softkwlist)
PYTHON = KEYWORDS | frozenset([*dir(builtins), "self"])
IMPORTS = frozenset({"annotations", "math", "torch", "F", "nn", "INPUT_SHAPE"})


def defined_names(source: str) -> set[str]:
    """The names a piece of module source defines at its top level."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def module_attributes() -> frozenset[str]:
    """Every attribute an nn.Module has before the generated class adds its own."""
    return MODULE_ATTRIBUTES


# dir(nn.Module) and vars(nn.Module()) of torch 2.13 (constraints.txt), written out so
# that generating code needs no torch: compile generates in the child that checks the
# spec, beside the import of torch (pde2net/plan.py). A test compares it with the
# installed torch's: it must hold every name (more only costs an underscore).
MODULE_ATTRIBUTES = frozenset(
    (
        "T_destination",
        "__annotations__",
        "__call__",
        "__class__",
        "__delattr__",
        "__dict__",
        "__dir__",
        "__doc__",
        "__eq__",
        "__format__",
        "__ge__",
        "__getattr__",
        "__getattribute__",
        "__getstate__",
        "__gt__",
        "__hash__",
        "__init__",
        "__init_subclass__",
        "__le__",
        "__lt__",
        "__module__",
        "__ne__",
        "__new__",
        "__reduce__",
        "__reduce_ex__",
        "__repr__",
        "__setattr__",
        "__setstate__",
        "__sizeof__",
        "__str__",
        "__subclasshook__",
        "__weakref__",
        "_apply",
        "_backward_hooks",
        "_backward_pre_hooks",
        "_buffers",
        "_call_impl",
        "_compiled_call_impl",
        "_forward_hooks",
        "_forward_hooks_always_called",
        "_forward_hooks_with_kwargs",
        "_forward_pre_hooks",
        "_forward_pre_hooks_with_kwargs",
        "_get_backward_hooks",
        "_get_backward_pre_hooks",
        "_get_name",
        "_is_full_backward_hook",
        "_load_from_state_dict",
        "_load_state_dict_post_hooks",
        "_load_state_dict_pre_hooks",
        "_maybe_warn_non_full_backward_hook",
        "_modules",
        "_named_members",
        "_non_persistent_buffers_set",
        "_parameters",
        "_register_load_state_dict_pre_hook",
        "_register_state_dict_hook",
        "_replicate_for_data_parallel",
        "_save_to_state_dict",
        "_slow_forward",
        "_state_dict_hooks",
        "_state_dict_pre_hooks",
        "_version",
        "_wrapped_call_impl",
        "add_module",
        "apply",
        "bfloat16",
        "buffers",
        "call_super_init",
        "children",
        "compile",
        "cpu",
        "cuda",
        "double",
        "dump_patches",
        "eval",
        "extra_repr",
        "float",
        "forward",
        "get_buffer",
        "get_extra_state",
        "get_parameter",
        "get_submodule",
        "half",
        "ipu",
        "load_state_dict",
        "modules",
        "mtia",
        "named_buffers",
        "named_children",
        "named_modules",
        "named_parameters",
        "parameters",
        "register_backward_hook",
        "register_buffer",
        "register_forward_hook",
        "register_forward_pre_hook",
        "register_full_backward_hook",
        "register_full_backward_pre_hook",
        "register_load_state_dict_post_hook",
        "register_load_state_dict_pre_hook",
        "register_module",
        "register_parameter",
        "register_state_dict_post_hook",
        "register_state_dict_pre_hook",
        "requires_grad_",
        "set_extra_state",
        "set_submodule",
        "share_memory",
        "state_dict",
        "to",
        "to_empty",
        "train",
        "training",
        "type",
        "xpu",
        "zero_grad",
    )
)


class Namer:
    """One scope's names: `name(wish)` returns a free identifier close to `wish`."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self.taken = set(taken)

    def name(self, wish: str) -> str:
        if not _IDENT.fullmatch(wish) or not wish.isascii():
            raise ValueError(f"not an identifier: {wish!r}")  # the grammar never lets one through
        candidate = wish + "_" if wish.startswith("__") else wish
        while candidate in self.taken:
            candidate += "_"
        self.taken.add(candidate)
        return candidate

    def child(self) -> Namer:
        """A scope inside this one (it sees every name taken here so far)."""
        return Namer(self.taken)


def class_name(name: str) -> str:
    """parabolic_cifar10 -> ParabolicCifar10 (a wish for a Namer)."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part) or "Network"

"""Spec identifiers made safe to appear in generated Python."""

from __future__ import annotations

import builtins
import keyword
import re

# Names the generated module itself uses, and attributes every nn.Module already has.
GENERATED = {
    # runtime helpers and generated members (codegen/runtime.py, the schemes' methods)
    "pad",
    "pad_adjoint",
    "stencil",
    "stencil_adjoint",
    "_take",
    "restrict",
    "prolong",
    "coarsen",
    "taus",
    "alphas",
    "transfer",
    "diffusivity",
    "operator",
    "diagonal",
    "solve",
    "matvec",
    "smooth",
    "vcycle",
    "coarse_solve",
    "forward_pair",
    "inverse",
    "torch",
    "nn",
    "F",
    "math",
    "self",
    "j",
    "annotations",
    "conv_weight",
    "TVNorm",
    "NormBound",
    "INPUT_SHAPE",
    "forward",
}
MODULE_ATTRIBUTES = {
    "training",
    "train",
    "eval",
    "to",
    "cpu",
    "cuda",
    "float",
    "double",
    "half",
    "type",
    "parameters",
    "named_parameters",
    "buffers",
    "named_buffers",
    "children",
    "modules",
    "named_children",
    "named_modules",
    "state_dict",
    "load_state_dict",
    "apply",
    "zero_grad",
    "register_buffer",
    "register_parameter",
    "add_module",
    "get_submodule",
    "requires_grad_",
    "extra_repr",
    "dump_patches",
    "call_super_init",
    "T_destination",
    "share_memory",
}
# The generator derives attributes from a name: self.K_bias, self.K_bound, self.lam_raw.
# A spec name with such an ending is mangled, so that it never meets a derived one.
DERIVED_SUFFIXES = ("_bias", "_bound", "_raw")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def python_name(name: str, taken: set[str] | None = None) -> str:
    """`name` if it is a plain, unclaimed identifier, else `name_` (then `name__`, ...)."""
    if not _IDENT.fullmatch(name) or not name.isascii():
        raise ValueError(f"not an identifier: {name!r}")  # the grammar never lets one through
    reserved = keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in GENERATED
    reserved = reserved or name in MODULE_ATTRIBUTES or hasattr(builtins, name)
    reserved = reserved or name.startswith("__") or name.endswith(DERIVED_SUFFIXES)
    candidate = name + "_" if reserved else name
    while taken is not None and candidate in taken:
        candidate += "_"
    if taken is not None:
        taken.add(candidate)
    return candidate


def class_name(name: str) -> str:
    """parabolic_cifar10 -> ParabolicCifar10."""
    camel = "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)
    return python_name(camel or "Network")


def function_name(name: str) -> str:
    """The module-level function generated for the spec function `name` (an activation
    used as a network layer): python_name, but never `x` (the variable of the network's
    forward) and never a class name (class_name gives CamelCase names, which never end
    in two underscores, so a capitalised function name gets them)."""
    candidate = python_name(name, {"x"})
    return candidate + "__" if candidate[:1].isupper() else candidate

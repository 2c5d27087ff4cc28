"""certify's reference graphs, kept per spec and per pde2net build.

`certify` compares a model file with the graph its embedded spec compiles to. Compiling
that spec again (SymPy, the generated module, two ONNX exports) is most of a certify
run, and its result depends only on the spec entry (source, `--set` values, file name,
reversibility), the recompile's budgets, and the code that compiles it: pde2net's own
files and the versions of the libraries the export goes through. So the reference is
kept under a hash of exactly those, in the user's own cache directory
(`pde2net.usercache`), as an ONNX graph whose learned initializers are emptied (their
shapes and types kept; only the spec's constants, the pinned initializers, keep their
values), with the pinned names and the derived recipe beside it. A cached reference is
exactly what a recompile would produce; anything unreadable is a miss, never an error.
PDE2NET_CACHE=0 turns the cache off.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import onnx

from pde2net import usercache

FORMAT = 1
MAX_BYTES = 1 << 28  # a cached reference holds no learned values: far smaller than this
PINNED_KEY = "pde2net.reference.pinned"
RECIPE_KEY = "pde2net.reference.recipe"
LIBRARIES = ("torch", "onnx", "onnxscript", "sympy", "lark", "numpy", "protobuf")


@dataclass
class Reference:
    graph: onnx.ModelProto  # learned initializers hold no values
    pinned: set[str]
    recipe: dict[str, Any]


@functools.cache
def build() -> str:
    """A hash of everything besides the spec that the reference depends on: each file of
    the installed pde2net package (code and grammar) and the libraries' versions."""
    digest = hashlib.sha256(f"format {FORMAT}\n".encode())
    package = Path(__file__).resolve().parents[1]
    # the grammar: packaged beside the code, or in a source checkout's grammars/
    grammars = [*package.rglob("*.lark"), *(package.parent / "grammars").glob("*.lark")]
    for path in sorted(package.rglob("*.py")) + sorted(grammars):
        digest.update(str(path.relative_to(package.parent)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    for name in LIBRARIES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"{name}=={version}\n".encode())
    return digest.hexdigest()


def key(entry: dict[str, Any], budget: dict[str, int]) -> str:
    """The cache key of a recompile of `entry` under `budget`."""
    spec = {k: entry[k] for k in ("source", "overrides", "file", "reversible")}
    text = json.dumps({"spec": spec, "budget": budget, "build": build()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _path(key: str) -> Path | None:
    root = usercache.directory()
    return None if root is None else root / f"reference-{key}.onnx"


def has(key: str) -> bool:
    path = _path(key)
    return path is not None and path.is_file()


def load(key: str) -> Reference | None:
    """The reference cached under `key`, or None (no cache, a miss, or unreadable)."""
    path = _path(key)
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            return None
        graph = onnx.load_from_string(data)
        meta = {p.key: p.value for p in graph.metadata_props}
        pinned, recipe = json.loads(meta[PINNED_KEY]), json.loads(meta[RECIPE_KEY])
    except Exception:  # missing, truncated or foreign: recompile instead
        return None
    if not isinstance(pinned, list) or not isinstance(recipe, dict):
        return None
    del graph.metadata_props[:]
    return Reference(graph, set(pinned), recipe)


def store(key: str, reference: onnx.ModelProto, pinned: set[str], recipe: dict[str, Any]) -> None:
    """Cache `reference` (learned initializers emptied) with its pinned names and recipe."""
    path = _path(key)
    if path is None:
        return
    graph = onnx.ModelProto()
    graph.CopyFrom(reference)
    for index, init in enumerate(graph.graph.initializer):
        if init.name not in pinned:
            empty = onnx.TensorProto(name=init.name, dims=init.dims, data_type=init.data_type)
            graph.graph.initializer[index].CopyFrom(empty)
    del graph.metadata_props[:]
    for name, value in ((PINNED_KEY, sorted(pinned)), (RECIPE_KEY, recipe)):
        graph.metadata_props.add(key=name, value=json.dumps(value, sort_keys=True))
    usercache.write(path, graph.SerializeToString(deterministic=True))

"""certify's cached references: a cached reference judges exactly as a recompile does,
and the cache can neither be fooled by the file nor break certify when it is damaged."""

from __future__ import annotations

import os

import onnx
import pytest
import torch

import pde2net
import pde2net.api
import pde2net.pipeline
from pde2net.export import certify as certify_module
from pde2net.export import references
from pde2net.export.certify import RefusedError, certify
from pde2net.pipeline import export_compiled
from tests.export.test_certify import SPEC, _save, _scale_every_use_of_k


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh, private cache directory; returns it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("PDE2NET_CACHE", raising=False)
    return tmp_path / "cache" / "pde2net"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A fresh model and one with K scaled x100 (violated), from one spec."""
    tmp = tmp_path_factory.mktemp("references")
    spec = tmp / "small.pde"
    spec.write_text(SPEC.format(extra=""))
    compiled = pde2net.compile_file(str(spec))
    fresh = tmp / "fresh.onnx"
    fresh.write_bytes(export_compiled(compiled)[0])
    with torch.no_grad():
        compiled.module.block1.K[1].mul_(100.0)
    violated = tmp / "violated.onnx"
    violated.write_bytes(export_compiled(compiled)[0])
    return fresh, violated


def _no_recompile(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("recompiled although the reference was cached")

    monkeypatch.setattr(certify_module, "_recompile", refuse)


def test_a_cached_reference_gives_the_same_certificate(models, cache, monkeypatch):
    fresh, violated = models
    cold = [certify(str(p)) for p in (fresh, violated)]
    assert len(list(cache.glob("reference-*.onnx"))) == 1  # one spec, one entry
    _no_recompile(monkeypatch)
    warm = [certify(str(p)) for p in (fresh, violated)]
    assert warm == cold
    assert [r["verdict"] for r in warm] == ["certified", "violated"]


def test_a_cached_reference_holds_no_learned_values(models, cache):
    fresh, _ = models
    certify(str(fresh))
    (entry,) = cache.glob("reference-*.onnx")
    assert oct(entry.stat().st_mode & 0o777) == oct(0o600)
    graph = onnx.load(str(entry))
    kernels = [i for i in graph.graph.initializer if i.name.startswith("block1.K.")]
    assert kernels and all(not i.raw_data and not i.float_data for i in kernels)
    assert entry.stat().st_size < fresh.stat().st_size


def test_a_tampered_file_is_refused_with_a_warm_cache(models, cache, tmp_path, monkeypatch):
    fresh, _ = models
    certify(str(fresh))
    rewired = _save(_scale_every_use_of_k(onnx.load(str(fresh)), 100.0), tmp_path / "r.onnx")
    # the rewired file holds one more initializer, so its budget (and key) differ
    with pytest.raises(RefusedError, match="node 0 is Mul"):
        certify(rewired)
    _no_recompile(monkeypatch)
    with pytest.raises(RefusedError, match="node 0 is Mul"):  # now cached as well
        certify(rewired)
    constant = onnx.load(str(fresh))
    for init in constant.graph.initializer:
        if init.name == "pde2net.flip2.steps":
            value = onnx.numpy_helper.to_array(init) * 0 + 1
            init.CopyFrom(onnx.numpy_helper.from_array(value, init.name))
    with pytest.raises(RefusedError, match="constant of the spec"):
        certify(_save(constant, tmp_path / "c.onnx"))


@pytest.mark.parametrize("damage", [b"", b"garbage", None])
def test_a_damaged_entry_is_a_miss_and_is_rewritten(models, cache, damage):
    fresh, _ = models
    expected = certify(str(fresh))
    (entry,) = cache.glob("reference-*.onnx")
    if damage is None:  # a valid ONNX graph without the recipe: not a reference
        graph = onnx.load(str(entry))
        del graph.metadata_props[:]
        entry.write_bytes(graph.SerializeToString())
    else:
        entry.write_bytes(damage)
    assert certify(str(fresh)) == expected
    assert references.load(entry.name[len("reference-") : -len(".onnx")]) is not None


def test_the_key_follows_the_spec_the_budget_and_the_build(monkeypatch):
    entry = {"source": "network n {}\n", "overrides": {}, "file": "n.pde", "reversible": False}
    budget = {"max_parameters": 10, "max_activation_bytes": 10}
    base = references.key(entry, budget)
    assert references.key(dict(entry, pde2net="9.9"), budget) == base  # not read
    for changed in (
        dict(entry, source="network m {}\n"),
        dict(entry, overrides={"h": "1"}),
        dict(entry, file="m.pde"),
        dict(entry, reversible=True),
    ):
        assert references.key(changed, budget) != base
    assert references.key(entry, dict(budget, max_parameters=11)) != base
    monkeypatch.setattr(references, "build", lambda: "another build")
    assert references.key(entry, budget) != base


def test_no_cache_where_others_can_write_or_when_turned_off(models, cache, monkeypatch):
    fresh, _ = models
    cache.mkdir(parents=True, mode=0o700)
    os.chmod(cache, 0o777)
    certify(str(fresh))
    assert not list(cache.glob("reference-*"))
    os.chmod(cache, 0o700)
    monkeypatch.setenv("PDE2NET_CACHE", "0")
    certify(str(fresh))
    assert not list(cache.glob("reference-*"))


def test_compile_leaves_the_reference_certify_would_derive(cache, tmp_path, monkeypatch):
    """`compile` caches its reference: the first certify of its model does not recompile,
    and judges as a recompile does."""
    from tests.conftest import SPECS

    spec = SPECS / "ruthotto_haber_2018" / "parabolic_cifar10.pde"
    checked = pde2net.api.check_spec(spec)
    outputs, _ = pde2net.pipeline.build_outputs(checked)
    (entry,) = cache.glob("reference-*.onnx")
    remembered = entry.read_bytes()
    path = tmp_path / "model.onnx"
    path.write_bytes(outputs[".onnx"])
    entry.unlink()
    cold = certify(str(path))  # recompiled, and cached again
    assert entry.read_bytes() == remembered  # byte for byte what compile left
    _no_recompile(monkeypatch)
    assert certify(str(path)) == cold


def test_compile_leaves_deep_learned_graphs_to_certify(cache, tmp_path, monkeypatch):
    """Over REMEMBER_NODES nodes with learned parameters, compile would pay a second long
    export; it leaves no entry, and certify derives and caches it. A spec with nothing
    learned needs no second export and is always remembered."""
    from tests.conftest import SPECS

    monkeypatch.setattr(certify_module, "REMEMBER_NODES", 10)
    spec = tmp_path / "small.pde"
    spec.write_text(SPEC.format(extra=""))
    outputs, _ = pde2net.pipeline.build_outputs(pde2net.api.check_spec(spec))
    assert not list(cache.glob("reference-*.onnx"))
    path = tmp_path / "model.onnx"
    path.write_bytes(outputs[".onnx"])
    assert certify(str(path))["certified"]
    assert len(list(cache.glob("reference-*.onnx"))) == 1
    heat = pde2net.api.check_spec(SPECS / "classic" / "heat_1d.pde")
    pde2net.pipeline.build_outputs(heat)
    assert len(list(cache.glob("reference-*.onnx"))) == 2

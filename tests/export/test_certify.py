"""Enforcement keeps a trained network within its bound at every input size;
certification encloses the norms and judges the conditions."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F

import pde2net
from pde2net.export import norms
from pde2net.export.certify import (
    EXIT_REFUSED,
    KEY,
    SPEC_KEY,
    RefusedError,
    certify,
    operator_norm,
)
from pde2net.pipeline import export_compiled
from tests.conftest import SPECS

SPEC = """
pde parabolic(c) {{
    state  u[c]
    weight K : conv(3x3, c -> c)
    dt(u) = -K' relu(K u)
}}
network small {{
    input  image(4, 12, 12)
    parabolic(4) by euler(h = 0.5, steps = 3{extra})
    globalavgpool
    output linear(4 -> 3)
}}
"""


def _train(module: torch.nn.Module, steps: int = 30) -> None:
    """Push the raw weights up hard (a loss that rewards large K) while the block runs."""
    optimizer = torch.optim.SGD(module.parameters(), lr=0.5)
    module.train()
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        x = torch.randn(8, 4, 12, 12, generator=generator)
        raw = sum(k.pow(2).sum() for k in module.block1.K)
        loss = module.block1(x).pow(2).mean() - raw
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    module.eval()


def _compile(tmp_path, enforce: bool):
    path = tmp_path / "small.pde"
    path.write_text(SPEC.format(extra=", enforce = true" if enforce else ""))
    return pde2net.compile_file(str(path))


def _operator_norm_reference(weight: torch.Tensor, size: int) -> float:
    """‖K‖₂ as the largest singular value of the dense matrix of the padded conv."""
    c = weight.shape[1]
    eye = torch.eye(c * size * size, dtype=torch.float64).reshape(-1, c, size, size)
    matrix = F.conv2d(eye, weight.double(), padding=1).reshape(c * size * size, -1)
    return float(torch.linalg.matrix_norm(matrix, ord=2))


def _write(tmp_path, compiled, name: str = "small.onnx"):
    model, _ = export_compiled(compiled)
    path = tmp_path / name
    path.write_bytes(model)
    return path


def test_power_iteration_matches_the_dense_operator_norm():
    weight = torch.randn(3, 3, 3, 3, generator=torch.Generator().manual_seed(1))
    assert operator_norm(weight.numpy(), [1, 1], [8, 8]) == pytest.approx(
        _operator_norm_reference(weight, 8), rel=1e-4
    )


def test_enforced_bound_holds_after_training_and_is_certified(tmp_path):
    compiled = _compile(tmp_path, enforce=True)
    assert compiled.report["blocks"][0]["status"] == "enforced"
    bound = 2.0  # sqrt(2 / (h L)) with h = 0.5, L = 1
    _train(compiled.module)
    block = compiled.module.block1
    with torch.no_grad():
        effective = [block.K_bound[j](block.K[j]) for j in range(3)]
        raw = [_operator_norm_reference(block.K[j], 12) for j in range(3)]
    assert max(raw) > bound  # training pushed the raw weights past the bound...
    for w in effective:  # ...and the rescaled ones stay within it, at every size
        assert norms.norm_upper(w.double().numpy()) <= bound
        assert _operator_norm_reference(w, 12) <= bound
        assert _operator_norm_reference(w, 20) <= bound  # a larger size
    path = _write(tmp_path, compiled)
    result = certify(str(path))
    assert result["certified"] and result["exit_code"] == 0, json.dumps(result, indent=1)
    measured = result["blocks"][0]["checks"][0]["measured"]
    # saturated up to enforce's grid factor (at most 1/(1 - 0.1)), and within
    assert 0.8 * bound <= measured <= bound


def test_certify_detects_weights_beyond_the_bound(tmp_path, cli):
    compiled = _compile(tmp_path, enforce=False)
    with torch.no_grad():
        compiled.module.block1.K[1].mul_(20.0)
    path = _write(tmp_path, compiled)
    result = cli("certify", str(path), "--input-shape", "4,24,24")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "VIOLATED" in result.stdout and "(24, 24)" in result.stdout
    fine = _compile(tmp_path, enforce=False)
    path = _write(tmp_path, fine)
    assert cli("certify", str(path)).returncode == 0


def test_certify_json_lists_an_interval_per_kernel_that_holds_the_dense_norm(tmp_path, cli):
    compiled = _compile(tmp_path, enforce=False)
    with torch.no_grad():
        compiled.module.block1.K[0].mul_(1.7)
    path = _write(tmp_path, compiled)
    result = cli("certify", str(path), "--json")
    data = json.loads(result.stdout)
    model = onnx.load(str(path))
    weights = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    listed = {k["initializer"]: k for k in data["kernels"]}
    assert {"block1.K.0", "block1.K.1", "block1.K.2"} <= set(listed)
    for name in ("block1.K.0", "block1.K.1", "block1.K.2"):
        kernel = listed[name]
        assert set(kernel) >= {"initializer", "norm_lower", "norm_upper"}
        for size in (12, 16):  # the declared size and a larger one
            dense = _operator_norm_reference(torch.from_numpy(weights[name]), size)
            assert kernel["norm_lower"] <= dense <= kernel["norm_upper"]
    assert result.returncode == {"certified": 0, "violated": 1, "undecided": 4}[data["verdict"]]


def test_undecided_gets_its_own_exit_code(tmp_path, cli):
    """Scale K so that the bound falls inside its interval: neither certified nor
    violated."""
    compiled = _compile(tmp_path, enforce=False)
    weight = compiled.module.block1.K[0].detach().double().numpy()
    found = norms.bounds(weight, size=(12, 12))
    with torch.no_grad():  # the bound 2 at the interval's midpoint
        compiled.module.block1.K[0].mul_(2.0 / ((found.lower + found.upper) / 2))
    path = _write(tmp_path, compiled)
    result = cli("certify", str(path))
    assert result.returncode == 4, result.stdout + result.stderr
    assert "undecided" in result.stdout


@pytest.fixture(scope="module")
def plain_model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plain")
    return _write(tmp, _compile(tmp, enforce=False))


@pytest.mark.parametrize(
    "bad", ["x", "4,0,0", "-1,-8,-8", "4,12", "3,12,12", "4,99999999,8", "4,12,12,12"]
)
def test_bad_input_shapes_are_refused(plain_model, cli, bad):
    result = cli("certify", str(plain_model), "--input-shape", bad)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error" in result.stderr and "Traceback" not in result.stderr


def test_malformed_files_are_refused(tmp_path, cli, plain_model):
    good = plain_model.read_bytes()
    cases = {
        "random.onnx": np.random.default_rng(0).bytes(2000),
        "truncated.onnx": good[: len(good) // 2],
        "empty.onnx": b"",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        result = cli("certify", str(tmp_path / name))
        # a truncated model may still parse, as another model: refused (5) if not unreadable
        expected = (2, 5) if name == "truncated.onnx" else (2,)
        assert result.returncode in expected, (name, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
    for name in ("/dev/zero", str(tmp_path)):
        result = cli("certify", name)
        assert result.returncode == 2 and "Traceback" not in result.stderr


# -- the enforce crash: a fresh kernel over the bound (compile used to exit 70) -------------
# (leapfrog and Verlet with σ linear and shared weights: only there is their condition a
# theorem, tests/schemes/test_time_varying.py)

CRASH = {
    "euler": """
pde parabolic(c) {{ state u[c]; weight K : conv(3x3, c -> c); dt(u) = -K' relu(K u) }}
network n {{ input image(8, 16, 16); parabolic(8) by euler(h = {h}, steps = 2, enforce = true)
    globalavgpool; output linear(8 -> 3) }}
""",
    "leapfrog": """
pde second(c) {{ state u[c]; weight K : conv(3x3, c -> c); dtt(u) = -K' K u }}
network n {{ input image(8, 16, 16)
    second(8) by leapfrog(h = {h}, steps = 2, shared = true, enforce = true)
    globalavgpool; output linear(8 -> 3) }}
""",
    "verlet": """
pde ham(c) {{
    state y[c/2]; state z[c/2]
    weight K1 : conv(3x3, c/2 -> c/2); weight K2 : conv(3x3, c/2 -> c/2)
    dt(y) = -K1' K1 z; dt(z) = K2' K2 y
}}
network n {{ input image(8, 16, 16)
    ham(8) by verlet(h = {h}, steps = 2, shared = true, enforce = true)
    globalavgpool; output linear(8 -> 3) }}
""",
    "fed": """
pde diffusion(c, m) {{
    state u[c]; weight K : conv(5, c -> m); param lambda = 0.1 : learn, positive
    flux phi(s) = s / (1 + s^2 / lambda^2); dt(u) = -K' phi(K u)
}}
network n {{ input signal(2, 64)
    diffusion(2, 8) by fed(tau_max = {h}, steps = 4, cycles = 1, enforce = true); output identity }}
""",
}


@pytest.mark.parametrize("h", [2, 4, 16])
@pytest.mark.parametrize("scheme", sorted(CRASH))
def test_compile_survives_a_fresh_kernel_over_the_enforced_bound(tmp_path, scheme, h):
    path = tmp_path / f"{scheme}.pde"
    path.write_text(CRASH[scheme].format(h=h).replace(";", "\n"))
    compiled = pde2net.compile_file(str(path))
    enforced = [c for c in compiled.report["blocks"][0]["checks"] if c["status"] == "enforced"]
    assert enforced, compiled.report["blocks"][0]["checks"]
    block = compiled.module.block1
    attrs = [a for a in ("K", "K1", "K2") if hasattr(block, f"{a}_bound")]
    with torch.no_grad():
        over = [
            block.__getattr__(f"{a}_bound")[j].exact_upper(w)
            for a in attrs
            for j, w in enumerate(getattr(block, a))
        ]
    bound = min(float(c["requires"]["bound"]) for c in enforced)
    assert max(over) > min(bound, bound**0.5)  # the fresh kernel is over the bound
    onnx_path = _write(tmp_path, compiled, f"{scheme}.onnx")  # used to raise LookupError
    result = certify(str(onnx_path))
    checks = [c for c in result["blocks"][0]["checks"] if c["check"] != "analysis verdict"]
    assert checks and all(c["verdict"] == "certified" for c in checks), json.dumps(result)
    model = onnx.load(str(onnx_path))
    names = {i.name for i in model.graph.initializer}
    for a in attrs:  # the exported kernels keep their names, and are the effective ones
        for j, w in enumerate(getattr(block, a)):
            assert f"block1.{a}.{j}" in names
            exported = next(
                onnx.numpy_helper.to_array(i)
                for i in model.graph.initializer
                if i.name == f"block1.{a}.{j}"
            )
            with torch.no_grad():
                effective = block.__getattr__(f"{a}_bound")[j](w).numpy()
            np.testing.assert_array_equal(exported, effective)


# -- an enforced block far past its bound stays non-expansive at 4x its declared size ------

LINEAR = """
pde heat(c) {{
    state u[c]
    weight K : conv({k}, c -> c)
    dt(u) = -K' K u
}}
network lin {{
    input  {input}
    heat({c}) by euler(h = {h}, steps = 1, enforce = true)
    output identity
}}
"""


@pytest.mark.parametrize(
    ("k", "input", "c", "size"),
    [("3x3", "image(2, 6, 6)", 2, (24, 24)), ("5", "signal(3, 16)", 3, (64,))],
)
def test_enforced_linear_step_is_non_expansive_at_four_times_its_size(tmp_path, k, input, c, size):
    path = tmp_path / "lin.pde"
    path.write_text(LINEAR.format(k=k, input=input, c=c, h=20))
    compiled = pde2net.compile_file(str(path))
    assert compiled.report["blocks"][0]["status"] == "enforced"
    with torch.no_grad():
        compiled.module.block1.K[0].mul_(50.0)  # far past the bound
    onnx_path = _write(tmp_path, compiled, "lin.onnx")
    # the step map u -> u - h K'K u is linear: its dense matrix at 4x the size, in onnxruntime
    n = c * int(np.prod(size))
    basis = np.eye(n, dtype=np.float32).reshape(n, c, *size)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    columns = np.concatenate(
        [session.run(None, {"input": basis[i : i + 256]})[0] for i in range(0, n, 256)]
    )
    matrix = columns.reshape(n, n).astype(np.float64)
    assert np.linalg.norm(matrix, 2) <= 1 + 1e-5
    assert certify(str(onnx_path))["certified"]


# -- certify trusts nothing in the file: the spec is embedded, recompiled and compared -----

CONST = """
const h = 0.5
pde parabolic(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    dt(u) = -K' relu(K u)
}
network small {
    input  image(4, 12, 12)
    parabolic(4) by euler(h = h, steps = 3)
    globalavgpool
    output linear(4 -> 3)
}
"""


@pytest.fixture(scope="module")
def violated_model(tmp_path_factory):
    """A compiled model with one K scaled x100: certify says violated (exit 1)."""
    tmp = tmp_path_factory.mktemp("violated")
    compiled = _compile(tmp, enforce=False)
    with torch.no_grad():
        compiled.module.block1.K[1].mul_(100.0)
    return _write(tmp, compiled)


def _meta(model: onnx.ModelProto, key: str) -> str:
    return next(p.value for p in model.metadata_props if p.key == key)


def _set_meta(model: onnx.ModelProto, key: str, value: str) -> None:
    next(p for p in model.metadata_props if p.key == key).value = value


def _save(model: onnx.ModelProto, path) -> str:
    path.write_bytes(model.SerializeToString())
    return str(path)


def _refused(path: str) -> str:
    """certify refuses the file (exit 5), within the time budget; the message."""
    import time

    started = time.perf_counter()
    with pytest.raises(RefusedError) as err:
        certify(path)
    assert time.perf_counter() - started < 10
    assert err.value.exit_code == EXIT_REFUSED == 5
    message = str(err.value)
    assert "\n" not in message
    return message


def test_the_violated_model_is_violated_and_its_spec_is_embedded(violated_model, cli):
    import time

    started = time.perf_counter()
    result = certify(str(violated_model))
    assert time.perf_counter() - started < 10
    assert result["verdict"] == "violated" and result["exit_code"] == 1
    entry = json.loads(_meta(onnx.load(str(violated_model)), SPEC_KEY))
    assert entry["source"] == SPEC.format(extra="")
    assert entry["file"] == "small.pde" and entry["overrides"] == {}
    assert entry["pde2net"] == pde2net.__version__ and entry["reversible"] is False
    assert cli("certify", str(violated_model)).returncode == 1


def _recipe_with(model: onnx.ModelProto, edit) -> onnx.ModelProto:
    data = json.loads(_meta(model, KEY))
    edit(data)
    _set_meta(model, KEY, json.dumps(data))
    return model


def _bound(value):
    def edit(data):
        for block in data["blocks"]:
            for condition in block["conditions"]:
                condition["bound"] = value

    return edit


def _no_blocks(data):
    data["blocks"] = []


def _harmless(data):  # the recipe names the (small) linear weights' bias instead of K
    for block in data["blocks"]:
        for condition in block["conditions"]:
            for weight in condition["weights"].values():
                weight["initializers"] = ["linear1.bias"] * len(weight["initializers"])


@pytest.mark.parametrize(
    "edit",
    [_bound(1e308), _bound("inf"), _no_blocks, _harmless],
    ids=["bound-1e308", "bound-inf", "no-blocks", "harmless-tensor"],
)
def test_an_edited_recipe_is_refused(violated_model, tmp_path, edit):
    model = _recipe_with(onnx.load(str(violated_model)), edit)
    message = _refused(_save(model, tmp_path / "edited.onnx"))
    assert "recipe" in message and "tampered" in message


def test_an_edited_recipe_gets_exit_5_from_the_command(violated_model, tmp_path, cli):
    model = _recipe_with(onnx.load(str(violated_model)), _bound("inf"))
    result = cli("certify", _save(model, tmp_path / "edited.onnx"))
    assert result.returncode == 5, result.stdout + result.stderr
    assert "tampered" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "certified" not in result.stdout


def _scale_every_use_of_k(model: onnx.ModelProto, factor: float) -> onnx.ModelProto:
    """Insert Mul(K, factor) before every use of each K: the recipe is untouched."""
    graph = model.graph
    ks = [i.name for i in graph.initializer if i.name.startswith("block1.K.")]
    graph.initializer.append(
        onnx.numpy_helper.from_array(np.array(factor, dtype=np.float32), "tamper.factor")
    )
    muls = [onnx.helper.make_node("Mul", [k, "tamper.factor"], [f"{k}/scaled"]) for k in ks]
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in ks:
                node.input[i] = f"{name}/scaled"
    nodes = muls + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return model


def test_a_rewired_graph_is_refused(tmp_path, cli):
    compiled = _compile(tmp_path, enforce=False)
    path = _write(tmp_path, compiled)
    assert certify(str(path))["certified"]
    model = _scale_every_use_of_k(onnx.load(str(path)), 100.0)
    onnx.checker.check_model(model)
    tampered = _save(model, tmp_path / "rewired.onnx")
    x = np.random.default_rng(0).standard_normal((2, 4, 12, 12)).astype(np.float32)

    def run(p):
        session = ort.InferenceSession(p, providers=["CPUExecutionProvider"])
        return session.run(None, {"input": x})[0]

    assert np.abs(run(tampered) - run(str(path))).max() > 1e-2  # the output did change
    message = _refused(tampered)
    assert "graph differs" in message and "node 0 is Mul(block1.K.0, tamper.factor)" in message
    result = cli("certify", tampered)
    assert result.returncode == 5 and "node 0" in result.stderr


def test_a_changed_constant_of_the_spec_is_refused(plain_model, tmp_path):
    """Only learned initializers may change; a constant (here, the adjoint's flip) may not."""
    model = onnx.load(str(plain_model))
    for i, init in enumerate(model.graph.initializer):
        if init.name == "pde2net.flip2.steps":
            model.graph.initializer[i].CopyFrom(
                onnx.numpy_helper.from_array(np.array([1, 1], dtype=np.int64), init.name)
            )
    message = _refused(_save(model, tmp_path / "flip.onnx"))
    assert "pde2net.flip2.steps" in message and "constant" in message


def _edit_spec(model: onnx.ModelProto, edit) -> onnx.ModelProto:
    entry = json.loads(_meta(model, SPEC_KEY))
    edit(entry)
    _set_meta(model, SPEC_KEY, json.dumps(entry))
    return model


def test_an_edited_spec_is_judged_by_the_graph_it_compiles_to(violated_model, tmp_path):
    """A larger h shrinks the bound, a smaller one grows it; either way the step size is
    in the graph (Mul by h), so the recompiled graph differs and the file is refused. An
    edit that leaves the graph as it was (a comment) changes nothing: still violated."""
    for h in ("0.25", "2"):
        model = _edit_spec(
            onnx.load(str(violated_model)),
            lambda e, h=h: e.update(source=e["source"].replace("h = 0.5", f"h = {h}")),
        )
        message = _refused(_save(model, tmp_path / f"h{h}.onnx"))
        assert "graph differs" in message and "Constant" in message
    model = _edit_spec(
        onnx.load(str(violated_model)),
        lambda e: e.update(source="# edited\n" + e["source"]),
    )
    result = certify(_save(model, tmp_path / "comment.onnx"))
    assert result["verdict"] == "violated" and result["exit_code"] == 1


def test_a_spec_that_no_longer_compiles_is_refused_with_its_location(violated_model, tmp_path):
    model = _edit_spec(
        onnx.load(str(violated_model)),
        lambda e: e.update(source=e["source"].replace("dt(u) =", "dt(u) = = ")),
    )
    message = _refused(_save(model, tmp_path / "broken.onnx"))
    assert "no longer compiles" in message and "small.pde:5:" in message
    for entry in ("{}", "[1]", "not json", json.dumps({"format": 1, "source": 3})):
        model = onnx.load(str(violated_model))
        _set_meta(model, SPEC_KEY, entry)
        _refused(_save(model, tmp_path / "entry.onnx"))


def test_overrides_are_embedded_and_recompiled(tmp_path):
    path = tmp_path / "const.pde"
    path.write_text(CONST)
    compiled = pde2net.compile_file(str(path), set={"h": "0.25"})
    onnx_path = _write(tmp_path, compiled, "const.onnx")
    entry = json.loads(_meta(onnx.load(str(onnx_path)), SPEC_KEY))
    assert entry["overrides"] == {"h": "0.25"} and entry["source"] == CONST
    assert entry["file"] == "const.pde"  # the name only, not the directory
    result = certify(str(onnx_path))
    assert result["certified"], json.dumps(result)
    bound = result["blocks"][0]["checks"][0]["bound"]
    assert bound == pytest.approx(8**0.5)  # sqrt(2 / (h L)) at h = 0.25, not at 0.5
    # the overrides are part of the spec: edited, the graph differs (h is a Constant)
    model = _edit_spec(onnx.load(str(onnx_path)), lambda e: e.update(overrides={}))
    _refused(_save(model, tmp_path / "dropped.onnx"))


def test_a_model_without_an_embedded_spec_is_refused(tmp_path, cli):
    module = torch.nn.Sequential(torch.nn.Conv2d(4, 4, 3, padding=1), torch.nn.ReLU())
    path = tmp_path / "plain.onnx"
    torch.onnx.export(
        module, (torch.randn(1, 4, 8, 8),), str(path), input_names=["input"], dynamo=False
    )
    message = _refused(str(path))
    assert "not a pde2net model" in message and "no embedded spec" in message
    result = cli("certify", str(path))
    assert result.returncode == 5, result.stdout + result.stderr
    assert "not a pde2net model" in result.stderr and "Traceback" not in result.stderr


TRAINED = """
const h = 2
pde parabolic(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    dt(u) = -K' relu(K u)
}
network tiny {
    input  image(1, 8, 8)
    conv(3x3, 1 -> 4), batchnorm, relu
    parabolic(4) by euler(h = h, steps = 2, enforce = true)
    globalavgpool
    output linear(4 -> 10)
}
"""


def test_train_writes_a_model_that_certifies(tmp_path, cli):
    """train's export embeds the spec (with its --set values); the trained weights, batch
    norm statistics included, differ from the fresh ones and the model still certifies."""
    from pde2net.train.datasets import load
    from pde2net.train.loop import TrainConfig, train

    path = tmp_path / "tiny.pde"
    path.write_text(TRAINED)
    compiled = pde2net.compile_file(str(path), set={"h": "1"})
    fresh = {k: v.clone() for k, v in compiled.module.state_dict().items()}
    data = load("digits", compiled.network.input.shape)
    data.x_train, data.y_train = data.x_train[:128], data.y_train[:128]
    out = tmp_path / "run"
    train(compiled, data, TrainConfig(epochs=1, lr=0.1, progress=False), out)
    assert not torch.equal(fresh["bn1.running_var"], compiled.module.bn1.running_var)
    certificate = json.loads((out / "certificate.json").read_text())
    assert certificate["certified"], json.dumps(certificate, indent=1)
    model = onnx.load(str(out / "tiny.onnx"))
    assert json.loads(_meta(model, SPEC_KEY))["overrides"] == {"h": "1"}
    result = cli("certify", str(out / "tiny.onnx"))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["digits_parabolic", "digits_hamiltonian"])
def test_trained_weights_keep_the_graph_of_the_fresh_model(name):
    """Training changes values, never the graph: the fresh model's equal initial values
    (batch-norm scales of one, zero biases) must not be merged into one initializer, or
    every trained model would be refused as tampered (seen on 20 bundled specs)."""
    from pde2net.export.certify import _compare
    from pde2net.pipeline import export_graph

    compiled = pde2net.compile_file(str(SPECS / "experiments" / f"{name}.pde"))
    fresh = export_graph(compiled, metadata=False)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in compiled.module.parameters():
            p.mul_(torch.rand(p.shape, generator=generator).add_(1.5))
        for m in compiled.module.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.add_(torch.rand(m.running_mean.shape, generator=generator))
    trained = export_graph(compiled, metadata=False)
    _compare(trained, fresh, set())  # raises RefusedError on any structural difference
    assert [v.name for v in fresh.graph.input] == ["input"]

"""Resource budgets: a spec that would need too much is refused before anything is built,
with a located message that states the estimate."""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest

from pde2net.api import check_text
from pde2net.lang import limits
from pde2net.lang.errors import SpecError
from tests.conftest import SPECS, run_cli

HUGE_CONV = """\
network wide {
    input  image(3, 32, 32)
    conv(3x3, 3 -> 1000000000), relu
    output globalavgpool, linear(1000000000 -> 10)
}
"""

PARABOLIC = """\
pde parabolic(c) {{
    state  u[c]
    weight K : conv(3x3, c -> c)
    dt(u) = -K' relu(K u)
}}

network net {{
    input  image(3, {size}, {size})
    conv(3x3, 3 -> {width})
    parabolic({width}) by euler(h = 0.5, steps = {steps})
    output globalavgpool, linear({width} -> 10)
}}
"""


def refused(text: str, **budgets: int) -> SpecError:
    with limits.use(**budgets), pytest.raises(SpecError) as caught:
        check_text(text, "spec.pde")
    return caught.value


def test_a_billion_channel_conv_is_refused_at_once_with_the_estimate():
    check_text("network w { input vector(1)\n output identity }")  # the parser, built once
    tracemalloc.start()
    started = time.perf_counter()
    error = refused(HUGE_CONV)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 0.5
    assert peak < 50 * 2**20  # nothing of the size of the layer was allocated
    assert (error.loc.line, error.loc.column) == (3, 5)
    assert error.message == (
        "conv(3x3, 3 -> 1000000000) would have 27,000,000,000 trainable parameters: over "
        "the budget of 100,000,000"
    )
    assert "--max-parameters" in error.notes[0]
    assert "PDE2NET_MAX_PARAMETERS" in error.notes[0]


def test_the_parameter_count_is_cumulative_and_located_at_the_layer_that_crosses():
    text = PARABOLIC.format(size=8, width=64, steps=10)  # 10 x 36,864 in the block
    error = refused(text, max_parameters=300_000)
    assert error.loc.line == 10  # the block, not the conv before it
    assert "would have 368,640 trainable parameters; with the layers before it, 370,368" in (
        error.message
    )
    assert "budget of 300,000" in error.message


def test_activation_memory_is_estimated_per_layer():
    error = refused(PARABOLIC.format(size=4096, width=64, steps=1))
    assert error.loc.line == 9  # conv(3x3, 3 -> 64) on 4096 x 4096
    assert error.message.startswith(
        "conv(3x3, 3 -> 64) would need about 4 GiB of activation memory for one sample "
        "(float32, batch 1); with the layers before it, 4.19 GiB: over the budget of 4 GiB"
    )
    assert "--max-activation-bytes" in error.notes[0]


def test_a_block_stores_its_intermediates_for_every_step():
    text = PARABOLIC.format(size=32, width=16, steps=100)
    error = refused(text, max_activation_bytes=10 * 2**20)
    assert error.loc.line == 10
    assert "block parabolic(c = 16) by euler(h = 0.5, steps = 100)" in error.message
    assert "tensors of up to 16x32x32 floats per evaluation, 100 evaluations" in error.message


def test_too_many_steps_are_refused_at_the_scheme():
    error = refused(PARABOLIC.format(size=8, width=4, steps=10**9))
    assert (error.loc.line, error.loc.column) == (10, 21)  # at `euler(...)`
    assert "would evaluate its right-hand side 1,000,000,000 times per forward pass" in (
        error.message
    )
    assert "--max-steps" in error.notes[0]


def test_the_input_itself_counts():
    error = refused("network big { input image(3, 100000, 100000)\n output identity }")
    assert error.message.startswith("the input would need about 112 GiB of activation memory")


def test_budgets_can_be_raised():
    with limits.use(max_parameters=10**11, max_activation_bytes=2**50):
        report = check_text(HUGE_CONV, "spec.pde").report
    assert report["parameters"] == 27_000_000_000 + 10_000_000_010


def test_budgets_from_the_environment(monkeypatch):
    monkeypatch.setenv("PDE2NET_MAX_PARAMETERS", "0.1k")
    error = refused(PARABOLIC.format(size=8, width=4, steps=1))
    assert "budget of 100" in error.message
    monkeypatch.setenv("PDE2NET_MAX_PARAMETERS", "lots")
    with pytest.raises(SpecError) as caught:
        check_text(PARABOLIC.format(size=8, width=4, steps=1))
    assert caught.value.loc.file == limits.ENVIRONMENT
    assert "PDE2NET_MAX_PARAMETERS: 'lots' is not a positive whole number" in str(caught.value)


def test_use_overrides_the_environment_and_nests(monkeypatch):
    monkeypatch.setenv("PDE2NET_MAX_STEPS", "50")
    assert limits.current().max_steps == 50
    with limits.use(max_steps=7):
        assert limits.current().max_steps == 7
        with limits.use(max_parameters=3):
            assert (limits.current().max_steps, limits.current().max_parameters) == (7, 3)
    assert limits.current() == limits.Limits(max_steps=50)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100000000", 10**8),
        ("1e8", 10**8),
        ("100_000", 100_000),
        ("4GiB", 4 * 2**30),
        ("512M", 512 * 10**6),
        ("2 KiB", 2048),
        ("0", None),
        ("-5", None),
        ("lots", None),
        ("1e99", None),
        ("nan", None),
    ],
)
def test_parse_size(text, value):
    assert limits.parse_size(text) == value


def test_cli_options_set_the_budgets(tmp_path):
    spec = tmp_path / "wide.pde"
    spec.write_text(HUGE_CONV, encoding="utf-8")
    result = run_cli("check", str(spec))
    assert result.returncode == 2
    assert result.stderr.startswith(f"{spec}:3:5: error: conv(3x3, 3 -> 1000000000) would have")
    raised = run_cli(
        "check", str(spec), "--json", "--max-parameters", "1e11", "--max-activation-bytes", "1PiB"
    )
    assert raised.returncode == 2  # 1PiB is not a size it reads
    assert raised.stderr.startswith("<command line>:1:24: error: --max-activation-bytes 1PiB:")
    raised = run_cli(
        "check", str(spec), "--json", "--max-parameters", "1e11", "--max-activation-bytes", "64TiB"
    )
    assert raised.returncode == 0, raised.stderr
    assert json.loads(raised.stdout)["parameters"] == 37_000_000_010


def test_train_takes_the_budgets_too(tmp_path):
    out = tmp_path / "run"
    spec = SPECS / "experiments" / "digits_parabolic.pde"
    result = run_cli(
        "train", str(spec), "--data", "digits", "--max-parameters", "1000", "--out", str(out)
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"{spec}:19:5: error: block parabolic(c = 16)")
    assert "over the budget of 1,000" in result.stderr
    assert not out.exists()

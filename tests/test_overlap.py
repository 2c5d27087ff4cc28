"""`compile` checks the spec in a forked child while it imports torch: the child's result
comes back whole, its failures and warnings are the parent's to report, it never
outlives the parent's wait, and the command's output is the same with it off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import SPECS

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or len(os.sched_getaffinity(0)) < 2, reason="no fork to spare"
)


def _child_script(body: str) -> dict:
    """Runs `body` in a fresh interpreter (no torch imported: a fork is allowed there)
    and returns the JSON it prints last."""
    code = "import json, os, sys, time, warnings\nfrom pde2net import overlap\n" + textwrap.dedent(
        body
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_result_is_computed_in_the_child_and_comes_back():
    got = _child_script(
        """
        with overlap.in_child(lambda: {"pid": os.getpid(), "square": [i * i for i in range(5)]}) as p:
            value = p.result()
        print(json.dumps({"parent": os.getpid(), "value": value}))
        """
    )
    assert got["value"]["square"] == [0, 1, 4, 9, 16]
    assert got["value"]["pid"] != got["parent"]


def test_the_follow_up_runs_in_the_child_on_the_first_value():
    got = _child_script(
        """
        with overlap.in_child(lambda: 6, then=lambda v: {"pid": os.getpid(), "v": v * 7}) as p:
            first, second = p.result(), p.later()
        print(json.dumps({"parent": os.getpid(), "first": first, "second": second}))
        """
    )
    assert (got["first"], got["second"]["v"]) == (6, 42)
    assert got["second"]["pid"] != got["parent"]


def test_a_failing_follow_up_is_none_after_a_good_first_value():
    got = _child_script(
        """
        with overlap.in_child(lambda: 1, then=lambda v: 1 / 0) as p:
            first, second = p.result(), p.later()
        print(json.dumps({"first": first, "second": second}))
        """
    )
    assert got == {"first": 1, "second": None}


def test_a_failure_in_the_child_is_none_and_its_output_is_silenced():
    got = _child_script(
        """
        def work():
            print("from the child")
            raise ValueError("spec mistake")
        with overlap.in_child(work) as p:
            value = p.result()
        print(json.dumps({"value": value}))
        """
    )
    assert got == {"value": None}


def test_warnings_in_the_child_are_issued_in_the_parent():
    got = _child_script(
        """
        def work():
            warnings.warn("lossy rounding", UserWarning)
            return 7
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with overlap.in_child(work) as p:
                value = p.result()
        print(json.dumps({"value": value, "warnings": [str(w.message) for w in caught]}))
        """
    )
    assert got == {"value": 7, "warnings": ["lossy rounding"]}


def test_a_child_nobody_waits_for_is_ended():
    got = _child_script(
        """
        with overlap.in_child(lambda: time.sleep(60)) as p:
            pid = p._pid
        time.sleep(0.1)
        try:
            os.kill(pid, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        print(json.dumps({"alive": alive}))
        """
    )
    assert got == {"alive": False}


def test_off_when_asked_or_once_torch_is_loaded(monkeypatch):
    import torch  # noqa: F401 - loaded: no fork here

    from pde2net import overlap

    assert not overlap.available()
    monkeypatch.setenv("PDE2NET_OVERLAP", "0")
    got = _child_script("print(json.dumps({'available': overlap.available()}))")
    assert got == {"available": False}


@pytest.mark.parametrize(
    "text",
    [
        (SPECS / "classic" / "heat_1d.pde").read_text(),
        "network broken {\n    input image(1, 8\n}\n",  # a syntax error: checked again here
    ],
    ids=["heat_1d", "syntax-error"],
)
def test_compile_says_the_same_with_and_without_it(tmp_path, text):
    spec = tmp_path / "spec.pde"
    spec.write_text(text)
    runs = []
    for flag in ("1", "0"):
        env = {**os.environ, "PDE2NET_OVERLAP": flag}
        out = tmp_path / f"out{flag}"
        done = subprocess.run(
            [sys.executable, "-m", "pde2net", "compile", str(spec), "-o", str(out), "--json"],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        runs.append((done.returncode, done.stderr, done.stdout))
    (code_on, err_on, out_on), (code_off, err_off, out_off) = runs
    assert (code_on, err_on) == (code_off, err_off)
    if code_on == 0:
        report_on, report_off = json.loads(out_on), json.loads(out_off)
        assert report_on.pop("onnx").keys() == report_off.pop("onnx").keys()
        assert report_on == report_off
    else:
        assert "spec.pde:" in err_on and out_on == out_off


def test_certify_reference_is_the_same_when_the_child_exports_it(tmp_path):
    """compile caches certify's reference (certify.remember); with the overlap, the child
    does the perturbed export that finds the pinned initializers. Same entry, byte for
    byte, as compile alone derives."""
    spec = SPECS / "experiments" / "learned_diffusion_1d_euler.pde"
    entries = []
    for flag in ("1", "0"):
        cache = tmp_path / f"cache{flag}"
        env = {**os.environ, "PDE2NET_OVERLAP": flag, "XDG_CACHE_HOME": str(cache)}
        env.pop("PDE2NET_CACHE", None)
        done = subprocess.run(
            [sys.executable, "-m", "pde2net", "compile", str(spec), "-o", str(tmp_path / flag)],
            capture_output=True, text=True, timeout=300, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        (entry,) = (cache / "pde2net").glob("reference-*.onnx")
        entries.append((entry.name, entry.read_bytes()))
    assert entries[0] == entries[1]

"""Atomic output: all files or none, and no temporaries left behind."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys

import pytest

from pde2net.export import files
from pde2net.export.files import write_atomically


def test_writes_all_files_and_creates_the_directory(tmp_path):
    target = tmp_path / "a" / "b"
    write_atomically({target / "x.py": b"print(1)\n", target / "x.onnx": b"\x00\x01"})
    assert (target / "x.py").read_bytes() == b"print(1)\n"
    assert (target / "x.onnx").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in target.iterdir()) == ["x.onnx", "x.py"]


def test_replaces_existing_files(tmp_path):
    (tmp_path / "x.py").write_bytes(b"old")
    write_atomically({tmp_path / "x.py": b"new"})
    assert (tmp_path / "x.py").read_bytes() == b"new"


def test_files_get_ordinary_permissions(tmp_path):
    write_atomically({tmp_path / "x.py": b""})
    mode = stat.S_IMODE((tmp_path / "x.py").stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_failure_while_staging_changes_nothing(tmp_path):
    (tmp_path / "x.py").write_bytes(b"old py")
    (tmp_path / "x.onnx").write_bytes(b"old onnx")
    with pytest.raises(TypeError):
        write_atomically(
            {tmp_path / "x.py": b"new py", tmp_path / "x.onnx": "not bytes"}  # type: ignore[dict-item]
        )
    assert (tmp_path / "x.py").read_bytes() == b"old py"
    assert (tmp_path / "x.onnx").read_bytes() == b"old onnx"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.onnx", "x.py"]


def test_failure_before_the_renames_leaves_no_new_files(tmp_path, monkeypatch):
    calls = []
    real_fsync = os.fsync

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", fsync)
    with pytest.raises(OSError, match="No space"):
        write_atomically({tmp_path / f"f{i}": b"data" for i in range(3)})
    assert list(tmp_path.iterdir()) == []


# -- a failed or interrupted write leaves the old outputs, and nothing partial ----------------

OLD = {"x.py": b"old py", "x.onnx": b"old onnx", "x.report.json": b"old report"}
NEW = {"x.py": b"new py", "x.onnx": b"new onnx" * 1000, "x.report.json": b"new report"}


def _existing(tmp_path):
    for name, data in OLD.items():
        (tmp_path / name).write_bytes(data)


def _contents(tmp_path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(tmp_path.iterdir())}


def _failing_on(call: int, exception: BaseException, real=os.replace):
    calls = []

    def replace(src, dst):
        calls.append((src, dst))
        if len(calls) == call:
            raise exception
        real(src, dst)

    return replace


@pytest.mark.parametrize("failing", [1, 2, 3])
def test_a_failed_rename_puts_every_old_output_back(tmp_path, monkeypatch, failing):
    _existing(tmp_path)
    monkeypatch.setattr(files.os, "replace", _failing_on(failing, OSError(5, "I/O error")))
    with pytest.raises(OSError, match="I/O error"):
        write_atomically({tmp_path / name: data for name, data in NEW.items()})
    assert _contents(tmp_path) == OLD  # the old files, and no temporary or backup


def test_a_failed_rename_removes_the_new_outputs_it_already_placed(tmp_path, monkeypatch):
    monkeypatch.setattr(files.os, "replace", _failing_on(3, OSError(28, "No space")))
    with pytest.raises(OSError):
        write_atomically({tmp_path / name: data for name, data in NEW.items()})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["write", "rename"])
def test_ctrl_c_leaves_the_old_outputs(tmp_path, monkeypatch, where):
    _existing(tmp_path)
    if where == "write":
        real_fsync = os.fsync
        calls = []

        def fsync(fd):
            calls.append(fd)
            if len(calls) == 2:
                raise KeyboardInterrupt
            real_fsync(fd)

        monkeypatch.setattr(files.os, "fsync", fsync)
    else:
        monkeypatch.setattr(files.os, "replace", _failing_on(2, KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        write_atomically({tmp_path / name: data for name, data in NEW.items()})
    assert _contents(tmp_path) == OLD


def test_a_successful_write_leaves_no_backup(tmp_path):
    _existing(tmp_path)
    write_atomically({tmp_path / name: data for name, data in NEW.items()})
    assert _contents(tmp_path) == NEW


# The child writes three outputs over existing ones and is stopped by a signal in the
# middle of writing the second.
CHILD = """
import os, signal, sys, time
from pathlib import Path
from pde2net.export import files

# the dispositions of an interactive shell's child, whatever this test was started under
# (nohup ignores SIGHUP; a background job of a script ignores SIGINT)
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGHUP, signal.SIG_DFL)
signal.signal(signal.SIGTERM, signal.SIG_DFL)

target = Path(sys.argv[1])
real_fsync = os.fsync
calls = []

def fsync(fd):
    calls.append(fd)
    if len(calls) == 2:
        print("writing", flush=True)
        time.sleep(60)  # the parent signals now
    real_fsync(fd)

files.os.fsync = fsync
files.write_atomically({target / n: n.encode() * 100000 for n in ("x.py", "x.onnx", "x.report.json")})
"""


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT", "SIGHUP", "SIGKILL"])
def test_a_write_stopped_by_a_signal_leaves_no_partial_output(tmp_path, signame):
    _existing(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline() == "writing\n"
    child.send_signal(getattr(signal, signame))
    child.wait(timeout=60)
    assert child.returncode != 0
    outputs = {n: b for n, b in _contents(tmp_path).items() if not n.startswith(".")}
    assert outputs == OLD  # every output is the old one, whole
    leftovers = [n for n in _contents(tmp_path) if n.startswith(".")]
    if signame == "SIGKILL":  # nothing can clean up: hidden temporaries may stay
        assert all(n.startswith((".x.py.", ".x.onnx.")) and n.endswith(".tmp") for n in leftovers)
    else:
        assert leftovers == []


# -- leftovers of killed runs, concurrent writers, signals during the renames ----------------


def test_leftovers_of_a_killed_run_are_removed_by_the_next_one(tmp_path):
    (tmp_path / ".x.py.abc123.tmp").write_bytes(b"partial")
    (tmp_path / ".x.onnx.def456.old").write_bytes(b"backup")
    (tmp_path / ".other.py.abc.tmp").write_bytes(b"not ours")
    write_atomically({tmp_path / name: data for name, data in NEW.items()})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*NEW, ".other.py.abc.tmp"])


WRITER = """
import sys, pathlib
from pde2net.export.files import write_atomically
out, tag = pathlib.Path(sys.argv[1]), sys.argv[2].encode()
for _ in range(40):
    write_atomically({out / n: tag * 20000 for n in ("x.py", "x.onnx", "x.report.json")})
"""


def test_concurrent_writers_never_mix_their_files(tmp_path):
    """Two processes writing the same outputs take turns (the directory lock): after
    each finished write the three files come from one writer."""
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), tag]) for tag in ("a", "b")
    ]
    seen = set()
    while any(p.poll() is None for p in procs):
        with files._locked([tmp_path]):
            names = [tmp_path / n for n in ("x.py", "x.onnx", "x.report.json")]
            if all(n.exists() for n in names):
                seen.add(frozenset(n.read_bytes()[:1] for n in names))
    assert all(p.returncode == 0 for p in procs)
    assert seen and all(len(tags) == 1 for tags in seen), seen
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_signal_during_the_renames_waits_for_them(tmp_path, monkeypatch):
    """SIGTERM raised inside the rename phase is held until the renames are done, so
    the outputs are all new (the signal then ends the write with SystemExit)."""
    _existing(tmp_path)
    real = os.replace
    calls = []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGTERM)
        real(src, dst)

    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(SystemExit):
        write_atomically({tmp_path / name: data for name, data in NEW.items()})
    assert _contents(tmp_path) == NEW

"""Atomic output: all files or none, and no temporaries left behind."""

from __future__ import annotations

import os
import stat

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

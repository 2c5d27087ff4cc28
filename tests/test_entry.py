"""The command exits without tearing the interpreter down (`pde2net.entry.finish`):
the exit status, the atexit handlers and the flushed output are those of a normal exit."""

from __future__ import annotations

import subprocess
import sys


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_status_atexit_handlers_and_buffered_output_survive():
    done = _python(
        "import atexit, sys\n"
        "atexit.register(lambda: print('handler ran'))\n"
        "sys.stdout.write('buffered, no newline')\n"
        "from pde2net.entry import finish\n"
        "finish(3)\n"
    )
    assert done.returncode == 3
    assert done.stdout == "buffered, no newlinehandler ran\n"


def test_a_message_exits_1_with_the_message_and_none_exits_0():
    done = _python("from pde2net.entry import finish\nfinish('it broke')\n")
    assert (done.returncode, done.stderr) == (1, "it broke\n")
    assert _python("from pde2net.entry import finish\nfinish(None)\n").returncode == 0


def test_the_command_keeps_its_exit_codes(tmp_path):
    run = [sys.executable, "-m", "pde2net"]
    version = subprocess.run([*run, "--version"], capture_output=True, text=True, timeout=120)
    assert version.returncode == 0 and "pde2net" in version.stdout
    missing = subprocess.run(
        [*run, "compile", str(tmp_path / "missing.pde")], capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert missing.returncode == 2 and "missing.pde" in missing.stderr


def test_a_closed_pipe_is_no_traceback():
    done = subprocess.run(
        f"{sys.executable} -m pde2net --help | head -c 10",
        shell=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.stdout == "Usage: pyt"
    assert "Traceback" not in done.stderr

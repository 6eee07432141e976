"""Starting the simulator in a process of its own, for the benchmark scripts."""

from __future__ import annotations

import socket
import subprocess
import sys


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_simulator(port: int, *options: str) -> subprocess.Popen[bytes]:
    """`smppkit sim --profile single --no-trace-memory` on `port`, plus `options`; returns
    once it prints that it is listening (its process: stop it by its PID).

    Raises:
        RuntimeError: it exited or printed something else first.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "smppkit", "sim", "--port", str(port), "--profile", "single",
         "--no-trace-memory", *options],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if "listening" not in line:
        proc.kill()
        raise RuntimeError(f"simulator did not start: {line!r}")
    return proc

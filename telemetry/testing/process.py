"""Start a server executable, wait until it answers, stop it by its PID: what every test peer
(``influxd``, ``victoria-metrics``) does the same way."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

import requests


def spawn(args: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``args`` with stdout and stderr appended to ``log_path``, no stdin."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def wait_answering(proc: subprocess.Popen[bytes], answers: Callable[[], bool], *, name: str,
                   log_path: Path, timeout_s: float) -> str | None:
    """Poll ``answers()`` (request errors count as no) every 50 ms until it is true.

    Returns
    -------
    str or None
        None once the server answers; otherwise why not (it exited, or ``timeout_s`` passed),
        naming ``name`` and the log file. The caller stops it and raises its own error.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"{name} exited with {proc.returncode} at start; see {log_path}"
        try:
            if answers():
                return None
        except requests.RequestException:
            pass
        time.sleep(0.05)
    return f"{name} did not answer within {timeout_s} s; see {log_path}"


def stop_by_pid(proc: subprocess.Popen[bytes] | None, timeout_s: float = 10.0) -> None:
    """SIGTERM by PID, SIGKILL if still alive after ``timeout_s``; nothing if already gone."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout_s)

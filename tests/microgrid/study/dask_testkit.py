"""A real Dask cluster of separate processes on loopback, for the study tests.

``dask scheduler`` and ``dask worker`` (the commands of the installed ``distributed``) are started
as child processes on free loopback ports and stopped by their PIDs (SIGTERM, then SIGKILL), so a
test can kill one worker in the middle of a study. Workers run without a nanny: a killed worker
stays dead, as a machine that drops out of a cluster does.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from telemetry.testing import free_port
from telemetry.testing.process import stop_by_pid


class DaskProcesses:
    """A scheduler and workers, each a child process; ``address`` is the scheduler's."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.scheduler: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")
        try:
            return subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, cwd=self.workdir)
        finally:
            log.close()

    def start(self, workers: int = 2, timeout_s: float = 60.0) -> "DaskProcesses":
        """Start the scheduler, wait for its port, start ``workers`` workers, wait until they registered."""
        self.scheduler = self._spawn("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                                                   "--dashboard-address", ":0"])
        deadline = time.monotonic() + timeout_s
        while not _listening(self.port):
            if self.scheduler.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"dask scheduler did not start; see {self.workdir / 'scheduler.log'}")
            time.sleep(0.1)
        for i in range(workers):
            self.workers.append(self._spawn(f"worker-{i}", [
                "worker", self.address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
                "--dashboard-address", ":0", "--name", f"w{i}"]))
        self.wait_for_workers(workers, timeout_s)
        return self

    def client(self) -> Any:
        from distributed import Client
        return Client(self.address, timeout=30)

    def wait_for_workers(self, n: int, timeout_s: float = 60.0) -> None:
        with self.client() as client:
            client.wait_for_workers(n, timeout=timeout_s)

    def worker_pids(self) -> dict[str, int]:
        """Worker address -> PID, as the workers report it."""
        with self.client() as client:
            return dict(client.run(os.getpid))

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            stop_by_pid(proc)  # None and exited processes are left alone
        self.workers, self.scheduler = [], None

    def __enter__(self) -> "DaskProcesses":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0

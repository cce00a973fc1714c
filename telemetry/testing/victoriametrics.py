"""Run a private VictoriaMetrics server (Debian's ``/usr/bin/victoria-metrics``) on loopback.

VictoriaMetrics implements InfluxDB's ``/api/v2/write`` (and ``/write``), so the InfluxDB 2.x
write path (influxdb-client's WriteApi) runs against a real server; points are read back
through its export API (``/api/v1/export``, one JSON line per series: metric name
``{measurement}_{field}``, tags as labels, millisecond timestamps). Like the ``influxd`` of the
suite, it gets a free loopback port and a temporary data directory and is stopped by its PID.
``bash scripts/test.sh`` installs the package when the executable is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import requests

from telemetry.testing import free_port
from telemetry.testing.process import spawn, stop_by_pid, wait_answering

INSTALL_HINT = ("victoria-metrics (Debian's package) is not installed; `bash scripts/test.sh` "
                "installs it (apt-get install victoria-metrics) before running the tests")


def find_victoriametrics() -> str | None:
    """Path of the victoria-metrics executable, or None."""
    exe = shutil.which("victoria-metrics")
    if exe:
        return exe
    return "/usr/bin/victoria-metrics" if os.access("/usr/bin/victoria-metrics", os.X_OK) else None


class VictoriaMetricsProcess:
    """One victoria-metrics on loopback with its own data directory.

    Parameters
    ----------
    workdir : path
        Data directory and log file.
    auth : (user, password), optional
        Turn on HTTP basic auth (every endpoint then needs it).
    """

    def __init__(self, workdir: str | Path, *, auth: tuple[str, str] | None = None) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.exe = find_victoriametrics()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.auth = auth
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30.0) -> VictoriaMetricsProcess:
        """Start and wait until ``/health`` answers."""
        if self.exe is None:
            raise RuntimeError(INSTALL_HINT)
        args = [self.exe, f"-httpListenAddr=127.0.0.1:{self.port}",
                f"-storageDataPath={self.workdir / 'data'}", "-retentionPeriod=100y",
                "-loggerLevel=ERROR", "-search.latencyOffset=0s"]
        if self.auth:
            args += [f"-httpAuth.username={self.auth[0]}", f"-httpAuth.password={self.auth[1]}"]
        log_path = self.workdir / "victoria-metrics.log"
        self.proc = spawn(args, log_path)
        why = wait_answering(self.proc, lambda: requests.get(f"{self.url}/health", auth=self.auth, timeout=0.5).ok,
                             name=f"victoria-metrics at {self.url}", log_path=log_path, timeout_s=timeout_s)
        if why is not None:
            self.stop()
            raise RuntimeError(why)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM by PID, SIGKILL if still alive after ``timeout_s``."""
        stop_by_pid(self.proc, timeout_s)
        self.proc = None

    def export(self, match: str = '{__name__=~".+"}') -> list[dict[str, Any]]:
        """Every series matching ``match``: ``{"metric": {...}, "values": [...],
        "timestamps": [ms, ...]}``, after flushing what was just written."""
        requests.get(f"{self.url}/internal/force_flush", auth=self.auth, timeout=10)
        resp = requests.get(f"{self.url}/api/v1/export", auth=self.auth, timeout=10,
                            params={"match[]": match, "start": "2000-01-01T00:00:00Z"})
        resp.raise_for_status()
        return [json.loads(line) for line in resp.text.splitlines() if line.strip()]

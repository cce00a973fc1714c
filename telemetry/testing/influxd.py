"""Run a private InfluxDB 1.x server (Debian's ``/usr/bin/influxd``) on loopback.

Used by the test fixtures (``tests/conftest.py``) and by ``bench/bench_ingest.py``: a generated
config in a work directory (meta/data/wal inside it), HTTP and RPC bound to free loopback ports,
reporting and the internal monitor store off, logging quiet. :meth:`InfluxdProcess.stop` and
:meth:`InfluxdProcess.start` can be called again and again on the same instance (same data
directory, same ports), which is how the outage test takes the server away and brings it back.
The process is stopped by its PID (SIGTERM, then SIGKILL after a timeout).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import requests

from microgrid.errors import HistorianError
from telemetry.testing import free_ports

INSTALL_HINT = ("influxd (Debian's influxdb 1.x) is not installed; `bash scripts/test.sh` installs "
                "it (apt-get install influxdb) before running the tests")


def find_influxd() -> str | None:
    """Path of the influxd executable, or None."""
    exe = shutil.which("influxd")
    if exe:
        return exe
    return "/usr/bin/influxd" if os.access("/usr/bin/influxd", os.X_OK) else None


def _config(workdir: Path, http_port: int, rpc_port: int, auth_enabled: bool) -> str:
    return f"""reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{workdir}/meta"
  logging-enabled = false
[data]
  dir = "{workdir}/data"
  wal-dir = "{workdir}/wal"
  query-log-enabled = false
  trace-logging-enabled = false
[coordinator]
  log-queries-after = "0s"
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
  auth-enabled = {str(auth_enabled).lower()}
  max-body-size = 0
[logging]
  level = "error"
  suppress-logo = true
[continuous_queries]
  enabled = false
  log-enabled = false
"""


class InfluxdProcess:
    """One influxd on loopback with its own data directory.

    Parameters
    ----------
    workdir : path
        Directory for the config, meta, data, wal and the server's log file.
    exe : str, optional
        influxd executable (default: found on PATH or /usr/bin/influxd).
    auth_enabled : bool
        Turn on HTTP authentication (create the first admin user with ``CREATE USER``).

    Attributes
    ----------
    url : str
        ``http://127.0.0.1:<port>`` (stable across stop/start).
    """

    def __init__(self, workdir: str | Path, exe: str | None = None, *,
                 auth_enabled: bool = False) -> None:
        self.workdir = Path(workdir)
        found = exe or find_influxd()
        if found is None:
            raise HistorianError(INSTALL_HINT)
        self.exe: str = found
        self.http_port, self.rpc_port = free_ports(2)
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.workdir / "influxdb.conf"
        self.config_path.write_text(_config(self.workdir, self.http_port, self.rpc_port,
                                                    auth_enabled))
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout_s: float = 30.0) -> "InfluxdProcess":
        """Start the server and wait until ``/ping`` answers 204."""
        if self.running:
            return self
        log = open(self.workdir / "influxd.log", "ab")
        try:
            self.proc = subprocess.Popen([self.exe, "-config", str(self.config_path)],
                                         stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        finally:
            log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HistorianError(f"influxd exited with {self.proc.returncode} at start; "
                                     f"see {self.workdir / 'influxd.log'}")
            try:
                if requests.get(f"{self.url}/ping", timeout=0.5).status_code == 204:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise HistorianError(f"influxd did not answer {self.url}/ping within {timeout_s} s; "
                             f"see {self.workdir / 'influxd.log'}")

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM by PID, SIGKILL if still alive after ``timeout_s``."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=timeout_s)
        self.proc = None

    def create_database(self, name: str) -> None:
        """``CREATE DATABASE`` (idempotent)."""
        q = 'CREATE DATABASE "{}"'.format(name.replace('"', '\\"'))
        r = requests.post(f"{self.url}/query", params={"q": q}, timeout=10)
        r.raise_for_status()

    def __enter__(self) -> "InfluxdProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""Test peers and helpers shipped for the tests, the benchmarks, the demo and the virtual camp:
never used by the service itself (docs/architecture.md §1).

- :func:`free_port` / :func:`free_ports`: loopback TCP ports free right now;
- :mod:`telemetry.testing.influxd`: a real ``influxd`` (Debian's package) started on a free
  loopback port with a temporary data directory and stopped by its PID;
- :mod:`telemetry.testing.victoriametrics`: a real ``victoria-metrics`` (Debian's package; it
  implements InfluxDB 2.x's ``/api/v2/write``), managed the same way;
- :mod:`telemetry.testing.process`: start a server, wait until it answers, stop it by its PID
  (what the managers above share);
- :mod:`telemetry.testing.serial_link`: a virtual serial cable (two joined pseudo-terminals) for
  Modbus RTU with no hardware (also behind ``microgrid simulate-camp --virtual-serial``).
"""

from __future__ import annotations

import socket

__all__ = ["free_port", "free_ports"]


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports free on 127.0.0.1 right now (all held open until all are found)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    return free_ports(1)[0]

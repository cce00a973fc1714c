"""Test peers and helpers shipped for the tests, the benchmarks and the demo: never used by the
service itself (docs/architecture.md §1).

- :func:`free_port` / :func:`free_ports`: loopback TCP ports free right now;
- :mod:`telemetry.testing.influxd`: a real ``influxd`` (Debian's package) started on a free
  loopback port with a temporary data directory and stopped by its PID.
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

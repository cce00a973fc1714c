"""A virtual serial cable: two pseudo-terminals joined back to back (what ``socat`` does).

The virtual camp serves an RS-485 bus on one end; the poller opens the other end as if it were
``/dev/ttyUSB0``. Bytes written to either end come out of the other, unchanged (raw mode, no
echo): a real serial transport for RTU frames, with no hardware. One daemon thread per cable
copies between the two pty masters.

:func:`attach` also puts a symlink at the path the site file names, pointing at the poller's
end, so one site file serves both ``microgrid simulate-camp --virtual-serial`` and
``microgrid poll``. A test peer like the others of :mod:`telemetry.testing` (the serial tests
use it), and the cable behind ``simulate-camp --virtual-serial``.
"""

from __future__ import annotations

import os
import pty
import select
import threading
import tty
from pathlib import Path

from microgrid.errors import ConfigError

#: Largest chunk copied per read. [bytes]
CHUNK = 4096


class VirtualSerialLink:
    """Two linked pseudo-terminals; :attr:`client_path` and :attr:`server_path` are their
    device paths (``/dev/pts/N``). Use as a context manager, or :meth:`open` / :meth:`close`."""

    def __init__(self) -> None:
        self._fds: list[int] = []
        self._stop_r = self._stop_w = -1
        self._thread: threading.Thread | None = None
        self.client_path = self.server_path = ""

    def open(self) -> VirtualSerialLink:
        """Create both pseudo-terminals and start copying between them."""
        m1, s1 = pty.openpty()
        m2, s2 = pty.openpty()
        for fd in (s1, s2):
            tty.setraw(fd)
        self._fds = [m1, s1, m2, s2]
        self.client_path, self.server_path = os.ttyname(s1), os.ttyname(s2)
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._pump, args=(m1, m2), daemon=True,
                                        name=f"serial-link {self.client_path}")
        self._thread.start()
        return self

    def _pump(self, a: int, b: int) -> None:
        peer = {a: b, b: a}
        while True:
            ready, _, _ = select.select([a, b, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            for fd in ready:
                try:
                    data = os.read(fd, CHUNK)
                except OSError:  # the other side closed its end: keep the cable up
                    continue
                if data:
                    os.write(peer[fd], data)

    def close(self) -> None:
        """Stop copying and close both pseudo-terminals."""
        if self._thread is not None:
            os.write(self._stop_w, b"x")
            self._thread.join(5)
            self._thread = None
        for fd in [*self._fds, self._stop_r, self._stop_w]:
            if fd >= 0:
                os.close(fd)
        self._fds, self._stop_r, self._stop_w = [], -1, -1

    def __enter__(self) -> VirtualSerialLink:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


def attach(path: str, link: VirtualSerialLink) -> Path:
    """Make ``path`` (the site file's serial port) a symlink to the poller's end of ``link``.

    Raises
    ------
    ConfigError
        When ``path`` exists and is not a symlink (a real serial device is never replaced).
    """
    target = Path(path)
    if target.is_symlink():
        target.unlink()
    elif target.exists():
        raise ConfigError(f"{path} exists and is not a symlink; --virtual-serial only puts a "
                          f"link at a free path (use a path such as /tmp/camp-rs485)")
    target.symlink_to(link.client_path)
    return target

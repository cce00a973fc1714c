"""Output files of the commands: a path that is a folder, or a file that cannot be written, is
one line naming the option (exit 2), never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from microgrid.errors import InputError


def out_file(path: str | Path, option: str = "--out") -> Path:
    """``path`` as the file an option names; checked before any work is done.

    Raises
    ------
    InputError
        The path is a folder.
    """
    out = Path(path)
    if out.is_dir():
        raise InputError("is a directory; give a file name", path=f"{option} {out}")
    return out


@contextmanager
def writing(path: Path, option: str = "--out") -> Iterator[Path]:
    """Create ``path``'s folder, then run the body that writes it; an OS error there becomes an
    :class:`InputError` naming the option."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield path
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", path=f"{option} {path}") from None

"""Finished tasks, cached in the study's folder by the hash of their inputs.

``DIR/cache/<sha256>.json`` holds one task's record; it is written to a temporary file and
renamed into place, so an interrupted study never leaves half a record, and a study started
again with the same inputs skips every task it finds here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from microgrid.errors import InputError

__all__ = ["TaskCache"]


class TaskCache:
    """Records of finished tasks under ``folder / "cache"``."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder) / "cache"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the cache folder: {exc.strerror or exc}",
                             path=str(self.folder)) from None

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached record, or None (absent or unreadable: the task runs again)."""
        try:
            return dict(json.loads(self.path(key).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    def put(self, key: str, record: dict[str, Any]) -> None:
        """Store a record atomically (temporary file, then rename)."""
        final = self.path(key)
        tmp = final.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
        os.replace(tmp, final)

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

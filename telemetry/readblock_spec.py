"""The ``read.blocks`` key of a register profile: what a read block is (:class:`Block`) and its
checks (:func:`parse_blocks`). How blocks are planned and when they are read:
:mod:`telemetry.readblocks`. Pure; imports nothing of the profile loader, which calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["DEFAULT_EVERY_S", "Block", "BlockSpecError", "parse_blocks"]


class BlockSpecError(ValueError):
    """A bad ``read.blocks`` entry: ``key`` (``read.blocks[1]``) and what is wrong."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


#: Longest a block's values may go unread when its profile does not say. [s]
DEFAULT_EVERY_S = 60.0
_BLOCK_KEYS = {"name", "fields", "every_s", "gate", "gate_bits", "description"}


@dataclass(frozen=True)
class Block:
    """A group of fields read apart from the device's other registers.

    Attributes
    ----------
    name : str
    fields : frozenset of str
        Fields whose registers only this block reads.
    every_s : float
        Longest time between two reads. [s]
    gate : str or None
        Field whose register opens the block while non-zero (None: cadence only).
    gate_bits : tuple of (int, int)
        ``(severity, bit)``: the bit the device sets in the gate register while one of the
        block's alarms of that severity is active (what the virtual device serves; the
        poller opens on any bit).
    """

    name: str
    fields: frozenset[str]
    every_s: float = DEFAULT_EVERY_S
    gate: str | None = None
    gate_bits: tuple[tuple[int, int], ...] = ()


def parse_blocks(raw_blocks: Any, known: set[str]) -> tuple[Block, ...]:
    """A profile's ``read.blocks``, checked.

    Parameters
    ----------
    raw_blocks : list
        The JSON list.
    known : set of str
        The profile's fields (a SunSpec field the device lacks included).

    Raises
    ------
    BlockSpecError
        Naming the block key, for an unknown key, a field the profile does not have, a field in
        two blocks, a gate inside its own block or not a field, bad ``gate_bits``, or
        ``every_s`` not a positive number (the profile loader adds the file).
    """
    if not isinstance(raw_blocks, list):
        raise BlockSpecError("read.blocks", "must be a list of tables")
    out: list[Block] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_blocks):
        key = f"read.blocks[{i}]"

        def bad(msg: str, key: str = key) -> BlockSpecError:
            return BlockSpecError(key, msg)
        if not isinstance(raw, Mapping):
            raise bad("must be a table")
        unknown = set(raw) - _BLOCK_KEYS
        if unknown:
            raise bad(f"unknown key {sorted(unknown)[0]!r}; allowed: {', '.join(sorted(_BLOCK_KEYS))}")
        fields = raw.get("fields")
        if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
            raise bad("fields must be a non-empty list of field names")
        for f in fields:
            if f not in known:
                raise bad(f"unknown field {f!r}")
            if f in seen:
                raise bad(f"field {f!r} is in two blocks")
        seen.update(fields)
        every = raw.get("every_s", DEFAULT_EVERY_S)
        if isinstance(every, bool) or not isinstance(every, (int, float)) or not every > 0:
            raise bad(f"every_s must be a positive number of seconds, got {every!r}")
        gate = raw.get("gate")
        if gate is not None and (not isinstance(gate, str) or gate not in known or gate in fields):
            raise bad(f"gate {gate!r} must be a field of the profile outside the block")
        bits = _gate_bits(raw.get("gate_bits", {}), bad)
        out.append(Block(str(raw.get("name", f"block {i}")), frozenset(fields), float(every), gate, bits))
    return tuple(out)


def _gate_bits(raw: Any, bad: Any) -> tuple[tuple[int, int], ...]:
    if not isinstance(raw, Mapping):
        raise bad("gate_bits must be a table {severity: bit}")
    try:
        bits = tuple(sorted((int(k), int(v)) for k, v in raw.items()))
    except (TypeError, ValueError):
        raise bad("gate_bits must map a severity to a bit number 0..15") from None
    if any(not 0 <= b <= 15 for _, b in bits):
        raise bad("gate_bits must map a severity to a bit number 0..15")
    return bits

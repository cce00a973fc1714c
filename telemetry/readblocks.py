"""Read blocks: registers a device need not be asked for on every poll (docs/architecture.md §2).

A profile's ``read.blocks`` names groups of fields (by field name) that are planned as reads of
their own, apart from the device's other registers (:func:`device_plan`), and read:

- when never read yet (the first poll, and after the device was offline);
- with a ``gate``: whenever the gate field's register is non-zero or unknown (not read, refused,
  a sentinel), and once more on the poll the gate turns zero after being open (the *closing
  read*, which sees the cleared state); DSE GenComm's page 3 alarm flags gate the page 8 alarm
  conditions this way;
- and at the latest every ``every_s`` seconds, counted in the device's own polls
  (:func:`every_cycles`), staggered between devices (:func:`phase`): the slow cadence of a
  slowly-changing block (SunSpec 713), and for a gated block the refresh that bounds what the
  gate does not flag (GenComm "active indications").

:func:`block_due` is the one rule; :func:`after_read` is the state after a successful read.
Pure: the poller (:mod:`telemetry.poller`) does the I/O and carries a block's last values,
with their read time, between its reads.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from telemetry.readblock_spec import Block
from telemetry.readplan import Read, plan_reads

if TYPE_CHECKING:  # pragma: no cover
    from telemetry.register_profile import Profile

__all__ = ["Block", "BlockPlan", "BlockState", "DevicePlan", "after_read", "block_due",
           "device_plan", "every_cycles", "gate_is_open", "phase", "profile_blocks"]

@dataclass(frozen=True)
class BlockPlan:
    """A block's reads and the register of its gate (None: no gate or the gate is not mapped)."""

    block: Block
    reads: tuple[Read, ...]
    gate_address: int | None


@dataclass(frozen=True)
class DevicePlan:
    """A device's reads: ``base`` every poll, each of ``blocks`` when :func:`block_due`."""

    base: tuple[Read, ...]
    blocks: tuple[BlockPlan, ...] = ()

    @property
    def all_reads(self) -> tuple[Read, ...]:
        """Every read (a poll that reads every block)."""
        return self.base + tuple(r for b in self.blocks for r in b.reads)


@dataclass(frozen=True)
class BlockState:
    """Where a block stands on one device.

    Attributes
    ----------
    next_cycle : int or None
        Device poll from which the block is due again; None: never read.
    gate_open : bool
        The gate was open when the block was last read.
    """

    next_cycle: int | None = None
    gate_open: bool = False


def profile_blocks(profile: Profile) -> tuple[Block, ...]:
    """The profile's read blocks (parsed with the profile:
    :func:`telemetry.readblock_spec.parse_blocks`)."""
    return profile.blocks


def device_plan(profile: Profile) -> DevicePlan:
    """The reads of ``profile`` split into the every-poll reads and one set per block.

    A register a block's field needs is read by the block only, unless a field outside every
    block needs it too (then the base reads have it and the block does not read it again).
    """
    blocks = profile_blocks(profile)
    blocked = {f for b in blocks for f in b.fields}
    merge = {"max_gap_registers": profile.max_gap_registers,
             "max_registers_per_read": profile.max_registers_per_read}
    base_ranges = _ranges(profile, lambda f: f not in blocked)
    base_regs = {a for start, n in base_ranges for a in range(start, start + n)}
    plans = []
    for b in blocks:
        ranges = [(a, n) for a, n in _ranges(profile, b.fields.__contains__)
                  if not set(range(a, a + n)) <= base_regs]
        if not ranges:  # its fields are missing on this device (or read anyway): nothing apart
            continue
        gate = next((p for p in profile.points if p.field == b.gate), None)
        plans.append(BlockPlan(b, tuple(plan_reads(ranges, **merge)),
                               None if gate is None else gate.address))
    return DevicePlan(tuple(plan_reads(base_ranges, **merge)), tuple(plans))


def _ranges(profile: Profile, keep: Any) -> list[tuple[int, int]]:
    out = []
    for p in profile.points:
        if p.access != "W" and keep(p.field):
            out.append((p.address, p.size))
            if p.sf_address is not None:
                out.append((p.sf_address, 1))
    return out


def every_cycles(block: Block, poll_interval_s: float, every_s: float | None = None) -> int:
    """``every_s`` (default ``block.every_s``) in polls of a device polled every
    ``poll_interval_s`` (at least 1)."""
    every = block.every_s if every_s is None else every_s
    return max(1, round(every / poll_interval_s)) if poll_interval_s > 0 else 1


def phase(device: str, block: Block, every: int) -> int:
    """A stable offset in 1..``every`` of the block's first refresh, so that the devices of a
    camp do not all read their blocks on the same poll."""
    return 1 + zlib.crc32(f"{device}/{block.name}".encode()) % every


def gate_is_open(raw: int | None) -> bool:
    """A gate register is open when non-zero or unknown (None): never closed by a failed read."""
    return raw is None or raw != 0


def block_due(state: BlockState, cycle: int, gated: bool, gate_raw: int | None) -> bool:
    """Whether a block is read on the device's poll number ``cycle``.

    Parameters
    ----------
    state : BlockState
    cycle : int
        The device's poll count (0 = its first poll).
    gated : bool
        The block has a gate.
    gate_raw : int or None
        The gate register as read on this poll (None: not read, refused or unmapped).

    Returns
    -------
    bool
        True when never read, when the gate is open or unknown, when the gate closed since the
        last read (closing read), or when the cadence says so.
    """
    if state.next_cycle is None:
        return True
    if gated and (gate_is_open(gate_raw) or state.gate_open):
        return True
    return cycle >= state.next_cycle


def after_read(state: BlockState, cycle: int, device: str, block: Block, poll_interval_s: float,
               gate_raw: int | None, every_s: float | None = None) -> BlockState:
    """The state after ``block`` was read (successfully) on the device's poll ``cycle``.

    The first refresh after the first read comes :func:`phase` polls later, every later one
    :func:`every_cycles` polls after the last read (``every_s``: the site's override of the
    block's own, ``modbus.block_every_s``).
    """
    every = every_cycles(block, poll_interval_s, every_s)
    step = phase(device, block, every) if state.next_cycle is None else every
    return replace(state, next_cycle=cycle + step,
                   gate_open=block.gate is not None and gate_is_open(gate_raw))

"""Read planning: as few Modbus reads as possible for the registers a device needs.

Ranges closer than ``max_gap_registers`` are merged (reading a few unneeded registers is
cheaper than another round trip, as Telegraf's ``max_insert`` optimisation does); no read is
longer than ``max_registers_per_read`` (125 is the Modbus limit for FC3/FC4). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from telemetry.register_profile import Profile

#: Modbus limit of registers in one read (FC3/FC4).
MODBUS_MAX_READ = 125


@dataclass(frozen=True)
class Read:
    """One read request: ``count`` registers from ``address``."""

    address: int
    count: int

    @property
    def end(self) -> int:
        """One past the last register."""
        return self.address + self.count


def plan_reads(ranges: Iterable[tuple[int, int]], *, max_gap_registers: int = 8,
               max_registers_per_read: int = MODBUS_MAX_READ) -> list[Read]:
    """Merge register ranges into reads.

    Parameters
    ----------
    ranges : iterable of (address, count)
        Registers needed; any order, may overlap.
    max_gap_registers : int
        Largest run of unneeded registers read to join two ranges. [registers]
    max_registers_per_read : int
        Longest read. [registers] (1..125)

    Returns
    -------
    list of Read
        Sorted by address; every needed register is in exactly one read. A single range
        longer than ``max_registers_per_read`` is split.

    Raises
    ------
    ValueError
        On a negative gap, a read limit outside 1..125, or a range with count < 1.
    """
    if max_gap_registers < 0:
        raise ValueError(f"max_gap_registers must be >= 0, got {max_gap_registers}")
    if not 1 <= max_registers_per_read <= MODBUS_MAX_READ:
        raise ValueError(f"max_registers_per_read must be in 1..125, got {max_registers_per_read}")
    intervals: list[list[int]] = []
    for address, count in sorted(ranges):
        if count < 1:
            raise ValueError(f"range at address {address} has count {count}")
        if intervals and address <= intervals[-1][1]:
            intervals[-1][1] = max(intervals[-1][1], address + count)
        else:
            intervals.append([address, address + count])
    reads: list[Read] = []
    start: int | None = None
    end = 0
    for a, b in intervals:
        if start is not None and a - end <= max_gap_registers and b - start <= max_registers_per_read:
            end = b
            continue
        if start is not None:
            reads.append(Read(start, end - start))
        while b - a > max_registers_per_read:
            reads.append(Read(a, max_registers_per_read))
            a += max_registers_per_read
        start, end = a, b
    if start is not None:
        reads.append(Read(start, end - start))
    return reads


def profile_reads(profile: Profile) -> list[Read]:
    """The read plan of a :class:`telemetry.registers.Profile` with its own limits."""
    return plan_reads(profile.ranges(), max_gap_registers=profile.max_gap_registers,
                      max_registers_per_read=profile.max_registers_per_read)


def merge_results(reads: Sequence[Read], results: Sequence[Sequence[int] | None]) -> dict[int, int]:
    """Register image ``{address: register}`` from the results of ``reads`` (None = failed)."""
    image: dict[int, int] = {}
    for r, regs in zip(reads, results):
        if regs is not None:
            image.update(zip(range(r.address, r.address + len(regs)), regs))
    return image

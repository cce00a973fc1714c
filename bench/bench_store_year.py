"""A year of the example camp on the embedded store, at the live rate and layout: how big?

Target (issue 17): at most 2 GB a year, raw readings kept 30 days, 1-min and 15-min roll-ups and
the records kept for good. Printed, all measured in this run (timings are noisy on a shared
machine; sizes are not):

1. the live rate and layout: the service run against the virtual camp for an hour (5-s polls,
   MILP, control), values per second;
2. the baseline, the layout the store had before (schema version 1: one row per value), on one
   day of the same generated history, in bytes per value, and what a year of it makes;
3. the same day written through the live path (readings in poll-sized batches, compaction as
   the service runs it) and through the bulk path, packed: bytes per value, both;
4. the year, written month by month through the bulk path with retention as it goes: file
   size, bytes per value written, values held as raw, roll-ups and records; ratio to 2.

    PYTHONPATH=. .venv/bin/python bench/bench_store_year.py [--days 365] [--keep PATH]

The generated history is described in ``bench/camp_year.py`` (physics at 60 s, interpolated to
5 s with meter noise, rounded to each field's live resolution).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import camp_year as cy  # noqa: E402

from microgrid.readings import Reading  # noqa: E402
from telemetry.historian import SQLiteHistorian, open_historian  # noqa: E402

V1_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE series(id INTEGER PRIMARY KEY, measurement TEXT NOT NULL, tags TEXT NOT NULL,
    UNIQUE(measurement, tags));
CREATE TABLE points(series_id INTEGER NOT NULL, field TEXT NOT NULL, time_ns INTEGER NOT NULL,
    value REAL NOT NULL, PRIMARY KEY(series_id, field, time_ns)) WITHOUT ROWID;
CREATE INDEX points_time ON points(time_ns);
"""


def day_blocks(layouts, start, hours: float):
    """Every series' block over ``hours`` from ``start`` (generated as in the year)."""
    phys = cy.physics(cy.site(), start, hours / 24 + 1 / 24)
    end = start + pd.Timedelta(hours=hours)
    rng = np.random.default_rng(17)
    for lay in layouts:
        block = (cy.telemetry_block(lay, phys, start, end, rng) if lay.measurement in cy.TELEMETRY
                 else cy.record_block(lay, phys, start, end))
        yield lay, block


def file_bytes(path: Path) -> tuple[int, int]:
    """(bytes on disk, file and WAL; bytes in use: pages not on the free list)."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages, free, size = (db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "freelist_count",
                                                                            "page_size"))
    db.close()
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")), (pages - free) * size


def v1_bytes_per_value(blocks, path: Path) -> tuple[float, int]:
    """One row per value, as schema version 1 stored every reading."""
    db = sqlite3.connect(path)
    db.executescript(V1_SCHEMA)
    n = 0
    for i, (lay, (times, cols)) in enumerate(blocks):
        db.execute("INSERT INTO series VALUES (?, ?, ?)", (i, lay.measurement, str(lay.tags)))
        rows = [(i, f, int(t), float(v)) for f, vals in cols.items() for t, v in zip(times, vals) if v == v]
        db.executemany("INSERT INTO points VALUES (?, ?, ?, ?)", rows)
        n += len(rows)
    db.commit()
    db.close()
    return file_bytes(path)[1] / n, n


def live_path_bytes_per_value(blocks, path: Path) -> tuple[float, int]:
    """The same points as readings, in poll-sized batches, through the tiered store the service
    uses (rows, then compaction), finally compacted like the next hour would."""
    readings = []
    for lay, (times, cols) in blocks:
        names = list(cols)
        mat = np.column_stack([cols[f] for f in names])
        for t, row in zip(times, mat):
            fields = {f: float(v) for f, v in zip(names, row) if v == v}
            if fields:
                readings.append(Reading(pd.Timestamp(int(t), tz="UTC"), lay.measurement, lay.tags, fields))
    readings.sort(key=lambda r: r.time)
    n = sum(len(r.fields) for r in readings)
    with open_historian(f"sqlite:///{path}", tiered=True) as store:
        batch: list[Reading] = []
        for r in readings:
            if batch and r.time != batch[-1].time and len(batch) >= 10:
                store.write(batch)
                batch = []
            batch.append(r)
        store.write(batch)
        for h in (store.raw, *store.tiers.values()):
            h.compact(horizon_ns=2**62)
    return file_bytes(path)[1] / n, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=float, default=365.0)
    ap.add_argument("--day-hours", type=float, default=24.0, help="length of the per-day comparisons [h]")
    ap.add_argument("--keep", type=Path, help="keep the year's store at this path")
    args = ap.parse_args()

    t0 = time.perf_counter()
    layouts, rate = cy.live_layout(1.0)
    per_day = rate * 86400
    print(f"live rate: {rate:.2f} values/s ({per_day / 1e6:.2f} M a day) in {len(layouts)} series, "
          f"measured on the service against the virtual camp ({time.perf_counter() - t0:.0f} s)")

    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        tmp_path = Path(tmp)
        blocks = list(day_blocks(layouts, cy.START, args.day_hours))
        v1, n1 = v1_bytes_per_value(blocks, tmp_path / "v1.sqlite")
        print(f"baseline, one row per value (schema 1): {v1:.1f} bytes/value over {n1:,} values -> "
              f"{v1 * per_day / 1e6:,.0f} MB a day, {v1 * per_day * 365 / 1e9:,.1f} GB a year, forever")
        t = time.perf_counter()
        live, n_live = live_path_bytes_per_value(blocks, tmp_path / "live.sqlite")
        t_live = time.perf_counter() - t
        with open_historian(f"sqlite:///{tmp_path / 'bulk.sqlite'}", tiered=True) as store:
            for lay, (times, cols) in blocks:
                store.write_columns(lay.measurement, lay.tags, times, cols)
        bulk = file_bytes(tmp_path / "bulk.sqlite")[1] / n1
        print(f"packed, {args.day_hours:g} h with roll-ups (bytes in use per value written): live path "
              f"{live:.2f} ({n_live:,} values, {t_live:.0f} s), bulk path {bulk:.2f}; "
              f"{v1 / live:.0f}x smaller than rows")

        path = args.keep or tmp_path / "year.sqlite"
        path.unlink(missing_ok=True)
        t = time.perf_counter()
        written = cy.write_history(path, args.days, layouts)
        size, used = file_bytes(path)
        print(f"{args.days:g} days written in {time.perf_counter() - t:.0f} s: {written:,} values "
              f"({written / (args.days * 86400):.2f}/s); store file {size / 1e9:.3f} GB "
              f"({used / 1e9:.3f} GB in use) = {size / written:.2f} bytes per value written; "
              f"against the 2 GB a year target: {size / 2e9 * 365 / args.days:.2f} (scaled to a year)")
        for ns, label in (("", "raw readings (30 days) + records"), ("1m", "1-min roll-ups"),
                          ("15m", "15-min roll-ups")):
            with SQLiteHistorian(path, namespace=ns, readonly=True) as h:
                rows, packed = h.stored_values()
            print(f"  {label:34s} {rows + packed:>14,} values held ({rows:,} as rows)")


if __name__ == "__main__":
    main()

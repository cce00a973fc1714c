"""The spool: durable before sending, deleted only after acknowledgement, bounded loudly,
drained in order, kept across restarts. Failures are real: an InfluxDB URL on a loopback port
nobody listens on (connection refused), a real influxd refusing a field-type conflict."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from testkit import free_port

from microgrid.readings import Reading
from telemetry.historian import InfluxV1Historian, Spool, SpoolDepth, SpooledHistorian, SQLiteHistorian
from telemetry.historian.lineprotocol import encode_readings

T0 = datetime(2026, 1, 5, tzinfo=timezone.utc)


def meter(i: int) -> Reading:
    return Reading(T0 + timedelta(seconds=i), "load_meter", {"site": "s", "device": "m1"},
                   {"power_kw": float(i)})


def unreachable() -> InfluxV1Historian:
    """A real client aimed at a loopback port with no server: every send is refused."""
    return InfluxV1Historian(f"http://127.0.0.1:{free_port()}", "camp", timeout_s=1)


def power(h, n_s: int = 10_000) -> list[float]:
    return h.query("load_meter", ["power_kw"], T0, T0 + timedelta(seconds=n_s))["power_kw"].tolist()


def test_batches_are_on_disk_before_anything_is_sent(tmp_path):
    h = SpooledHistorian(unreachable(), Spool(tmp_path / "spool.db"), batch_points=4)
    h.write([meter(i) for i in range(10)])
    assert h.spool.depth() == SpoolDepth(3, 10, len(encode_readings([meter(i) for i in range(10)])))
    first = h.spool.peek(3)
    h.spool.close()  # a crash before any send: the next process finds the same batches
    again = Spool(tmp_path / "spool.db")
    assert again.depth().points == 10 and again.peek(3) == first
    assert [b.points for b in first] == [4, 4, 2]
    assert first[0].payload == encode_readings([meter(i) for i in range(4)])


def test_outage_keeps_batches_and_a_retry_sends_the_identical_batch(tmp_path):
    h = SpooledHistorian(unreachable(), Spool(tmp_path / "spool.db"), batch_points=5)
    h.write([meter(i) for i in range(10)])
    before = h.spool.peek(2)
    assert h.drain_once() == 0 and h.drain_once() == 0
    assert h.spool.peek(2) == before  # same ids, same bytes: a replay cannot differ
    st = h.status()
    assert (st["spool_batches"], st["spool_points"], st["store_reachable"]) == (2, 10, False)
    assert "127.0.0.1" in st["last_error"]
    # the store comes back (here: the same spool put in front of a reachable store)
    h.spool.close()
    with SQLiteHistorian(tmp_path / "h.db") as lite:
        h2 = SpooledHistorian(lite, Spool(tmp_path / "spool.db"))
        assert h2.drain_once() == 2
        assert h2.spool.depth() == SpoolDepth(0, 0, 0) and h2.status()["store_reachable"]
        assert power(lite) == [float(i) for i in range(10)]
        h2.spool.close()


def test_drain_sends_oldest_first_and_deletes_only_acknowledged(tmp_path):
    with SQLiteHistorian(tmp_path / "h.db") as lite:
        h = SpooledHistorian(lite, Spool(tmp_path / "spool.db"), batch_points=3)
        h.write([meter(i) for i in range(9)])
        ids = [b.id for b in h.spool.peek(10)]
        assert ids == sorted(ids) and h.drain_once(max_batches=1) == 1
        assert [b.id for b in h.spool.peek(10)] == ids[1:]
        assert power(lite) == [0.0, 1.0, 2.0]
        assert h.drain_once() == 2 and h.spool.depth().batches == 0
        assert power(lite) == [float(i) for i in range(9)]
        h.spool.close()


def test_full_spool_drops_new_batches_loudly_and_keeps_the_oldest(tmp_path, caplog):
    h = SpooledHistorian(unreachable(), Spool(tmp_path / "spool.db", max_points=10),
                         batch_points=4)
    with caplog.at_level(logging.WARNING, logger="telemetry.historian.spool"):
        h.write([meter(i) for i in range(12)])  # batches of 4, 4, 4: the third does not fit
    assert h.spool.depth().points == 8
    assert (h.spool.dropped_batches, h.spool.dropped_points) == (1, 4)
    assert h.status()["dropped_points"] == 4
    assert any("SPOOL FULL" in r.message and r.levelno == logging.WARNING for r in caplog.records)
    assert h.spool.peek(1)[0].payload.startswith(b"load_meter,device=m1,site=s power_kw=0.0 ")
    h.spool.close()


def test_byte_bound_and_compressed_payloads(tmp_path):
    payload = encode_readings([meter(i) for i in range(100)])
    s = Spool(tmp_path / "spool.db", max_bytes=len(payload) + 10)
    assert s.append(payload, 100) is not None and s.append(payload, 100) is None
    s.close()
    z = Spool(tmp_path / "z.db", compress=True)
    z.append(payload, 100)
    assert z.depth().bytes < len(payload) / 3 and z.peek(1)[0].payload == payload
    z.close()


def test_close_flushes_what_it_can_and_keeps_the_rest(tmp_path, caplog):
    h = SpooledHistorian(unreachable(), Spool(tmp_path / "spool.db"), batch_points=5,
                         close_flush_timeout_s=0.3)
    h.write([meter(i) for i in range(7)])
    with caplog.at_level(logging.WARNING):
        h.close()
    assert any("still spooled" in r.message for r in caplog.records)
    with SQLiteHistorian(tmp_path / "h.db") as lite:
        nxt = SpooledHistorian(lite, Spool(tmp_path / "spool.db"))
        assert nxt.spool.depth().points == 7
        assert nxt.flush(timeout_s=5) and power(lite) == [float(i) for i in range(7)]
        nxt.spool.close()


def test_drain_forever_runs_in_asyncio_until_stopped(tmp_path):
    async def scenario(h: SpooledHistorian) -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(h.drain_forever(stop, interval_s=0.01))
        h.write([meter(i) for i in range(20)])
        for _ in range(500):
            if h.spool.depth().batches == 0:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, timeout=5)

    with SQLiteHistorian(tmp_path / "h.db") as lite:
        h = SpooledHistorian(lite, Spool(tmp_path / "spool.db"), batch_points=6)
        asyncio.run(scenario(h))
        assert h.spool.depth().batches == 0 and power(lite) == [float(i) for i in range(20)]
        assert h.sent_points == 20
        h.spool.close()


def test_write_lines_goes_through_the_spool(tmp_path):
    with SQLiteHistorian(tmp_path / "h.db") as lite:
        h = SpooledHistorian(lite, Spool(tmp_path / "spool.db"))
        h.write_lines(encode_readings([meter(1), meter(2)]).rstrip(b"\n"))
        assert h.spool.depth().points == 2 and h.flush(1) and power(lite) == [1.0, 2.0]
        h.spool.close()


@pytest.mark.integration
def test_a_batch_refused_for_good_is_set_aside_and_the_queue_moves_on(tmp_path, influx_database,
                                                                     caplog):
    url, db = influx_database
    h = SpooledHistorian(InfluxV1Historian(url, db), Spool(tmp_path / "spool.db"))
    h.write([meter(0)])
    h.write_lines(b"load_meter,device=m1,site=s power_kw=5i 1767571201000000000\n")  # int vs float
    h.write([meter(2)])
    with caplog.at_level(logging.ERROR):
        assert h.drain_once() == 2
    assert h.spool.depth().batches == 0 and h.spool.rejected_batches == 1
    assert any("refused for good" in r.message for r in caplog.records)
    got = h.query("load_meter", ["power_kw"], T0, T0 + timedelta(minutes=1))
    assert got["power_kw"].tolist() == [0.0, 2.0]
    assert list(got.index) == [pd.Timestamp(T0), pd.Timestamp(T0 + timedelta(seconds=2))]
    h.close()


@pytest.mark.integration
def test_a_missing_database_keeps_batches_spooled_until_it_exists(tmp_path, influxd):
    h = SpooledHistorian(InfluxV1Historian(influxd.url, "created_later"),
                         Spool(tmp_path / "spool.db"))
    h.write([meter(0), meter(1)])
    assert h.drain_once() == 0 and h.spool.depth().points == 2
    assert "database or bucket not found" in h.status()["last_error"]
    influxd.create_database("created_later")
    assert h.drain_once() == 1 and h.spool.rejected_batches == 0
    assert power(h) == [0.0, 1.0]
    h.close()

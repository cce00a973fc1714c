"""summarize() on a hand-made roll-up: every figure checked by hand."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest
from testkit import EXAMPLE_SITE

from microgrid.config import load_site
from microgrid.errors import ReportError
from microgrid.reports.period import parse_period
from microgrid.reports.summary import Gap, summarize

SITE = load_site(EXAMPLE_SITE)
PERIOD = parse_period("2026-10", "Africa/Juba")  # 2026-09-30T22:00Z .. 2026-10-31T22:00Z, 744 h
T1 = pd.Timestamp("2026-10-01T00:00Z")  # 02:00 local
T2 = pd.Timestamp("2026-10-01T00:15Z")


def energy_df() -> pd.DataFrame:
    rows = [  # time, load, pv, genset, charge, discharge, fuel, estimated, diesel-only, coverage
        ("2026-09-30T21:45Z", 999, 0, 999, 0, 0, 999, 0, 999, 100),  # before the period: ignored
        (T1, 100, 60, 40, 10, 10, 12, 0, 30, 100),
        (T2, 100, 60, 40, 10, 10, 12, 12, 30, 50),  # half the bucket missing; fuel estimated
    ]
    cols = ["time", "load_kwh", "pv_kwh", "genset_kwh", "battery_charge_kwh",
            "battery_discharge_kwh", "fuel_l", "fuel_estimated_l", "diesel_only_fuel_l",
            "coverage_pct"]
    df = pd.DataFrame(rows, columns=cols)
    df["time"] = pd.to_datetime(df["time"], utc=True)
    return df.set_index("time").astype(float)


def genset_df() -> pd.DataFrame:
    return pd.DataFrame(
        {"device": ["dg-1", "dg-1"], "genset_kwh": [40.0, 40.0], "fuel_l": [12.0, 12.0],
         "fuel_estimated_l": [0.0, 12.0], "run_h": [0.25, 0.125], "starts": [1.0, 0.0],
         "below_min_h": [0.0, 0.125]}, index=pd.DatetimeIndex([T1, T2], name="time"))


def test_totals_ratios_and_fuel_basis():
    s = summarize(SITE, PERIOD, energy_df(), genset_df())
    assert (s.load_kwh, s.pv_kwh, s.genset_kwh) == (200.0, 120.0, 80.0)
    assert (s.battery_charge_kwh, s.battery_discharge_kwh) == (20.0, 20.0)
    assert s.curtailed_kwh is None  # not measured, not 0
    assert s.renewable_fraction_pct == pytest.approx(60.0)
    assert (s.fuel_l, s.fuel_metered_l, s.fuel_estimated_l) == (24.0, 12.0, 12.0)
    assert s.fuel_basis == "partly estimated (50 % of litres)"
    assert s.kwh_per_l == pytest.approx(80 / 24)
    assert s.co2_t == pytest.approx(24 * 2.68 / 1000)
    assert s.diesel_only_fuel_l == 60.0 and s.fuel_avoided_l == 36.0
    assert s.co2_avoided_t == pytest.approx(36 * 2.68 / 1000)


def test_completeness_days_with_data_and_litres_per_person_day():
    s = summarize(SITE, PERIOD, energy_df(), genset_df())
    covered_h = 0.25 + 0.125
    assert s.completeness_pct == pytest.approx(100 * covered_h / 744)
    assert s.days_in_period == 31 and s.days_with_data == pytest.approx(covered_h / 24)
    assert s.fuel_l_per_person_day == pytest.approx(24 / 1000 / (covered_h / 24))  # 1.536
    assert s.fuel_l_per_person_day == pytest.approx(1.536)
    assert s.data_start_utc == T1 and s.data_end_utc == pd.Timestamp("2026-10-01T00:30Z")


def test_gaps_are_listed_not_filled():
    s = summarize(SITE, PERIOD, energy_df(), genset_df())
    utc = timezone.utc
    assert s.gaps[0] == Gap(datetime(2026, 9, 30, 22, tzinfo=utc), datetime(2026, 10, 1, tzinfo=utc),
                            2.0, 0.0)
    g = s.gaps[1]  # the half-covered bucket runs into the missing rest of the month
    assert (g.start_utc, g.end_utc) == (T2, datetime(2026, 10, 31, 22, tzinfo=utc))
    assert g.missing_h == pytest.approx(744 - 2 - 0.25 - 0.125)
    assert len(s.gaps) == 2


def test_daily_rows_in_local_days():
    s = summarize(SITE, PERIOD, energy_df(), genset_df())
    assert [d.day for d in s.daily] == [date(2026, 10, d) for d in range(1, 32)]
    d1 = s.daily[0]
    assert (d1.load_kwh, d1.genset_kwh, d1.fuel_l) == (200.0, 80.0, 24.0)
    assert d1.renewable_fraction_pct == pytest.approx(60.0)
    assert d1.completeness_pct == pytest.approx(100 * 0.375 / 24)
    assert s.daily[1].load_kwh is None and s.daily[1].completeness_pct == 0.0


def test_per_genset_figures_and_loading_histogram():
    s = summarize(SITE, PERIOD, energy_df(), genset_df())
    dg1, dg2 = s.gensets[0], s.gensets[1]
    assert [g.name for g in s.gensets] == ["dg-1", "dg-2", "dg-3"]
    assert (dg1.run_h, dg1.starts, dg1.below_min_h) == (0.375, 1.0, 0.125)
    assert (dg1.genset_kwh, dg1.fuel_l, dg1.fuel_estimated_l) == (80.0, 24.0, 12.0)
    assert dg1.mean_loading_pct == pytest.approx(100 * 80 / (0.375 * 400))
    # bucket 1: 40 kWh / (0.25 h × 400 kW) = 40 %; bucket 2: 40 / (0.125 × 400) = 80 %
    assert dg1.loading_h[4] == 0.25 and dg1.loading_h[8] == 0.125 and sum(dg1.loading_h) == 0.375
    assert dg2.run_h is None and dg2.fuel_l is None and sum(dg2.loading_h) == 0.0


def test_metered_only_and_missing_columns():
    e = energy_df().drop(columns=["fuel_estimated_l"])
    e["curtailed_kwh"] = 5.0
    s = summarize(SITE, PERIOD, e, None)
    assert s.fuel_basis == "metered" and s.fuel_estimated_l == 0.0
    assert s.curtailed_kwh == 10.0
    assert all(g.run_h is None for g in s.gensets)


def test_no_data_in_period_is_a_report_error():
    with pytest.raises(ReportError, match="no energy data .* 2026-11"):
        summarize(SITE, parse_period("2026-11", "Africa/Juba"), energy_df(), genset_df())
    with pytest.raises(ReportError, match="no energy data"):
        summarize(SITE, PERIOD, pd.DataFrame(), pd.DataFrame())


def test_nan_stays_missing():
    e = energy_df()
    e.loc[T2, "pv_kwh"] = math.nan
    s = summarize(SITE, PERIOD, e, genset_df())
    assert s.pv_kwh == 60.0


def test_fuel_logistics_convoys_deliveries(tmp_path):
    """Convoys avoided = litres avoided / tanker size (from the roll-ups); deliveries from the
    service's ledger when it ran in the period, else missing (never 0)."""
    import dataclasses

    from microgrid.readings import Reading
    from microgrid.reports.fuel_logistics import with_fuel_logistics
    from microgrid.reports.tables import fuel_logistics_rows
    from telemetry.historian import open_historian

    site = load_site(EXAMPLE_SITE)
    period = parse_period("2026-10", site.location.timezone)
    t0 = period.start_utc
    energy = pd.DataFrame([{"time": t0 + timedelta(minutes=15 * i), "load_kwh": 100.0, "genset_kwh": 60.0,
                            "pv_kwh": 40.0, "fuel_l": 18.0, "diesel_only_fuel_l": 30.0, "coverage_pct": 100.0}
                           for i in range(96)])
    s = summarize(site, period, energy, None)
    assert s.tanker_size_l == 30000.0 and s.convoys_avoided == pytest.approx(96 * 12.0 / 30000.0)
    bare = dataclasses.replace(site, logistics=None)
    assert summarize(bare, period, energy, None).convoys_avoided is None
    with open_historian(f"sqlite:///{tmp_path / 'h.sqlite'}") as store:
        assert with_fuel_logistics(store, site, period, s).fuel_logistics is None     # no ledger: missing
        tags = {"site": site.name}
        store.write([Reading(t0 + timedelta(hours=h), "fuel", tags, {"stock_l": 40000.0}) for h in range(24)]
                    + [Reading(t0 + timedelta(hours=3), "fuel_delivery", tags, {"delivered_l": 29950.0}),
                       Reading(t0 + timedelta(days=40), "fuel_delivery", tags, {"delivered_l": 1.0})])
        with_ledger = with_fuel_logistics(store, site, period, s)
    assert (with_ledger.fuel_logistics.delivered_l, with_ledger.fuel_logistics.deliveries) == (29950.0, 1)
    rows = {r.key: r.value for r in fuel_logistics_rows(with_ledger)}
    assert rows == {"delivered_l": 29950.0, "deliveries": 1.0, "convoys_avoided": s.convoys_avoided}

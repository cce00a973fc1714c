"""The grid of a study and how a site is re-sized (pure)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from testkit import example_camp

from microgrid.errors import InputError
from microgrid.study.spec import Sizing, StudyOptions, combinations, parse_sizes, resize_site, site_sizing
from microgrid.study.tasks import plan_tasks

SITE, _ = example_camp()
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_parse_sizes_keeps_the_order():
    assert parse_sizes("600, 1200,1800", "--pv-kwp") == (600.0, 1200.0, 1800.0)
    assert parse_sizes("0", "--battery-kwh") == (0.0,)


@pytest.mark.parametrize("text,words", [("600,abc", "'abc' is not a number"), ("-5", "must be a finite size >= 0"),
                                        ("600,600", "'600' is given twice"), ("inf", "finite")])
def test_parse_sizes_names_the_option_and_the_item(text, words):
    with pytest.raises(InputError) as err:
        parse_sizes(text, "--pv-kwp")
    assert str(err.value).startswith("--pv-kwp: ") and words in str(err.value)


def test_combinations_pv_outermost():
    got = combinations((600.0, 1200.0), (1000.0,), ("milp", "cycle-charging"))
    assert got == [Sizing(600.0, 1000.0, "milp"), Sizing(600.0, 1000.0, "cycle-charging"),
                   Sizing(1200.0, 1000.0, "milp"), Sizing(1200.0, 1000.0, "cycle-charging")]


def test_resize_scales_every_array_and_battery_by_one_factor():
    big = resize_site(SITE, 1800.0, 4000.0)
    assert site_sizing(big) == (1800.0, 4000.0)
    assert [a.kwp for a in big.pv_arrays] == [750.0, 750.0, 300.0]
    assert [a.inverter_kw for a in big.pv_arrays] == pytest.approx([660.0, 660.0, 270.0])
    assert [a.tilt_deg for a in big.pv_arrays] == [a.tilt_deg for a in SITE.pv_arrays]
    (b,) = big.batteries
    assert (b.capacity_kwh, b.charge_power_kw, b.discharge_power_kw) == (4000.0, 2000.0, 2000.0)  # same C-rate
    assert (b.soc_min_pct, b.soc_max_pct, b.charge_efficiency) == (15.0, 95.0, 0.96)
    assert big.gensets == SITE.gensets


def test_zero_removes_the_arrays_or_the_batteries():
    bare = resize_site(SITE, 0.0, 0.0)
    assert bare.pv_arrays == () and bare.batteries == () and bare.gensets == SITE.gensets


def test_a_camp_without_pv_cannot_be_given_pv():
    with pytest.raises(InputError, match="--pv-kwp: site 'malakal' has no PV array to scale to 100 kWp"):
        resize_site(resize_site(SITE, 0.0, 1000.0), 100.0, 1000.0)


def test_chunks_and_tasks():
    options = StudyOptions(start=START, days=65.0, chunk_days=30.0)
    assert options.chunks == 3
    tasks = plan_tasks([Sizing(600.0, 1000.0, "milp")], options)
    assert [(t.chunk, t.start.day, t.start.month, t.days, t.spinup_days) for t in tasks] == [
        (0, 1, 1, 21.0, 0.0), (1, 22, 1, 21.0, 2.0), (2, 12, 2, 23.0, 2.0)]
    assert tasks[1].label == "PV 600 kWp, battery 1000 kWh, milp, chunk 2/3 (2026-01-22, 21 d)"
    assert StudyOptions(start=START, days=2.0, chunk_days=30.0).chunks == 1


def test_operated_site_has_the_study_horizon():
    op = StudyOptions(start=START, days=1.0, horizon_h=24.0).operated_site(SITE).optimizer
    assert (op.horizon_h, op.fine_horizon_h, op.hourly_horizon_h) == (24.0, 2.0, 8.0)
    op = StudyOptions(start=START, days=1.0, horizon_h=1.0).operated_site(SITE).optimizer
    assert (op.horizon_h, op.fine_horizon_h, op.hourly_horizon_h) == (1.0, 1.0, 1.0)


def test_the_task_hash_covers_what_the_backtest_depends_on_and_not_the_prices():
    import dataclasses

    from microgrid.study.conditions import CampConditions
    from microgrid.study.tasks import task_key

    _, sim = example_camp()
    options = StudyOptions(start=START, days=2.0)
    (task,) = plan_tasks([Sizing(600.0, 1000.0, "milp")], options)
    key = task_key(SITE, CampConditions(SITE, sim), task, options)
    assert key == task_key(SITE, CampConditions(SITE, sim), task, options)
    dearer = dataclasses.replace(SITE, costs=dataclasses.replace(SITE.costs, diesel_usd_per_l=2.0), source="x")
    assert task_key(dearer, CampConditions(dearer, sim), task, options) == key
    assert task_key(SITE, CampConditions(SITE, sim, seed_override=8), task, options) != key
    assert task_key(SITE, CampConditions(SITE, sim), task, dataclasses.replace(options, mip_rel_gap=0.02)) != key
    (other,) = plan_tasks([Sizing(600.0, 1000.0, "cycle-charging")], options)
    assert task_key(SITE, CampConditions(SITE, sim), other, options) != key
    colder = dataclasses.replace(SITE, climate=dataclasses.replace(SITE.climate, ambient_temp_c=20.0))
    assert task_key(colder, CampConditions(colder, sim), task, options) != key


def test_the_2030_example_camp_is_the_study_answer_applied_to_the_example_camp():
    """sites/example-camp-2030.toml is the example camp re-sized as its study answered (PV 2400 kWp,
    battery 6000 kWh; the command and answer are in the file): same plant rules, same everything else."""
    import dataclasses

    from testkit import ROOT

    from microgrid.config import load_site

    planned = load_site(ROOT / "sites" / "example-camp-2030.toml")
    resized = resize_site(SITE, 2400.0, 6000.0)
    assert site_sizing(planned) == (2400.0, 6000.0)

    def plant(site):
        strip = lambda d: dataclasses.replace(d, modbus=None)  # noqa: E731 - its own ports
        return ([strip(a) for a in site.pv_arrays], [strip(b) for b in site.batteries],
                [strip(g) for g in site.gensets], site.location, site.reserve, site.climate, site.optimizer,
                site.headcount, site.costs, site.logistics)
    assert plant(planned) == plant(resized)
    assert planned.name == "malakal-2030"

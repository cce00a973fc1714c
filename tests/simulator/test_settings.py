"""The virtual camp's knobs: the [simulator] table, apart from the site model."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest
from testkit import EXAMPLE_SITE

from microgrid.config import site_from_dict
from microgrid.errors import ConfigError
from microgrid.simulator.settings import (
    SimulatorSettings,
    load_camp,
    load_simulator_settings,
    simulator_settings_from_dict,
)


def _raw() -> dict:
    return tomllib.loads(EXAMPLE_SITE.read_text())


def test_example_knobs_and_site_are_read_apart():
    site, sim = load_camp(EXAMPLE_SITE)
    assert sim == SimulatorSettings(seed=7, load_base_kw=300.0, load_peak_kw=600.0, load_peak_hour=15.0,
                                    load_noise_pct=3.0, fuel_tank_initial_pct=50.0)
    assert load_simulator_settings(EXAMPLE_SITE) == sim
    assert "simulator" not in {f.name for f in dataclasses.fields(site)}  # production code cannot reach it
    assert site.climate.clear_sky_index_mean == 0.8 and site.climate.ambient_temp_c == 30.0


def test_absent_table_gives_defaults_and_the_site_still_loads():
    raw = _raw()
    del raw["simulator"]
    assert simulator_settings_from_dict(raw) == SimulatorSettings()
    assert site_from_dict(raw, "x.toml").name == "malakal"


@pytest.mark.parametrize("table, key, words", [
    ({"seed": 1, "load_peek_kw": 600}, "simulator.load_peek_kw", "did you mean 'load_peak_kw'"),
    ({"load_base_kw": 700, "load_peak_kw": 600}, "simulator.load_base_kw", "must be ≤"),
    ({"load_noise_pct": 80}, "simulator.load_noise_pct", "out of range"),
    ({"ambient_temp_c": 30}, "simulator.ambient_temp_c", "move it to [climate]"),
])
def test_bad_knobs_name_file_and_key(table, key, words):
    raw = _raw()
    raw["simulator"] = table
    with pytest.raises(ConfigError) as err:
        simulator_settings_from_dict(raw, "camp.toml")
    assert err.value.path == "camp.toml" and err.value.key == key
    assert words in str(err.value)

"""Mission files: the example loads, bad ones name the file and key (or the site file's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from microgrid.errors import ConfigError
from microgrid.mission import load_mission

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "missions" / "example-mission.toml"


def test_the_example_mission():
    m = load_mission(EXAMPLE)
    assert (m.name, m.target_renewable_fraction_pct, m.target_year) == ("UNMISS", 80.0, 2030)
    names = [c.name for c in m.camps]
    assert names[:2] == ["malakal", "bor"] and len(set(names)) == len(names)
    assert len({round(c.location.latitude) for c in m.camps}) >= 2  # camps at different latitudes
    assert len({c.headcount for c in m.camps}) >= 2
    assert m.headcount == sum(c.headcount for c in m.camps)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mission.toml"
    path.write_text(text)
    return path


CAMP = f'[[camp]]\nsite_file = "{ROOT / "sites" / "example-camp.toml"}"\n'


@pytest.mark.parametrize("text,key,words", [
    ('[mission]\nname = "M"\ntarget_renewable_fraction_pct = 180\n' + CAMP, "mission.target_renewable_fraction_pct",
     "out of range: 180"),
    ('[mission]\nname = "M"\ntarget_yaer = 2030\n' + CAMP, "mission.target_yaer", "did you mean 'target_year'"),
    ('[mission]\nname = "M"\n[[camp]]\nsite_file = "nowhere.toml"\n', "camp[1].site_file", "not found"),
    ('[mission]\nname = "M"\n' + CAMP + CAMP, "camp[2].site_file", "site name 'malakal' is also the name of"),
    ('[mission]\nname = "M"\n', "camp", "is required but missing"),
    ('camp = []\n[mission]\nname = "M"\n', "camp", "a mission needs at least one [[camp]]"),
])
def test_bad_mission_files_name_the_key(tmp_path, text, key, words):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_mission(path)
    assert str(err.value).startswith(f"{path}: {key}: ") and words in str(err.value)


def test_a_bad_site_file_is_named_with_its_own_key(tmp_path):
    site = tmp_path / "camp.toml"
    site.write_text((ROOT / "sites" / "example-camp.toml").read_text().replace("headcount = 1000", "headcount = 0"))
    path = write(tmp_path, '[mission]\nname = "M"\n[[camp]]\nsite_file = "camp.toml"\n')
    with pytest.raises(ConfigError, match=rf"^{site}: site.headcount: out of range: 0"):
        load_mission(path)

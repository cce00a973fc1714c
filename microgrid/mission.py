"""Load and validate a mission file (TOML): the mission, its target and its camps.

A mission runs several camps; its environmental reporting and its renewable target are for all of
them (docs/architecture.md §13)::

    [mission]
    name = "UNMISS"
    target_renewable_fraction_pct = 80   # the UN's target ...
    target_year = 2030                   # ... by this year

    [[camp]]
    site_file = "../sites/example-camp.toml"   # relative to the mission file

Each camp is a site file; in a store shared by the camps (a central InfluxDB) a camp's readings
are those tagged with its site name (``[site] name`` of its file), so two camps may not share
a name. Errors name the mission file and the key, or the site file and its key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from microgrid.config import Key, TableReader, load_site, num, read_site_document
from microgrid.site import Site

__all__ = ["Mission", "load_mission"]

MISSION = {"name": Key(str), "target_renewable_fraction_pct": num(0, 100, 80.0),
           "target_year": Key(int, 2030, 2000, 2100)}
CAMP = {"site_file": Key(str)}
TOP = {"mission": Key(dict), "camp": Key(list)}


@dataclass(frozen=True)
class Mission:
    """A mission and its camps.

    Attributes
    ----------
    name : str
    target_renewable_fraction_pct : float
        Renewable fraction the mission aims at. [%]
    target_year : int
        Year it aims to reach it by.
    camps : tuple[Site, ...]
        The camps' site models, in file order.
    source : str
        The mission file.
    """

    name: str
    target_renewable_fraction_pct: float
    target_year: int
    camps: tuple[Site, ...]
    source: str = ""

    @property
    def headcount(self) -> int:
        """People on all camps."""
        return sum(c.headcount for c in self.camps)


def load_mission(path: str | Path) -> Mission:
    """Read a mission file and every site file it names.

    Raises
    ------
    ConfigError
        The mission file or a camp's site file is invalid (naming the file and key), a site file
        is missing (naming the mission file's ``camp[N].site_file``), or two camps share a site name.
    """
    path = Path(path)
    raw = read_site_document(path)
    r = TableReader(str(path))
    top = r.table(raw, TOP, "")
    m = r.table(top["mission"], MISSION, "mission")
    if not top["camp"]:
        raise r.fail("camp", "a mission needs at least one [[camp]]")
    camps: list[Site] = []
    for i, entry in enumerate(top["camp"], start=1):
        where = f"camp[{i}]"
        values = r.table(entry, CAMP, where)
        camps.append(_camp_site(r, path, values, where, camps))
    return Mission(name=m["name"], target_renewable_fraction_pct=float(m["target_renewable_fraction_pct"]),
                   target_year=int(m["target_year"]), camps=tuple(camps), source=str(path))


def _camp_site(r: TableReader, mission_path: Path, values: dict[str, Any], where: str,
               earlier: list[Site]) -> Site:
    file = Path(values["site_file"])
    site_path = file if file.is_absolute() else mission_path.parent / file
    if not site_path.is_file():
        raise r.fail(f"{where}.site_file", f"site file {str(site_path)!r} not found")
    site = load_site(site_path)
    for other in earlier:
        if other.name == site.name:
            raise r.fail(f"{where}.site_file", f"site name {site.name!r} is also the name of {other.source!r}; "
                         "each camp needs its own (it is the camp's tag in the store)")
    return site

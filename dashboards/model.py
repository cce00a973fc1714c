"""A small typed layer over Grafana 11 dashboard JSON (schemaVersion 39), InfluxQL targets only.

Frozen dataclasses describe what a dashboard shows; :meth:`Dashboard.to_json` turns them into
the JSON Grafana imports, assigning panel ids (1, 2, ... in order, so unique) and grid positions
(panels flow left to right in rows of 24 columns and never overlap). Every panel names its unit
(a Grafana unit id such as ``kwatt``, ``kwatth``, ``litre``, ``percent``, ``masst``, ``h``, or a
custom ``suffix:...`` unit); every target references the datasource by uid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

#: Grafana 11.x dashboard schema version.
SCHEMA_VERSION = 39
#: Width of Grafana's grid. [columns]
GRID_COLUMNS = 24

PanelKind = Literal["stat", "timeseries", "bargauge", "table", "state-timeline"]


@dataclass(frozen=True)
class Datasource:
    """A datasource reference: Grafana resolves it by ``uid``."""

    uid: str
    type: str = "influxdb"

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "uid": self.uid}


@dataclass(frozen=True)
class Target:
    """One raw InfluxQL query of a panel.

    Attributes
    ----------
    ref_id : str
        Grafana's query letter (``A``, ``B``, ...), unique within the panel.
    query : str
        InfluxQL with Grafana macros (``$timeFilter``, ``$__interval``, ``$site``...).
    alias : str
        Series name pattern (``$tag_device``, ``$col``); empty keeps InfluxDB's names.
    result_format : str
        ``time_series`` or ``table``.
    """

    ref_id: str
    query: str
    alias: str = ""
    result_format: Literal["time_series", "table"] = "time_series"

    def to_json(self, ds: Datasource) -> dict[str, Any]:
        out: dict[str, Any] = {"refId": self.ref_id, "datasource": ds.to_json(),
                               "query": self.query, "rawQuery": True,
                               "resultFormat": self.result_format}
        if self.alias:
            out["alias"] = self.alias
        return out


@dataclass(frozen=True)
class ValueText:
    """A value mapping: show ``text`` (in ``color``) for the exact value ``value``."""

    value: int | float
    text: str
    color: str = ""


@dataclass(frozen=True)
class DataLink:
    """A link on every value of a panel (Grafana data link), e.g. a drill-down to another dashboard;
    ``url`` may use Grafana's ``${__field.labels.<tag>}`` and ``${__url_time_range}``."""

    title: str
    url: str

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "url": self.url, "targetBlank": False}


@dataclass(frozen=True)
class FieldConfig:
    """``fieldConfig.defaults`` of a panel: unit, decimals, range, value mappings, thresholds,
    data links.

    ``thresholds`` are ``(value, color)`` steps above the base colour ``base_color``.
    """

    unit: str
    decimals: int | None = None
    min: float | None = None
    max: float | None = None
    mappings: tuple[ValueText, ...] = ()
    base_color: str = "green"
    thresholds: tuple[tuple[float, str], ...] = ()
    links: tuple[DataLink, ...] = ()

    def to_json(self, custom: Mapping[str, Any], color_by_thresholds: bool = True) -> dict[str, Any]:
        """``fieldConfig``; with thresholds, values take the threshold colours unless
        ``color_by_thresholds`` is False (time series: one palette colour per series, the
        thresholds drawn as lines)."""
        steps: list[dict[str, Any]] = [{"color": self.base_color, "value": None}]
        steps += [{"color": c, "value": v} for v, c in self.thresholds]
        d: dict[str, Any] = {"unit": self.unit, "color": {"mode": "palette-classic"},
                             "thresholds": {"mode": "absolute", "steps": steps},
                             "mappings": [], "custom": dict(custom)}
        if self.thresholds and color_by_thresholds:
            d["color"] = {"mode": "thresholds"}
        for key in ("decimals", "min", "max"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        if self.links:
            d["links"] = [link.to_json() for link in self.links]
        if self.mappings:
            d["mappings"] = [{"type": "value", "options": {
                str(m.value): {"text": m.text, "index": i, **({"color": m.color} if m.color else {})}
                for i, m in enumerate(self.mappings)}}]
        return {"defaults": d, "overrides": []}


@dataclass(frozen=True)
class Panel:
    """A panel: what it shows, its queries and its size on the grid.

    Attributes
    ----------
    title : str
    kind : PanelKind
    targets : tuple[Target, ...]
    field : FieldConfig
    w, h : int
        Width [grid columns, 1..24] and height [grid rows].
    description : str
        Tooltip text: what the number means and how it is computed.
    stacked : bool
        Time series: stack the series (energy by source).
    bars : bool
        Time series: draw bars (per-day values) instead of lines.
    steps : bool
        Time series: stepped lines (counts such as gensets online).
    reduce : str
        Stat / bar gauge reducer over each series (``lastNotNull``, ``sum``, ``mean``...).
    """

    title: str
    kind: PanelKind
    targets: tuple[Target, ...]
    field: FieldConfig
    w: int = 6
    h: int = 4
    description: str = ""
    stacked: bool = False
    bars: bool = False
    steps: bool = False
    reduce: str = "lastNotNull"

    def __post_init__(self) -> None:
        if not 1 <= self.w <= GRID_COLUMNS or self.h < 1:
            raise ValueError(f"panel {self.title!r}: size {self.w}x{self.h} outside the grid")
        refs = [t.ref_id for t in self.targets]
        if not refs or len(set(refs)) != len(refs):
            raise ValueError(f"panel {self.title!r}: needs targets with unique refIds, got {refs}")

    def to_json(self, panel_id: int, x: int, y: int, ds: Datasource) -> dict[str, Any]:
        return {"id": panel_id, "type": self.kind, "title": self.title,
                "description": self.description,
                "gridPos": {"x": x, "y": y, "w": self.w, "h": self.h},
                "datasource": ds.to_json(),
                "targets": [t.to_json(ds) for t in self.targets],
                "fieldConfig": self.field.to_json(self._custom(), self.kind != "timeseries"),
                "options": self._options()}

    def _custom(self) -> dict[str, Any]:
        if self.kind != "timeseries":
            return {}
        return {"drawStyle": "bars" if self.bars else "line",
                "lineInterpolation": "stepAfter" if self.steps else "linear",
                "fillOpacity": 80 if self.bars else (30 if self.stacked else 10),
                "lineWidth": 1, "showPoints": "never", "spanNulls": False,
                "stacking": {"mode": "normal" if self.stacked else "none", "group": "A"},
                # a series keeps its palette colour; the thresholds are drawn as dashed lines
                "thresholdsStyle": {"mode": "dashed" if self.field.thresholds else "off"}}

    def _options(self) -> dict[str, Any]:
        reduce = {"calcs": [self.reduce], "fields": "", "values": False}
        if self.kind == "stat":
            return {"reduceOptions": reduce, "colorMode": "value", "graphMode": "none",
                    "justifyMode": "auto", "orientation": "auto", "textMode": "auto"}
        if self.kind == "bargauge":
            return {"reduceOptions": reduce, "orientation": "horizontal",
                    "displayMode": "gradient", "showUnfilled": True}
        if self.kind == "table":
            return {"showHeader": True, "cellHeight": "sm"}
        if self.kind == "state-timeline":
            return {"showValue": "auto", "mergeValues": True, "rowHeight": 0.9,
                    "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}}
        return {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                "tooltip": {"mode": "multi", "sort": "none"}}


@dataclass(frozen=True)
class Row:
    """A full-width row header; the panels after it sit below it."""

    title: str


@dataclass(frozen=True)
class QueryVariable:
    """A template variable filled by an InfluxQL query (e.g. the ``$site`` tag values).

    ``multi`` lets several values be selected (Grafana then writes them as ``(a|b)`` in a regex);
    ``current`` is the pre-selected value, or values when ``multi``; ``include_all`` offers "All".
    """

    name: str
    label: str
    query: str
    current: str | tuple[str, ...] = ""
    multi: bool = False
    include_all: bool = False

    def to_json(self, ds: Datasource) -> dict[str, Any]:
        current: dict[str, Any] = {}
        if isinstance(self.current, tuple) and self.current:
            current = {"selected": True, "text": list(self.current), "value": list(self.current)}
        elif isinstance(self.current, str) and self.current:
            current = {"selected": True, "text": self.current, "value": self.current}
        return {"type": "query", "name": self.name, "label": self.label,
                "datasource": ds.to_json(), "query": self.query, "definition": self.query,
                "refresh": 1, "sort": 1, "multi": self.multi, "includeAll": self.include_all,
                "current": current, "options": [], "hide": 0, "regex": ""}


@dataclass(frozen=True)
class ConstantVariable:
    """A fixed value baked in at generation time (hidden), or an editable textbox."""

    name: str
    label: str
    value: str
    editable: bool = False

    def to_json(self, ds: Datasource) -> dict[str, Any]:
        opt = {"selected": True, "text": self.value, "value": self.value}
        return {"type": "textbox" if self.editable else "constant", "name": self.name,
                "label": self.label, "query": self.value, "current": opt, "options": [opt],
                "hide": 0 if self.editable else 2}


Variable = QueryVariable | ConstantVariable


@dataclass(frozen=True)
class Dashboard:
    """A whole dashboard.

    Attributes
    ----------
    uid : str
        Stable id (publishing twice updates the same dashboard).
    title : str
    items : tuple[Row | Panel, ...]
        In reading order; laid out by :func:`layout`.
    variables : tuple[Variable, ...]
    time_from, time_to : str
        Default time range, Grafana syntax (``now-24h``, ``now/M``).
    refresh : str
        Auto-refresh interval, empty for none.
    """

    uid: str
    title: str
    items: tuple[Row | Panel, ...]
    variables: tuple[Variable, ...] = ()
    tags: tuple[str, ...] = ("camp-microgrid",)
    description: str = ""
    time_from: str = "now-24h"
    time_to: str = "now"
    refresh: str = ""

    @property
    def panels(self) -> tuple[Panel, ...]:
        return tuple(p for p in self.items if isinstance(p, Panel))

    def to_json(self, ds: Datasource) -> dict[str, Any]:
        """The dashboard model Grafana 11 imports (``id`` None: Grafana assigns it)."""
        panels = []
        for panel_id, (item, x, y) in enumerate(layout(self.items), start=1):
            if isinstance(item, Row):
                panels.append({"id": panel_id, "type": "row", "title": item.title,
                               "collapsed": False, "panels": [],
                               "gridPos": {"x": 0, "y": y, "w": GRID_COLUMNS, "h": 1}})
            else:
                panels.append(item.to_json(panel_id, x, y, ds))
        return {"id": None, "uid": self.uid, "title": self.title,
                "description": self.description, "tags": list(self.tags),
                "timezone": "browser", "editable": True, "graphTooltip": 1,
                "schemaVersion": SCHEMA_VERSION, "version": 1,
                "time": {"from": self.time_from, "to": self.time_to}, "refresh": self.refresh,
                "templating": {"list": [v.to_json(ds) for v in self.variables]},
                "annotations": {"list": []}, "panels": panels,
                "links": [{"type": "dashboards", "tags": [self.tags[0]], "asDropdown": False,
                           "includeVars": True, "keepTime": True, "title": "Camp dashboards",
                           "icon": "external link", "targetBlank": False}] if self.tags else []}


def layout(items: Sequence[Row | Panel]) -> list[tuple[Row | Panel, int, int]]:
    """Grid positions: panels flow left to right; a full line or a :class:`Row` starts a new one.

    Returns ``(item, x, y)`` per item. Lines are as tall as their tallest panel, so no two
    panels overlap and every panel stays within the 24 columns.
    """
    out: list[tuple[Row | Panel, int, int]] = []
    x = y = line_h = 0
    for item in items:
        if isinstance(item, Row):
            y, x, line_h = y + line_h, 0, 0
            out.append((item, 0, y))
            y += 1
            continue
        if x + item.w > GRID_COLUMNS:
            y, x, line_h = y + line_h, 0, 0
        out.append((item, x, y))
        x, line_h = x + item.w, max(line_h, item.h)
    return out

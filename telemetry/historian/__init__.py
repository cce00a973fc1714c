"""The historian: readings in, InfluxQL-semantics queries out (docs/architecture.md §4, §5).

Backends: :class:`SQLiteHistorian` (embedded default), :class:`InfluxV1Historian`,
:class:`InfluxV2Historian`; :class:`SpooledHistorian` puts a durable store-and-forward spool in
front of any of them; :class:`TieredHistorian` keeps raw readings for a while and their
roll-ups for good (:class:`RetentionPolicy`). :func:`open_historian` opens one from a spec such as
``sqlite:///data/historian.db`` or ``influx1://127.0.0.1:8086/microgrid?spool=spool.db``.
"""

from telemetry.historian.base import (
                                      AGGREGATIONS,
                                      Historian,
                                      HistorianAuthError,
                                      HistorianUnavailable,
                                      QuerySpec,
                                      WriteRejected,
)
from telemetry.historian.factory import open_historian
from telemetry.historian.influx import InfluxV1Historian, InfluxV2Historian
from telemetry.historian.lineprotocol import LineEncoder, encode_readings, parse_lines
from telemetry.historian.rollup import RetentionPolicy
from telemetry.historian.spool import Spool, SpoolDepth, SpooledHistorian
from telemetry.historian.sqlite import SQLiteHistorian
from telemetry.historian.tiered import TieredHistorian

__all__ = ["AGGREGATIONS", "Historian", "HistorianAuthError", "HistorianUnavailable",
           "InfluxV1Historian", "InfluxV2Historian", "LineEncoder", "QuerySpec", "RetentionPolicy",
           "SQLiteHistorian", "Spool", "SpoolDepth", "SpooledHistorian", "TieredHistorian", "WriteRejected",
           "encode_readings", "open_historian", "parse_lines"]

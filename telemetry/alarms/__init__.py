"""Alarms: what needs an engineer now (docs/architecture.md §12).

- :mod:`~telemetry.alarms.engine`: the one alarm shape (``alarm`` readings: tags ``site``,
  ``device``, ``code``; fields ``active``, ``severity``, ``value``) and the state machine that
  raises and clears alarms from what each rule finds active;
- :mod:`~telemetry.alarms.device`: alarms the devices report themselves, decoded to names from
  their published documents (SunSpec 103 ``Evt1``, 701 ``Alrm``, 713 ``Sta``, 802 ``Evt1``; DSE
  GenComm page 8; Victron's battery ``/Alarms/*`` and tank ``/Status``);
- :mod:`~telemetry.alarms.rules`: the derived rules over the latest readings, the plan, the
  fuel balance and the service's own state;
- :mod:`~telemetry.alarms.history`: raised and cleared alarms read back from any store.

Pure apart from :mod:`~telemetry.alarms.history`, which reads through the historian contract.
"""

from telemetry.alarms.engine import (
    SEVERITY_CRITICAL,
    SEVERITY_INFO,
    SEVERITY_WARNING,
    Alarm,
    AlarmEngine,
    Condition,
    alarm_reading,
)

__all__ = ["SEVERITY_CRITICAL", "SEVERITY_INFO", "SEVERITY_WARNING", "Alarm", "AlarmEngine", "Condition",
           "alarm_reading"]

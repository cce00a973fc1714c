"""The virtual camp: camp state advanced with a clock, read and commanded like real devices.

:class:`VirtualCamp` holds the :class:`~microgrid.plant.CampState` and the
:class:`~microgrid.plant.Setpoints` control has written; its physics is the kernel's step model
(:func:`~microgrid.plant.dispatch_step`). Whenever it is read or
commanded it first advances the physics from the last simulated instant to ``clock.now()`` in
fixed sub-steps (``step_s``), with conditions generated on the fly one UTC day at a time (the
same values :func:`generate_conditions` gives for that seed). Setpoints with a revert time fall
back to the device default when not rewritten in time, so a dead supervisor leaves the devices
in their own safe mode: PV limits to 100 %, battery limits to rated, gensets to auto.

Device views (:meth:`VirtualCamp.device_values`) use the field names of docs/architecture.md §4.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from microgrid.clock import Clock
from microgrid.errors import DeviceError
from microgrid.plant import GENSET_MODES, CampState, Setpoints, StepResult, dispatch_step
from microgrid.plant.conditions import pv_column
from microgrid.simulator.conditions import generate_conditions
from microgrid.simulator.devices import CampSnapshot, DeviceViews
from microgrid.simulator.fuel import FuelDepot
from microgrid.simulator.settings import SimulatorSettings
from microgrid.site import Battery, Genset, PvArray, Site


class CommandError(DeviceError, ValueError):
    """A setpoint write the device refuses (unknown point, value out of range)."""


class VirtualCamp:
    """A whole camp's devices, driven by physics and a clock.

    Parameters
    ----------
    site : Site
    sim : SimulatorSettings
        The virtual camp's knobs (load model, seed).
    clock : Clock
        Time source; the camp is simulated up to ``clock.now()`` whenever it is used.
    seed : int, optional
        Seed of clouds and load noise (default ``sim.seed``).
    step_s : float
        Physics sub-step. [s]
    genset_revert_s : float | None
        Heartbeat of supervisory genset modes: a ``run``/``stop`` not rewritten within this
        time returns the controller to ``auto``. None or 0 = never. [s]
    initial_counters : bool
        Start lifetime counters (PV and meter energy, genset run hours, starts, energy) at
        plausible non-zero readings, as on a camp in service; False starts them at 0.
    """

    def __init__(self, site: Site, sim: SimulatorSettings, clock: Clock, *, seed: int | None = None,
                 step_s: float = 60.0, genset_revert_s: float | None = 300.0, initial_counters: bool = True):
        if not step_s > 0:
            raise ValueError(f"step_s must be > 0, got {step_s!r}")
        self.site = site
        self.sim = sim
        self.clock = clock
        self.seed = sim.seed if seed is None else int(seed)
        self.step_s = float(step_s)
        self.genset_revert_s = genset_revert_s
        self.state = CampState.initial(site)
        self.setpoints = Setpoints.default(site)
        self.time: datetime = clock.now().astimezone(timezone.utc)  #: simulated up to here
        #: bulk and day tanks, deliveries, the leak (docs/architecture.md §12)
        self.fuel = FuelDepot(site, sim, self.time, self.seed)
        #: alarms the devices report themselves: ``{device: {code: severity}}`` (:meth:`raise_alarm`)
        self.device_alarms: dict[str, dict[str, int]] = {}
        #: a disturbance of the camp grid: frequency offset [Hz] and voltage offset [%]
        self.grid_offset: tuple[float, float] = (0.0, 0.0)
        self.pv_revert_s = {a.name: 0.0 for a in site.pv_arrays}
        self.battery_revert_s = {b.name: 0.0 for b in site.batteries}
        self._expiry: dict[tuple[str, str], datetime] = {}
        self._cache: OrderedDict[datetime, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._views = DeviceViews(site, sim, initial_counters)
        load, pv = self._conditions_at(self.time)
        _, self.last_step = dispatch_step(site, self.state, load, pv, self.setpoints, self.step_s / 3600)

    # ----------------------------------------------------------------------------- time
    def advance(self) -> StepResult:
        """Simulate from the last simulated instant up to ``clock.now()``; return the last step.

        Whole sub-steps only: up to ``step_s`` of time stays pending for the next call.
        Revert timers are checked at every sub-step and at ``now``.
        """
        now = self.clock.now()
        step = timedelta(seconds=self.step_s)
        dt_h = self.step_s / 3600.0
        while self.time + step <= now:
            self._apply_reverts(self.time)
            load, pv = self._conditions_at(self.time)
            self.state, self.last_step = dispatch_step(self.site, self.state, load, pv,
                                                       self.setpoints, dt_h)
            self.fuel.step(self.time, self.step_s, self.last_step.fuel_l)
            self.time += step
        self._apply_reverts(now)
        return self.last_step

    def _conditions_at(self, t: datetime) -> tuple[float, dict[str, float]]:
        """Load and available PV for the minute containing ``t``. [kW]"""
        day = t.replace(hour=0, minute=0, second=0, microsecond=0)
        if day not in self._cache:
            df = generate_conditions(self.site, self.sim, day, 1440, 1.0, self.seed)
            pv = np.column_stack([df[pv_column(a.name)].to_numpy() for a in self.site.pv_arrays]
                                 ) if self.site.pv_arrays else np.zeros((1440, 0))
            self._cache[day] = (df["load_kw"].to_numpy(), pv)
            while len(self._cache) > 3:
                self._cache.popitem(last=False)
        load, pv = self._cache[day]
        i = min(int((t - day).total_seconds() // 60), 1439)
        return float(load[i]), {a.name: float(pv[i, j]) for j, a in enumerate(self.site.pv_arrays)}

    # ------------------------------------------------------------------------- faults
    def raise_alarm(self, device: str, code: str, severity: int = 2) -> None:
        """Make ``device`` report its own alarm ``code`` (an alarm code of its profile, e.g.
        ``sunspec_over_temp`` or ``dse_low_oil_pressure``) until :meth:`clear_alarm`."""
        self.site.device(device)  # KeyError for an unknown device
        self.device_alarms.setdefault(device, {})[code] = int(severity)

    def clear_alarm(self, device: str, code: str | None = None) -> None:
        """Stop reporting ``code`` (every alarm of the device when None)."""
        if code is None:
            self.device_alarms.pop(device, None)
        else:
            self.device_alarms.get(device, {}).pop(code, None)

    # ------------------------------------------------------------------------- setpoints
    def _apply_reverts(self, t: datetime) -> None:
        if not self._expiry or min(self._expiry.values()) > t:
            return
        for (name, point), when in list(self._expiry.items()):
            if when <= t:
                del self._expiry[(name, point)]
                self._revert(name, point)

    def _revert(self, name: str, point: str) -> None:
        sp = self.setpoints
        if point == "power_limit_pct":
            self.setpoints = sp.with_(pv_limit_pct={name: 100.0})
        elif point == "limits":
            self.setpoints = sp.with_(battery_charge_limit_kw={name: None},
                                      battery_discharge_limit_kw={name: None})
        elif point == "mode":
            self.setpoints = sp.with_(genset_mode={name: "auto"}, genset_kw={name: None})

    def _arm(self, name: str, point: str, revert_s: float | None) -> None:
        if revert_s and revert_s > 0:
            self._expiry[(name, point)] = self.clock.now() + timedelta(seconds=revert_s)
        else:
            self._expiry.pop((name, point), None)

    def command(self, name: str, point: str, value: Any) -> None:
        """Apply a setpoint write, as the device would.

        Points: PV ``power_limit_pct`` [0..100 %], ``power_limit_revert_s`` [s, 0 = never];
        genset ``mode`` ("auto", "run", "stop"), ``base_load_kw`` [kW, 0/None = share load];
        battery ``charge_limit_kw``, ``discharge_limit_kw`` [kW, None = rated],
        ``limits_revert_s`` [s, 0 = never]. A limit write (re)starts its revert timer.

        Raises
        ------
        CommandError
            Unknown device or point, or a value the device refuses.
        """
        try:
            device = self.site.device(name)
        except KeyError:
            raise CommandError(f"no such device in site {self.site.name!r}", device=name) from None
        self.advance()  # the physics up to now ran with the previous setpoints
        if isinstance(device, PvArray):
            self._command_pv(device, point, value)
        elif isinstance(device, Genset):
            self._command_genset(device, point, value)
        elif isinstance(device, Battery):
            self._command_battery(device, point, value)
        else:
            raise CommandError(f"point {point!r} is not writable on a load meter", device=name)

    def _command_pv(self, a: PvArray, point: str, value: Any) -> None:
        if point == "power_limit_pct":
            v = _number(a.name, point, value, 0.0, 100.0)
            self.setpoints = self.setpoints.with_(pv_limit_pct={a.name: v})
            self._arm(a.name, point, self.pv_revert_s[a.name] if v < 100.0 else 0.0)
        elif point == "power_limit_revert_s":
            self.pv_revert_s[a.name] = _number(a.name, point, value, 0.0, math.inf)
            limited = self.setpoints.pv_limit_pct.get(a.name, 100.0) < 100.0
            self._arm(a.name, "power_limit_pct", self.pv_revert_s[a.name] if limited else 0.0)
        else:
            raise CommandError(f"point {point!r} is not writable on a PV inverter", device=a.name)

    def _command_genset(self, g: Genset, point: str, value: Any) -> None:
        if point == "mode":
            if value not in GENSET_MODES:
                raise CommandError(f"mode must be one of {GENSET_MODES}, got {value!r}", device=g.name)
            self.setpoints = self.setpoints.with_(genset_mode={g.name: value})
            if value == "auto":
                self.setpoints = self.setpoints.with_(genset_kw={g.name: None})
            self._arm(g.name, point, self.genset_revert_s if value != "auto" else 0.0)
        elif point == "base_load_kw":
            v = None if value is None else _number(g.name, point, value, 0.0, math.inf)
            self.setpoints = self.setpoints.with_(genset_kw={g.name: v if v else None})
        else:
            raise CommandError(f"point {point!r} is not writable on a genset", device=g.name)

    def _command_battery(self, b: Battery, point: str, value: Any) -> None:
        if point in ("charge_limit_kw", "discharge_limit_kw"):
            v = None if value is None else _number(b.name, point, value, 0.0, math.inf)
            key = "battery_" + point
            self.setpoints = self.setpoints.with_(**{key: {b.name: v}})
            self._arm(b.name, "limits", self.battery_revert_s[b.name] if self._limited(b) else 0.0)
        elif point == "limits_revert_s":
            self.battery_revert_s[b.name] = _number(b.name, point, value, 0.0, math.inf)
            self._arm(b.name, "limits", self.battery_revert_s[b.name] if self._limited(b) else 0.0)
        else:
            raise CommandError(f"point {point!r} is not writable on a battery", device=b.name)

    def _limited(self, b: Battery) -> bool:
        ch = self.setpoints.battery_charge_limit_kw.get(b.name)
        dis = self.setpoints.battery_discharge_limit_kw.get(b.name)
        return (ch is not None and ch < b.charge_power_kw) or (dis is not None and dis < b.discharge_power_kw)

    # --------------------------------------------------------------------------- reading
    def device_values(self, name: str) -> dict[str, float | str | None]:
        """Current readings of a device in docs/architecture.md §4 field names (after advancing to now).

        pv_inverter: ``ac_power_kw``, ``energy_total_kwh``, ``power_limit_pct``,
        ``power_limit_revert_s``, ``status`` (SunSpec St: 2 sleeping, 4 MPPT, 5 throttled);
        battery: ``power_kw`` (+ discharge), ``soc_pct``, ``soh_pct``, ``voltage_v``, ``temp_c``,
        ``charge_limit_kw``, ``discharge_limit_kw``, ``limits_revert_s``; genset: ``power_kw``,
        ``running`` (0/1), ``load_pct``, ``fuel_rate_lph``, ``fuel_level_pct``, ``run_hours_h``,
        ``starts``, ``energy_total_kwh``, ``fuel_total_l``, ``mode`` ("auto"/"run"/"stop"),
        ``base_load_kw`` (0 = sharing); load_meter: ``power_kw``, ``energy_total_kwh``; fuel_tank:
        ``capacity_l``, ``level_pct``, ``volume_l``, ``gauge_status``, ``fluid_type``. Every device
        also has ``alarms``: ``{code: severity}`` it reports itself (:meth:`raise_alarm`).
        """
        try:
            device = self.site.device(name)
        except KeyError:
            raise DeviceError(f"no such device in site {self.site.name!r}", device=name) from None
        self.advance()
        return self._views.values(device, self.snapshot())

    def snapshot(self) -> CampSnapshot:
        """What the devices can report now (without advancing the physics)."""
        return CampSnapshot(state=self.state, step=self.last_step, setpoints=self.setpoints,
                            tank_l=dict(self.fuel.day_l), pv_revert_s=dict(self.pv_revert_s),
                            battery_revert_s=dict(self.battery_revert_s),
                            gauge_l={t.name: self.fuel.gauge_l(t.name, self.time) for t in self.site.fuel_tanks},
                            grid_offset=self.grid_offset, device_alarms=self.device_alarms)

    @property
    def totals(self) -> dict[str, float]:
        """Cumulative camp totals since construction, for demo summaries. [kWh, L, h]"""
        return DeviceViews.totals(self.state)


def _number(device: str, point: str, value: Any, low: float, high: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise CommandError(f"{point} must be a number, got {value!r}", device=device) from None
    if not (low <= v <= high):
        raise CommandError(f"{point} = {v} outside [{low}, {high}]", device=device)
    return v

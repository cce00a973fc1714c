"""The site model: one frozen, typed dataclass per device kind.

Built once by :func:`microgrid.config.load_site` from a TOML site file; nothing past the
loader sees a raw dict. Units are in the field names; battery power positive = discharge.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Literal, TypeAlias

ControlMode = Literal["dry_run", "enabled"]
DRY_RUN: ControlMode = "dry_run"  #: advisory: control decides and records, writes nothing
ENABLED: ControlMode = "enabled"  #: control writes setpoints to the devices
CONTROL_MODES: tuple[ControlMode, ...] = (DRY_RUN, ENABLED)
HorizonEnd = Literal["value", "start_soc"]
HORIZON_ENDS: tuple[HorizonEnd, ...] = ("value", "start_soc")  #: ``optimizer.horizon_end`` values


Parity = Literal["N", "E", "O"]
Framer = Literal["socket", "rtu"]


@dataclass(frozen=True)
class SerialLine:
    """An RS-485 / RS-232 line that Modbus RTU devices share (one bus, one setting).

    Attributes
    ----------
    port : str
        Serial device, e.g. ``/dev/ttyUSB0``.
    baudrate : int
        Line speed. [bit/s]
    parity : {"N", "E", "O"}
        None, even or odd.
    stopbits : int
        1 or 2.
    bytesize : int
        Data bits per character, 7 or 8.
    """

    port: str
    baudrate: int = 9600
    parity: Parity = "N"
    stopbits: int = 1
    bytesize: int = 8

    @property
    def char_bits(self) -> int:
        """Bits on the wire per character: start + data + parity + stop bits."""
        return 1 + self.bytesize + (0 if self.parity == "N" else 1) + self.stopbits


@dataclass(frozen=True)
class ModbusEndpoint:
    """Where a device answers and which register profile it speaks.

    A device is reached over TCP (``host``/``port``, Modbus TCP framing or, with
    ``framer = "rtu"``, RTU frames through a serial-to-Ethernet gateway) or on a serial line
    (``serial``; ``host`` is empty and ``port`` 0). Devices with the same :attr:`link` share one
    connection and take turns (docs/architecture.md §2).

    Attributes
    ----------
    host : str
        Host name or IP of the Modbus TCP server (gateway or device); "" on a serial line.
    port : int
        TCP port [1..65535]; 0 on a serial line.
    unit_id : int
        Modbus unit (device) id. [0..247]
    profile : str
        Register profile name: a data file in ``telemetry/profiles/`` (e.g. ``sunspec_inverter``).
    poll_interval_s : float
        Poll interval of this device. [s]
    timeout_s : float
        Request timeout. [s]
    framer : {"socket", "rtu"}
        Frames on TCP: Modbus TCP (MBAP header) or RTU (CRC, no header); always "rtu" on a
        serial line.
    serial : SerialLine or None
        The serial line, or None for TCP.
    retries : int
        Tries after a failed poll before the device is reported offline.
    request_pause_s : float
        Pause between two requests on this link (some gateways need one). [s]
    block_every_s : float or None
        Longest time between two reads of the profile's read blocks on this device (its slowly
        changing or gated registers, ``telemetry.readblocks``); None: the profile's. [s]
    """

    host: str
    port: int
    unit_id: int
    profile: str
    poll_interval_s: float = 5.0
    timeout_s: float = 1.0
    framer: Framer = "socket"
    serial: SerialLine | None = None
    retries: int = 1
    request_pause_s: float = 0.0
    block_every_s: float | None = None

    @property
    def link(self) -> str:
        """The connection this device is reached through: ``host:port`` (``rtu+tcp://`` prefix
        for RTU framing) or ``serial:/dev/ttyUSB0``; devices with the same link share it."""
        if self.serial is not None:
            return f"serial:{self.serial.port}"
        prefix = "rtu+tcp://" if self.framer == "rtu" else ""
        return f"{prefix}{self.host}:{self.port}"


@dataclass(frozen=True)
class Location:
    latitude: float  #: [° N]
    longitude: float  #: [° E]
    altitude_m: float  #: [m]
    timezone: str  #: IANA name, used for display and reporting only


@dataclass(frozen=True)
class PvArray:
    """A PV array and the inverter serving it."""

    name: str
    kwp: float  #: DC nameplate. [kWp]
    inverter_kw: float  #: AC rating of the inverter. [kW]
    tilt_deg: float  #: [°]
    azimuth_deg: float  #: 180 = south. [°]
    losses_pct: float  #: PVWatts system losses. [%]
    gamma_pdc_per_c: float  #: temperature coefficient of power. [1/°C]
    modbus: ModbusEndpoint


@dataclass(frozen=True)
class Battery:
    """A battery with its grid-forming inverter."""

    name: str
    capacity_kwh: float  #: usable nameplate energy. [kWh]
    charge_power_kw: float  #: max charge power (positive number). [kW]
    discharge_power_kw: float  #: max discharge power. [kW]
    soc_min_pct: float  #: [%]
    soc_max_pct: float  #: [%]
    charge_efficiency: float  #: (0, 1]
    discharge_efficiency: float  #: (0, 1]
    wear_cost_l_per_kwh: float  #: wear cost per kWh of throughput, in litres of diesel equivalent. [L/kWh]
    initial_soc_pct: float  #: SOC the simulator starts with. [%]
    modbus: ModbusEndpoint

    def soc_after_pct(self, soc_pct: float, power_kw: float, dt_h: float) -> float:
        """SOC at the end of a step of constant power (+ discharge). [%]

        Charging stores ``charge_efficiency`` of the power drawn; discharging draws
        ``power / discharge_efficiency`` from storage. The one SOC rule of the physics, the
        optimizer's plans and the baselines.
        """
        if power_kw >= 0:
            delta_kwh = -power_kw / self.discharge_efficiency * dt_h
        else:
            delta_kwh = -power_kw * self.charge_efficiency * dt_h
        return soc_pct + 100.0 * delta_kwh / self.capacity_kwh


@dataclass(frozen=True)
class Genset:
    """A diesel generator with HOMER's linear fuel curve F = F0·Prated·on + F1·P."""

    name: str
    rated_kw: float  #: [kW]
    min_load_pct: float  #: [%]
    fuel_f0_l_per_kwh_rated: float  #: HOMER intercept F0. [L/h per kW rated]
    fuel_f1_l_per_kwh: float  #: HOMER slope F1. [L/kWh]
    min_up_min: float  #: [min]
    min_down_min: float  #: [min]
    start_cost_l: float  #: start penalty in litres of diesel equivalent. [L]
    tank_l: float  #: day tank size, for the fuel level the simulator serves. [L]
    modbus: ModbusEndpoint

    @property
    def min_kw(self) -> float:
        """Minimum loading while running. [kW]"""
        return self.rated_kw * self.min_load_pct / 100.0

    def fuel_l(self, energy_kwh: float, run_h: float) -> float:
        """Fuel burnt making ``energy_kwh`` while running ``run_h`` hours: HOMER's linear curve
        integrated, ``F0·P_rated·run_h + F1·energy``. Numbers, arrays or linear model expressions.
        The one fuel rule of the physics, the plans, the baselines and the accounting. [L]"""
        return self.fuel_f0_l_per_kwh_rated * self.rated_kw * run_h + self.fuel_f1_l_per_kwh * energy_kwh

    def fuel_rate_lph(self, power_kw: float, on: bool | float = True) -> float:
        """Fuel rate by the linear curve at ``power_kw`` (``on``: running, 0/1). [L/h]"""
        return self.fuel_l(power_kw, on)


@dataclass(frozen=True)
class LoadMeter:
    """A meter measuring camp load."""

    name: str
    modbus: ModbusEndpoint


@dataclass(frozen=True)
class FuelTank:
    """A bulk diesel tank with a level gauge read over Modbus (docs/architecture.md §12).

    The gensets' day tanks are not listed here: their contents are ``tank_l`` times the
    ``fuel_level_pct`` each genset controller reports.
    """

    name: str
    capacity_l: float  #: usable volume. [L]
    gauge_tolerance_l: float  #: the gauge's accuracy, ± this many litres. [L]
    modbus: ModbusEndpoint


@dataclass(frozen=True)
class AlarmSettings:
    """The site's thresholds of the derived alarms (docs/architecture.md §12)."""

    offline_after_s: float = 60.0  #: a device not answering this long is offline. [s]
    wet_stacking_min: float = 60.0  #: a genset running below its minimum load this long. [min]
    soc_floor_pct: float | None = None  #: a battery's SOC below this (None: its own soc_min_pct). [%]
    autonomy_min_days: float = 7.0  #: days of diesel left below this. [d]
    fallback_cycles: int = 3  #: this many plans in a row from the fallback rule. [-]
    spool_backlog_points: int = 100_000  #: readings waiting in the spool above this. [-]
    frequency_band_hz: tuple[float, float] = (49.0, 51.0)  #: AC frequency outside. [Hz]
    voltage_band_v: tuple[float, float] = (360.0, 440.0)  #: a line-to-line voltage outside. [V]
    fuel_loss_window_h: float = 12.0  #: window of the unexplained-loss balance. [h]


@dataclass(frozen=True)
class ReserveRule:
    """HOMER operating-reserve rule: headroom ≥ load_pct % of load + pv_pct % of PV."""

    load_pct: float  #: [%]
    pv_pct: float  #: [%]


@dataclass(frozen=True)
class Climate:
    """The site's climatology: what the PV forecast falls back to over its horizon, and the mean
    the virtual camp's weather is drawn around."""

    clear_sky_index_mean: float  #: climatological mean clear-sky index. [0..1]
    cloud_variability: float  #: standard deviation of the clear-sky index. [0..1]
    ambient_temp_c: float  #: mean air temperature. [°C]


@dataclass(frozen=True)
class ForecastSettings:
    """How the service forecasts."""

    #: Load the plan assumes while no load has been measured yet (a new camp, its meter offline).
    #: None: no plan until a load is measured; the devices stay in their own automatic mode. [kW]
    cold_start_load_kw: float | None = None


@dataclass(frozen=True)
class Costs:
    """What building and running the camp's plant costs: the inputs of sizing studies
    (docs/architecture.md §13)."""

    pv_usd_per_kwp: float  #: installed PV, per kWp DC. [USD/kWp]
    battery_usd_per_kwh: float  #: installed battery, per kWh of usable capacity. [USD/kWh]
    diesel_usd_per_l: float  #: diesel delivered to the camp (fuel, transport, escort). [USD/L]


@dataclass(frozen=True)
class Logistics:
    """How diesel reaches the camp (docs/architecture.md §12, §13)."""

    tanker_size_l: float  #: litres one tanker (one convoy delivery) brings. [L]


@dataclass(frozen=True)
class OptimizerSettings:
    horizon_h: float  #: planning horizon. [h]
    step_min: int  #: fine step. [min]
    fine_horizon_h: float  #: first part of the horizon at the fine step; the rest hourly. [h]
    mip_rel_gap: float  #: relative MIP gap. [fraction]
    time_limit_s: float  #: [s]
    terminal_soc_pct: float | None  #: SOC required at the horizon end; None = initial SOC. [%]
    shed_penalty_l_per_kwh: float  #: penalty for unserved load. [L/kWh]
    curtail_penalty_l_per_kwh: float  #: small penalty for curtailed PV. [L/kWh]
    reserve_shortfall_penalty_l_per_kwh: float  #: penalty for unmet reserve. [L/kWh]
    #: part of the horizon at hourly steps or finer; beyond it, 2-h blocks. None = the whole
    #: horizon (no 2-h blocks). [h]
    hourly_horizon_h: float | None = None
    #: how the horizon ends when ``terminal_soc_pct`` is None: ``"value"`` — the stored energy
    #: gained or used up over the horizon is worth ``stored_energy_value_l_per_kwh`` (no hard
    #: target); ``"start_soc"`` — the end SOC must be at least the start SOC.
    horizon_end: HorizonEnd = "value"
    #: diesel worth of one kWh stored at the horizon's end; None = the cheapest genset marginal
    #: rate F1 divided by the battery's charge efficiency (how the backtest counts stored energy). [L/kWh]
    stored_energy_value_l_per_kwh: float | None = None
    #: commitment in whole units (binary on/off) up to here; beyond it, units may run in fractions
    #: (an LP relaxation: the far horizon prices stored energy without slowing the solve, and the
    #: plan's tail is completed afterwards with whole units). None = the whole horizon. [h]
    integer_horizon_h: float | None = None
    #: the PV forecast quantile the plan trusts: 50 = the median forecast; above 50 the plan
    #: expects a sunnier sky, interpolated between the forecast's p50 and p90 (below 50, between
    #: its p10 and p50). [%]
    pv_forecast_pct: float = 50.0


@dataclass(frozen=True)
class Site:
    """The whole camp."""

    name: str
    mission: str
    headcount: int
    location: Location
    emission_factor_kg_per_l: float  #: [kg CO2 / L diesel]
    reserve: ReserveRule
    control_mode: ControlMode
    pv_arrays: tuple[PvArray, ...]
    batteries: tuple[Battery, ...]
    gensets: tuple[Genset, ...]
    load_meters: tuple[LoadMeter, ...]
    climate: Climate
    optimizer: OptimizerSettings
    forecast: ForecastSettings = field(default_factory=ForecastSettings)
    costs: Costs | None = None  #: ``[costs]``; None when the site file has none
    logistics: Logistics | None = None  #: ``[logistics]``; None when the site file has none
    fuel_tanks: tuple[FuelTank, ...] = ()  #: ``[[fuel_tank]]``: bulk tanks with a gauge
    alarms: AlarmSettings = field(default_factory=AlarmSettings)  #: ``[alarms]`` thresholds
    source: str = field(default="", compare=False)  #: file the site was loaded from

    @property
    def devices(self) -> tuple[Device, ...]:
        """Every device, in file order by kind."""
        return (*self.pv_arrays, *self.batteries, *self.gensets, *self.load_meters, *self.fuel_tanks)

    def with_devices(self, change: Callable[[Any], Any]) -> Site:
        """A copy of the site with ``change(device)`` in place of every device (each device
        kind keeps its own type: e.g. its ``modbus`` endpoint moved)."""
        return replace(self, pv_arrays=tuple(map(change, self.pv_arrays)),
                       batteries=tuple(map(change, self.batteries)), gensets=tuple(map(change, self.gensets)),
                       load_meters=tuple(map(change, self.load_meters)),
                       fuel_tanks=tuple(map(change, self.fuel_tanks)))

    def device(self, name: str) -> Device:
        for d in self.devices:
            if d.name == name:
                return d
        raise KeyError(name)

    @property
    def pv_kwp(self) -> float:
        return sum(a.kwp for a in self.pv_arrays)

    @property
    def genset_kw(self) -> float:
        return sum(g.rated_kw for g in self.gensets)


Device: TypeAlias = PvArray | Battery | Genset | LoadMeter | FuelTank


def device_kind(device: Device) -> str:
    """The measurement name (docs/architecture.md §4) of a device's readings."""
    return {PvArray: "pv_inverter", Battery: "battery", Genset: "genset",
            LoadMeter: "load_meter", FuelTank: "fuel_tank"}[type(device)]

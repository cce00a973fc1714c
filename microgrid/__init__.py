"""camp-microgrid: monitoring and dispatch optimization for a camp's PV/battery/diesel microgrid."""

__version__ = "0.1.0"

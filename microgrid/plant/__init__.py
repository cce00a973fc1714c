"""The plant kernel: the one home of the camp's physical rules (docs/architecture.md §1).

Pure functions and frozen dataclasses, units in names, on the standard library, numpy and pandas:

- :mod:`~microgrid.plant.vocabulary`: :class:`Setpoints` and the genset modes;
- :mod:`~microgrid.plant.battery`: limits of a step, the SOC update, capacity-weighted SOC, the
  battery's reserve, stored energy used up;
- :mod:`~microgrid.plant.gensets`: base loads, load sharing, unit choice, the diesel-only camp;
- :mod:`~microgrid.plant.reserve`: the operating-reserve rule;
- :mod:`~microgrid.plant.bucket`: the 15-min accounting bucket;
- :mod:`~microgrid.plant.conditions`: the conditions frame and its source protocol;
- :mod:`~microgrid.plant.nameplate`: ratings as register-profile fields;
- :mod:`~microgrid.plant.state`, :mod:`~microgrid.plant.autostart`, :mod:`~microgrid.plant.step`:
  the step model the backtest and the virtual camp both run.

The fuel curve and the SOC change of a step are methods of the site model
(:meth:`microgrid.site.Genset.fuel_l`, :meth:`microgrid.site.Battery.soc_after_pct`).
"""

from microgrid.plant.autostart import AutoStartRule
from microgrid.plant.state import INITIAL_STATE_MIN, CampState, StepResult
from microgrid.plant.step import dispatch_step
from microgrid.plant.vocabulary import GENSET_MODES, GensetMode, Setpoints

__all__ = ["GENSET_MODES", "INITIAL_STATE_MIN", "AutoStartRule", "CampState", "GensetMode", "Setpoints",
           "StepResult", "dispatch_step"]

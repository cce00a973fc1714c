"""Sizing studies: what PV and battery a camp needs, measured with the camp's own dispatch.

Every combination of PV size, battery size and strategy is a rolling-horizon backtest of the
same camp physics and MPC the service runs (:mod:`optimizer.backtest`), cut into chunks that run
as tasks on ``dask.distributed`` (docs/architecture.md §13):

- :mod:`microgrid.study.spec`: the grid of combinations, how a site is re-sized, the study options;
- :mod:`microgrid.study.tasks`: one task per combination × chunk, its input hash, running it;
- :mod:`microgrid.study.cache`: finished tasks cached by input hash (a study resumes);
- :mod:`microgrid.study.engine`: the tasks on a Dask cluster (local or remote);
- :mod:`microgrid.study.conditions`: measured load and weather files as conditions;
- :mod:`microgrid.study.economics`, :mod:`microgrid.study.results`, :mod:`microgrid.study.html`:
  costs, the results table, the Pareto front and the answer, ``study.html``;
- :mod:`microgrid.study.run`: the whole study, as ``microgrid study`` runs it.
"""

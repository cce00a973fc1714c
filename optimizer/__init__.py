"""Dispatch planning (docs/architecture.md §7): the Pyomo/HiGHS MILP, HOMER baselines and the fallback.

- :mod:`optimizer.plan` — ``PlanInputs``, ``PlanState``, ``Plan`` (``to_dataframe`` = PLAN.csv).
- :mod:`optimizer.planner` — ``MilpPlanner``, ``RulePlanner``, ``make_planner``, ``plan``.
- :mod:`optimizer.model` (+ ``model_gensets``, ``model_battery``) — ``build_model`` and one
  ``define_*`` per device family; :mod:`optimizer.solve` — ``solve``; :mod:`optimizer.extract` —
  ``extract_plan``; :mod:`optimizer.grid` — ``coarsen``.
- :mod:`optimizer.baselines`, :mod:`optimizer.fallback`, :mod:`optimizer.costs`,
  :mod:`optimizer.inputs_csv` (IN.csv reader).
"""

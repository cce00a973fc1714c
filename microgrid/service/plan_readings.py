"""A plan as docs/architecture.md §4 points: ``plan`` per step (tag ``strategy``), ``plan_genset``
per step and unit (which gensets run when: the camp page's plan chart) and one ``optimizer``
point."""

from __future__ import annotations

import math
from datetime import datetime

from microgrid.readings import Reading
from microgrid.site import Site
from optimizer.plan import Plan

#: ``optimizer.status`` codes (docs/architecture.md §4).
STATUS_CODE = {"optimal": 0, "feasible": 1, "fallback": 2}


def plan_readings(site: Site, plan: Plan, issued: datetime) -> list[Reading]:
    """Per-step ``plan`` and ``plan_genset`` points and the ``optimizer`` point of one planning
    run."""
    tags = {"site": site.name, "strategy": plan.strategy}
    soc = plan.to_dataframe(site)["soc_pct"].to_numpy()
    battery = plan.battery_total_kw
    gensets = plan.genset_total_kw
    out = []
    for i, t in enumerate(plan.time):
        online = sum(float(plan.genset_on[g][i]) for g in plan.genset_on)
        fields = {"genset_kw": float(gensets[i]), "gensets_online": online,
                  "battery_kw": float(battery[i]), "curtail_kw": float(plan.pv_curtailed_kw[i]),
                  "fuel_l": float(plan.fuel_l[i]), "load_kw": float(plan.load_kw[i]),
                  "pv_kw": float(plan.pv_used_kw[i]), "unserved_kw": float(plan.unserved_kw[i])}
        if math.isfinite(soc[i]):
            fields["soc_pct"] = float(soc[i])
        out.append(Reading(t, "plan", tags, fields))
        for g in plan.genset_on:
            out.append(Reading(t, "plan_genset", {**tags, "device": g},
                               {"on": float(plan.genset_on[g][i]), "power_kw": float(plan.genset_kw[g][i])}))
    opt = {"solve_s": plan.solve_s, "gap_pct": plan.gap_pct, "objective_l": plan.objective_l,
           "status": float(STATUS_CODE[plan.status]), "fuel_l": plan.total_fuel_l}
    out.append(Reading(issued, "optimizer", tags,
                       {k: float(v) for k, v in opt.items() if v is not None and math.isfinite(v)}))
    return out

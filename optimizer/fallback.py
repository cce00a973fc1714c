"""The plan of last resort: load following with an SOC guard, flagged ``fallback`` with the reason.

Used whenever the MILP gives no plan (infeasible, time limit without incumbent, any exception),
so the camp is never without a plan.
"""

from __future__ import annotations

import logging

from microgrid.site import Site
from optimizer.baselines import RuleOptions, rule_plan
from optimizer.plan import Plan, PlanInputs, PlanState

log = logging.getLogger(__name__)

#: SOC margin above each battery's minimum the fallback keeps for the next plan. [% points]
SOC_GUARD_MARGIN_PCT = 5.0


def fallback_plan(site: Site, inputs: PlanInputs, state: PlanState, reason: str) -> Plan:
    """Load-following plan that keeps the batteries ``SOC_GUARD_MARGIN_PCT`` above their minimum.

    Devices missing from ``state`` are taken at their defaults so that this never fails.
    """
    guard = max((b.soc_min_pct for b in site.batteries), default=0.0) + SOC_GUARD_MARGIN_PCT
    log.warning("optimizer fallback (load following, SOC guard %.0f %%): %s", guard, reason)
    return rule_plan(site, inputs, state.filled(site), RuleOptions(soc_guard_pct=guard), strategy="load-following",
                     status="fallback", reason=reason)

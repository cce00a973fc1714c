"""Water filling: split a total in proportion to weights, each part capped (docs/architecture.md §1).

How the grid-forming batteries split what the bus needs of them, by their power rating within
what each can do this step.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["share"]


def share(total: float, weights: Mapping[str, float], caps: Mapping[str, float]) -> dict[str, float]:
    """Split ``total`` (≥ 0) in proportion to ``weights``, each part ≤ its cap (water filling)."""
    out = {k: 0.0 for k in weights}
    free = {k for k in weights if caps[k] > 0 and weights[k] > 0}
    left = total
    while left > 1e-12 and free:
        wsum = sum(weights[k] for k in free)
        saturated = {k for k in free if out[k] + left * weights[k] / wsum >= caps[k]}
        if not saturated:
            for k in free:
                out[k] += left * weights[k] / wsum
            break
        for k in saturated:
            left -= caps[k] - out[k]
            out[k] = caps[k]
        free -= saturated
    return out

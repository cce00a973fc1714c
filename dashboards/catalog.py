"""All dashboards of the project, in the order they are exported and published."""

from __future__ import annotations

from dashboards.environment import environment_dashboard
from dashboards.fuel import fuel_dashboard
from dashboards.generators import generators_dashboard
from dashboards.model import Dashboard
from dashboards.overview import overview_dashboard
from dashboards.plant_health import plant_health_dashboard
from microgrid.site import Site


def all_dashboards(site: Site | None = None) -> tuple[Dashboard, ...]:
    """Overview, generators, plant health, environment and fuel and alarms, ``$site``
    pre-selected when a site is given."""
    return (overview_dashboard(site), generators_dashboard(site), plant_health_dashboard(site),
            environment_dashboard(site), fuel_dashboard(site))

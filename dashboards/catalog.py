"""All dashboards of the project, in the order they are exported and published."""

from __future__ import annotations

from dashboards.environment import environment_dashboard
from dashboards.fuel import fuel_dashboard
from dashboards.generators import generators_dashboard
from dashboards.mission import mission_dashboard
from dashboards.model import Dashboard
from dashboards.overview import overview_dashboard
from dashboards.plant_health import plant_health_dashboard
from microgrid.mission import Mission
from microgrid.site import Site


def camp_dashboards(site: Site | None = None) -> tuple[Dashboard, ...]:
    """Overview, generators, plant health, environment and fuel and alarms of one camp,
    ``$site`` pre-selected when a site is given."""
    return (overview_dashboard(site), generators_dashboard(site), plant_health_dashboard(site),
            environment_dashboard(site), fuel_dashboard(site))


def all_dashboards(site: Site | None = None, mission: Mission | None = None) -> tuple[Dashboard, ...]:
    """The camp dashboards and the mission dashboard (its camps pre-selected when a mission is given)."""
    return (*camp_dashboards(site), mission_dashboard(mission))

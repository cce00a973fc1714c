"""The camp page: what a camp engineer sees, on the embedded store or any other (application layer).

Server-rendered HTML with inline SVG charts and one small script that refreshes the live part;
no build step, nothing fetched from the internet. :class:`CampPage` answers GET requests; the
service's status server, ``microgrid view`` and ``microgrid demo --serve`` serve it.
docs/architecture.md §9.
"""

from microgrid.web.app import CampPage

__all__ = ["CampPage"]

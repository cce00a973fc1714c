"""The demo: the virtual camp and the service against it, on a fast clock (application layer).

It wires the virtual camp (:mod:`microgrid.simulator`) to the service (:mod:`microgrid.service`),
which is why it lives beside them rather than inside the service: production code never imports
the virtual camp (docs/architecture.md §1).
"""

from microgrid.demo.run import DemoOptions, DemoResult, default_start, demo_site, run_demo

__all__ = ["DemoOptions", "DemoResult", "default_start", "demo_site", "run_demo"]

"""microgrid/reports."""

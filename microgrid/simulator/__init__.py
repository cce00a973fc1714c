"""microgrid/simulator."""

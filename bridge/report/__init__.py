"""``edge-bridge report``: per-router PCI DSS evidence from the daemons' JSON lines."""

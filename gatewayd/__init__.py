"""gatewayd: an edge SMS gateway daemon for USB SIM modems."""

__version__ = "0.2.0"

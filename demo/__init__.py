"""The demo client: `cityservices demo` tells the walk-through against a running service (it is a client of
the service, not part of it)."""

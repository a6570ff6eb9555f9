"""The housing bureau: property ownership certificates and registered leases."""

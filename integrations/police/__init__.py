"""The police: population registry (persons, residence registrations) and criminal records."""

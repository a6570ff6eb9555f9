"""Telling the citizen (CONTRACT §10.4): an outbox committed with each change, delivered at least once."""

"""Telling the citizen (docs/notifications.md): an outbox committed with each change, delivered at least once."""

"""Temporal workflows and the event handler (the runs issue)."""

"""Service codes, reports and runs."""

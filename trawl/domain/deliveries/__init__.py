"""Deliveries: where each run's dataset went, one row per run and destination."""

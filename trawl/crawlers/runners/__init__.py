"""Runners launch one crawler process per run attempt: a local subprocess or a Kubernetes Job."""

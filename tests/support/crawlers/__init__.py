"""Tiny crawlers for runner tests, written against the buffer directly (not the SDK)."""

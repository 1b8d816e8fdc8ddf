"""Crawler SDK, built-in service codes and runners (the crawlers issue)."""

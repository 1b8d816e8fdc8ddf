"""Trawl: backend of a managed web-scraping platform."""

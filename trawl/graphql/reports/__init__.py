"""GraphQL of the crawler registry (service codes) and of reports."""

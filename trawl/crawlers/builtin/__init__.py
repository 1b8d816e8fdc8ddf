"""Built-in service codes: crawlers that ship with the platform."""

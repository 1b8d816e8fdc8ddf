"""GraphQL of an organization's audit log."""

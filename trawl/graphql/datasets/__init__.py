"""A run's dataset in GraphQL: `Run.dataset` and `Report.latestDataset`."""

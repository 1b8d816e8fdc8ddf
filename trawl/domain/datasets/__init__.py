"""Datasets: a run's stored records, read from MongoDB in a stable order, filtered and
projected on the fields the report's record schema declares, scoped to the caller."""

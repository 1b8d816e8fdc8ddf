"""GraphQL of runs: their lifecycle, attempts, stats, and the per-organization run limit."""

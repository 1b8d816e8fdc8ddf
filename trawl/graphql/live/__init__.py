"""GraphQL subscriptions: live run state, stats and logs."""

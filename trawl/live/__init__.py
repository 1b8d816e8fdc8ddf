"""Live updates for GraphQL subscriptions: channel names, per-subscriber queues and the
broadcasters that fan messages out — in-process when one process hosts everything, through
Redis pub/sub when several gateway replicas must see every producer's messages."""

"""The forwarder (the Fluent role): a sidecar process beside each crawler attempt that ships
the attempt's record buffer to Kinesis and its captured log lines to DynamoDB.

Run as `python -m trawl.crawlers.forwarder <attempt_dir>`: locally by the attempt's supervisor
(trawl.crawlers.runners.sidecar), in production as the second container of the crawler's pod
(TRAWL_FORWARDER_MODE=pod; see forwarder.app and forwarder.liveness).

Delivery is at-least-once: a chunk is deleted only when Kinesis acknowledged every record in
it, and what was acknowledged is persisted after every call, so a forwarder killed at any
moment re-sends at most the records of the call it was in. Records carry stable ids, so the
stream stage drops the repeats. It exits 0 once the crawler is done (the buffer's DONE marker),
no chunk is left and every log line the crawler wrote is shipped."""

"""Domain events on their way out: envelope, outbox relay to EventBridge, the SQS poller
that stands in for the Lambda trigger locally, and the DynamoDB audit log."""

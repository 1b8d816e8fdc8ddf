"""The stream stage: Kinesis → validation, de-duplication, run stats → MongoDB and S3 Avro."""

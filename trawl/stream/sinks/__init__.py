"""Where validated records go: MongoDB (idempotent upserts) and S3 (whole Avro objects)."""

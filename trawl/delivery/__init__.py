"""Delivery of a finished run's dataset to where the customer wants it (issue 7).

`media/` holds one sender per medium (S3, SFTP, FTP/FTPS, email, webhook) behind one shape:
`await sender.send(file, context) -> DeliveryReceipt`, `await sender.check()` to probe a
destination without delivering, and `DeliveryError` with a message the user can act on and a
`retryable` flag for the workflow's retry policy."""

"""The PyFlink stream job (the stream issue)."""

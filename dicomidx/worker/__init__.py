"""The embedded worker: the receive loop, the handling of one message, retries and poison."""

"""Small building blocks with no domain knowledge: backoff, supervision, bounded queues."""

"""Signal ingestors: the Redis Stream consumer group and the ``signals.ingest`` task."""

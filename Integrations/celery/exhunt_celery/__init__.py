"""Celery workers for exhunt fleets.

Each task runs the ``exhunt`` binary as a subprocess (an argument list, never a shell) and
reports through ``exhunt fleet claim`` / ``exhunt fleet finish``, so the work's state lives in
the case store beside the results. Delivery is at least once (late acknowledgement, one task
prefetched per slot); exhunt's ingest is idempotent, so a redelivered hunt is still one run and a
redelivered survey shard resumes from its records file.
"""

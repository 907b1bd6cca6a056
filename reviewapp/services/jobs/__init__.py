"""Background jobs: the job row users see (records), the Huey queue that runs them (queue),
their live progress, heartbeat and cancel flag (live), the run of one job (runner) and what
each kind of job does (kinds)."""

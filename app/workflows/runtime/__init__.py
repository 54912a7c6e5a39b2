"""The workflow engine's runtime at the edge: the scheduler process and what it runs.

- `lease.py`      one active scheduler: a named lease row with expiry, renewed by a heartbeat
- `scheduler.py`  `flask simpul scheduler`: APScheduler 3 while this process holds the lease
- `periodic.py`   the periodic jobs it runs (name → import path, interval from config)
- `jobs.py`       a general job table (exports, imports, …) with progress, run one at a time
- `outbox.py`     e-mail as rows: queue in the caller's transaction, templates, daily digests
- `mailer.py`     the sender: due rows over one SMTP connection per batch, back-off, no loss
- `models.py`     the tables (migration 0004)

Nothing here runs in a web worker: workers only queue rows.
"""

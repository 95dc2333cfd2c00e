"""The archive: the durable record of every conversation (masked text, pseudonymous customers,
the assistant's reading of each turn, every handoff's life, ratings, tickets) in SQL.

settings.py (ARCHIVE_* settings), schema.py (the tables), db.py (engines), migrations/ (Alembic:
the only way a schema is built), consumer.py (the Redis streams → SQL ingest), purge.py
(retention), repeats.py (repeat contacts, precomputed at ingest), rollup.py (per quarter hour
and day sums the reports read), metrics.py and reports.py (the numbers the supervisor pages show).
`python -m archive migrate | consume | backfill | purge | rollup`.
"""

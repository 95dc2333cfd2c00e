"""Alembic migrations of the archive (`python -m archive migrate`; archive/migrate.py)."""

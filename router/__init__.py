"""Routing service: assigns handed-off conversations to human agents (FastAPI + Redis)."""

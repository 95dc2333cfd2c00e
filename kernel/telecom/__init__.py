"""The shared kernel: pure helpers that the NLU components, the action server and the router all
import (installed into both environments from kernel/pyproject.toml).

Nothing here imports Rasa, FastAPI or Redis, opens a database or reads the environment.
"""

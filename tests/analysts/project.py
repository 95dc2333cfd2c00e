"""A temporary copy of the project's training inputs, so that the test's retraining never reads
or writes the real nlu_data/.

scripts/retrain.py trains from scripts/paths.py's ROOT (the folder above the `scripts` package it
was imported from), so the copy holds its own `scripts` package and everything a training, the
evaluation sets and the conversation tests read; run with `cwd` and PYTHONPATH set to the copy,
`python -m scripts.retrain` reads the copy's nlu_data/, bot/ and config. The spaCy and jieba
resources and the router package are linked (only read). The assistant's Python (.venv-bot) is
the project's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from tests.stack import BOT_PYTHON, ROOT

# copied whole (small): the training data, the code a training and an evaluation import, the
# evaluation sets, the conversation tests
COPIED = (
    "scripts",
    "bot",
    "nlu_data",
    "catalog",
    "components",
    "assistant",
    "actions",
    "bench",
    "eval",
    "tests/conversations",
    "config.yml",
    "credentials.yml",
    "endpoints.yml",
    "kernel/telecom/urgency.py",
    "requirements/bot.txt",
)
# read only: the built resources, and the router package scripts/services.py imports (its
# embedded Redis helper)
LINKED = ("models/spacy_zh_telecom", "models/jieba_dict", "router")
FAST_CONFIG = Path("eval/retrain/fast-config.yml")  # helper R's small, fast configuration


def copy_project(target: Path) -> Path:
    """The copy under `target` (created); returns it."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "results")
    for name in COPIED:
        source, dest = ROOT / name, target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, dest, ignore=ignore)
        else:
            shutil.copy2(source, dest)
    for name in LINKED:
        source, dest = ROOT / name, target / name
        if not source.exists():
            raise FileNotFoundError(f"{source} is missing: run `make train` first")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.symlink_to(source, target_is_directory=True)
    return target


def bot_env(project: Path) -> dict[str, str]:
    """The assistant environment's variables for a script run in the copy."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROUTER_", "ASSISTANT_"))}
    env.update(PYTHONPATH=str(project), TF_CPP_MIN_LOG_LEVEL="3", RASA_TELEMETRY_ENABLED="false")
    return env


def run_in_copy(
    project: Path, args: Sequence[str], log: Path, timeout: float
) -> subprocess.CompletedProcess[bytes]:
    """`.venv-bot/bin/python <args>` in the copy (its scripts, its data), output into `log`."""
    with log.open("wb") as out:
        return subprocess.run(
            [str(BOT_PYTHON), *args],
            cwd=project,
            env=bot_env(project),
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=timeout,
        )

"""Where the assistant's files are; shared by the scripts, tests and benchmarks."""

from __future__ import annotations

import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
MODEL = MODELS / "assistant.tar.gz"
FINGERPRINT = MODELS / "assistant.fingerprint"
DOMAIN = ROOT / "bot" / "domain"
DATA = [ROOT / "bot" / "data", ROOT / "nlu_data"]
CONFIG = ROOT / "config.yml"
HOLDOUT = ROOT / "eval" / "nlu_holdout"
MULTI_REQUESTS = ROOT / "eval" / "multi_requests" / "messages.yml"
CONVERSATION_TESTS = ROOT / "tests" / "conversations"
# Everything a trained model depends on: a change in any of these means retraining.
TRAINING_INPUTS = [
    CONFIG,
    ROOT / "bot",
    ROOT / "nlu_data",
    ROOT / "catalog",
    ROOT / "components",
    # the kernel module the triage model's training reads (the default urgency of unlabelled
    # examples); the rest of the kernel is used at inference only
    ROOT / "kernel" / "telecom" / "urgency.py",
    ROOT / "scripts" / "build_resources.py",
    ROOT / "requirements" / "bot.txt",
]

"""scripts.retrain as `make retrain` runs it, when training fails: the progress file says so and no
challenger is added. A whole retraining (a challenger trained, judged on the golden set, the
held-out split and the conversation tests, its report checked) runs once, in tests/analysts."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from scripts.paths import ROOT
from telecom.registry import Registry

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def run_retrain(tmp: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "scripts.retrain", "--registry", str(tmp / "registry")]
    command += ["--progress", str(tmp / "progress.json"), *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500, check=False
    )


def test_a_failed_training_says_so_in_the_progress_file(tmp_path) -> None:
    run = run_retrain(tmp_path, "--config", str(tmp_path / "missing-config.yml"))
    assert run.returncode != 0
    progress = json.loads((tmp_path / "progress.json").read_text())
    assert progress["state"] == "failed" and progress["step"] == 1
    assert progress["message"].startswith("失败：")
    # the champion was registered; no challenger was added
    assert len(Registry(tmp_path / "registry").models()) == 1

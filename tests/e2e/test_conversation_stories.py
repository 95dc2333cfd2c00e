"""The conversation tests in tests/conversations/, run by `rasa test` against the trained model."""

from __future__ import annotations

import re
import subprocess

import pytest

from scripts import services
from scripts.paths import CONVERSATION_TESTS, ROOT

pytestmark = pytest.mark.slow


def test_every_conversation_story_passes(trained_model, tmp_path):
    stories = sorted(CONVERSATION_TESTS.glob("*.yml"))
    count = sum(len(re.findall(r"^- story:", p.read_text(encoding="utf-8"), re.M)) for p in stories)
    assert count >= 40, f"only {count} conversation tests"
    command = [
        str(services.BIN / "rasa"),
        "test",
        "core",
        "--model",
        str(trained_model),
        "--stories",
        str(CONVERSATION_TESTS),
        "--out",
        str(tmp_path),
        "--fail-on-prediction-errors",
        "--no-plot",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    failed = tmp_path / "failed_test_stories.yml"
    failures = failed.read_text(encoding="utf-8") if failed.exists() else ""
    assert result.returncode == 0, f"rasa test failed:\n{output[-6000:]}\n{failures[:6000]}"
    assert "None of the test stories failed" in failures or not failures.strip(), failures[:6000]

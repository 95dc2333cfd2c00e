"""The conversation tests in tests/conversations/, run by `rasa test` against the trained model:
through the assistant's server entry point with every fast path on, and once more with every
fast path off (ASSISTANT_FASTPATHS=none: Rasa as it ships). Both runs load the same trained
model, side by side; their reports must agree."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from scripts import services
from scripts.paths import CONVERSATION_TESTS, ROOT

pytestmark = pytest.mark.slow

SWITCHES = ("all", "none")


def test_every_conversation_story_passes_with_and_without_the_fast_paths(trained_model, tmp_path):
    stories = sorted(CONVERSATION_TESTS.glob("*.yml"))
    count = sum(len(re.findall(r"^- story:", p.read_text(encoding="utf-8"), re.M)) for p in stories)
    assert count >= 40, f"only {count} conversation tests"
    runs = {}
    for switch in SWITCHES:
        out = tmp_path / switch
        command = [
            str(services.BIN / "python"),
            "-m",
            "assistant.server",
            "test",
            "core",
            "--model",
            str(trained_model),
            "--stories",
            str(CONVERSATION_TESTS),
            "--out",
            str(out),
            "--fail-on-prediction-errors",
            "--no-plot",
        ]
        env = services.assistant_env(ASSISTANT_FASTPATHS=switch)
        log = (tmp_path / f"{switch}.log").open("w")
        runs[switch] = (
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT),
            out,
            log,
        )
    reports = {}
    for switch, (process, out, log) in runs.items():
        returncode = process.wait(timeout=900)
        log.close()
        output = (tmp_path / f"{switch}.log").read_text(errors="replace")
        failed = out / "failed_test_stories.yml"
        failures = failed.read_text(encoding="utf-8") if failed.exists() else ""
        assert returncode == 0, f"fast paths {switch}: {output[-6000:]}\n{failures[:6000]}"
        assert "None of the test stories failed" in failures or not failures.strip(), failures
        reports[switch] = json.loads((out / "story_report.json").read_text(encoding="utf-8"))
    assert reports["all"] == reports["none"]

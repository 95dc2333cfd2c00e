"""scripts.retrain end to end, as `make retrain` runs it: a challenger trained with the small, fast
configuration (eval/retrain/fast-config.yml) into a throwaway registry whose champion is the model
`make train` built (copied, read only), judged on the golden set, the held-out split and the
conversation tests. It takes a few minutes: one real training, two models over 1 253 messages."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import subprocess
import sys

import pytest

from scripts import evaluate
from scripts.paths import MODEL, ROOT
from telecom.registry import Registry

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

FAST_CONFIG = ROOT / "eval" / "retrain" / "fast-config.yml"


def sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_retrain(tmp: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "scripts.retrain", "--registry", str(tmp / "registry")]
    command += ["--progress", str(tmp / "progress.json"), *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500, check=False
    )


@pytest.fixture(scope="module")
def retrained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("retrain")
    before = sha256(MODEL)
    run = run_retrain(tmp, "--config", str(FAST_CONFIG), "--by", "an~test")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return {"tmp": tmp, "run": run, "model_hash_before": before}


def test_the_champion_is_the_trained_model_and_stays_in_service(retrained) -> None:
    registry = Registry(retrained["tmp"] / "registry")
    champion, challenger = sorted(registry.models(), key=lambda m: m["created_at"])
    assert registry.service() == champion["model_id"]
    assert sha256(registry.path(champion["model_id"])) == retrained["model_hash_before"]
    assert champion["gate"]["passed"] is True
    assert challenger["promoted_at"] is None
    # the model every test uses was neither replaced nor changed
    assert sha256(MODEL) == retrained["model_hash_before"]
    assert [h["action"] for h in registry.aliases()["history"]] == ["promote"]


def test_the_challenger_carries_its_provenance_metrics_and_verdict(retrained) -> None:
    registry = Registry(retrained["tmp"] / "registry")
    meta = registry.get(next(m["model_id"] for m in registry.models()))
    assert meta["trained_by"] == "an~test"
    assert meta["config_hash"] == hashlib.sha256(FAST_CONFIG.read_bytes()).hexdigest()
    assert meta["config"] == "eval/retrain/fast-config.yml"
    assert len(meta["data_hash"]) == 64
    report = json.loads((registry.folder(meta["model_id"]) / "report.json").read_text())
    blind, holdout = report["sets"]["blind"], report["sets"]["holdout"]
    assert blind["champion"]["n"] == 859 and holdout["champion"]["n"] > 300
    assert meta["metrics"]["blind"]["macro_f1"] == blind["challenger"]["macro_f1"]
    assert meta["metrics"]["holdout"]["accuracy"] == holdout["challenger"]["accuracy"]
    # the fast configuration changes only the NLU: every conversation test still passes
    tests = report["conversation_tests"]
    assert tests == {"passed": True, "stories": tests["stories"], "failed": [], "returncode": 0}
    assert tests["stories"] >= 40
    # the recorded verdict is the gate's on the recorded comparison
    assert meta["gate"] == evaluate.gate(blind, tests["passed"]) == report["gate"]
    # a message counted fixed was wrong before and right after, and the other way round
    for row in blind["fixed"]:
        assert row["champion"] != row["intent"] == row["challenger"]
    for row in blind["broken"]:
        assert row["champion"] == row["intent"] != row["challenger"]
    mcnemar = blind["mcnemar"]
    assert (mcnemar["champion_only"], mcnemar["challenger_only"]) == (
        len(blind["broken"]),
        len(blind["fixed"]),
    )
    # the champion's measures are kept in its meta too
    champion = registry.get(registry.service())
    assert champion["metrics"]["blind"]["macro_f1"] == blind["champion"]["macro_f1"]


def test_the_table_is_printed_and_written_beside_the_meta(retrained) -> None:
    registry = Registry(retrained["tmp"] / "registry")
    challenger_id = registry.models()[0]["model_id"]
    written = (registry.folder(challenger_id) / "report.md").read_text(encoding="utf-8")
    assert written.startswith(f"# Challenger {challenger_id} vs champion {registry.service()}")
    for heading in ("## Golden set (eval/blind): 859 messages", "| macro-F1 |", "### Broken:"):
        assert heading in written
    assert written in retrained["run"].stdout
    progress = json.loads((retrained["tmp"] / "progress.json").read_text())
    assert progress["state"] == "done" and progress["step"] == progress["steps"]
    assert progress["model_id"] == challenger_id


def test_a_failed_training_says_so_in_the_progress_file(tmp_path) -> None:
    run = run_retrain(tmp_path, "--config", str(tmp_path / "missing-config.yml"))
    assert run.returncode != 0
    progress = json.loads((tmp_path / "progress.json").read_text())
    assert progress["state"] == "failed" and progress["step"] == 1
    assert progress["message"].startswith("失败：")
    # the champion was registered; no challenger was added
    assert len(Registry(tmp_path / "registry").models()) == 1

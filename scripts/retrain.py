"""Trains a challenger, judges it against the champion and records the verdict (issue 16).

1. the registry (models/registry/, telecom.registry) gets the model `make train` built as its
   first service model when it has none (the champion is the registry's service model);
2. a challenger is trained from the current nlu_data/, bot/ and config into a temporary folder
   and added to the registry (never over models/assistant.tar.gz);
3. champion and challenger parse the golden set (eval/blind) and the held-out split
   (eval/nlu_holdout); the conversation tests run against the challenger;
4. the gate's verdict and the metrics go into the challenger's meta.json, and the comparison is
   printed and written beside it as report.md and report.json (docs/retraining.md).

Nothing is promoted here: promotion is the analysts' decision (router, `python -m scripts.models`).

Run: python -m scripts.retrain [--config FILE] [--progress FILE] [--by WHO]
     (make retrain). RETRAIN_CONFIG, when set, is the default of --config (a small, fast
     configuration for tests, e.g. eval/retrain/fast-config.yml).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scripts import build_resources, evaluate, retrain_report, train
from scripts.paths import CONFIG, MODEL, MODELS, ROOT, TRAINING_INPUTS
from telecom.registry import Registry, write_json

REGISTRY = MODELS / "registry"
STEPS = 5


@dataclass
class Progress:
    """The progress file the router shows ({state, step, steps, message, model_id?}); also
    printed."""

    path: pathlib.Path | None
    step: int = 0

    def __call__(self, state: str, step: int, message: str, **extra: Any) -> None:
        self.step = step
        print(f"[{step}/{STEPS}] {message}", flush=True)
        if self.path is not None:
            record = {"state": state, "step": step, "steps": STEPS, "message": message, **extra}
            write_json(self.path, record)


def data_hash() -> str:
    """SHA-256 over every training input but the configuration (scripts/train.py's fingerprint)."""
    return train.fingerprint([p for p in TRAINING_INPUTS if p != CONFIG])


def config_hash(config: pathlib.Path) -> str:
    return hashlib.sha256(config.read_bytes()).hexdigest()


def train_challenger(config: pathlib.Path, out: pathlib.Path) -> pathlib.Path:
    """`rasa train` from the current data with `config` into `out`; the model file."""
    if not config.is_file():  # rasa would train with config.yml instead, saying only a warning
        raise FileNotFoundError(f"no configuration at {config}")
    if not (MODELS / "spacy_zh_telecom" / "meta.json").exists():
        build_resources.build(ROOT, MODELS)
    command = [*train.rasa_train_command(out, config), "--fixed-model-name", "challenger"]
    subprocess.run(command, cwd=ROOT, check=True)  # its output is ours: the log shows progress
    return out / "challenger.tar.gz"


def champion_meta() -> dict[str, Any]:
    """The hashes of the model `make train` built when it is current (its fingerprint matches
    today's inputs); unknown otherwise."""
    if not train.is_current():
        return {"trained_by": "make train"}
    return {
        "trained_by": "make train",
        "data_hash": data_hash(),
        "config_hash": config_hash(CONFIG),
    }


def retrain(
    registry: Registry,
    config: pathlib.Path,
    progress: Callable[..., None],
    by: str,
    default_model: pathlib.Path = MODEL,
) -> tuple[str, dict[str, Any]]:
    """Everything above; returns (challenger id, its report)."""
    progress("training", 1, "登记现用模型")
    if registry.service() is None and not default_model.is_file():
        raise FileNotFoundError(f"no model in service and no {default_model}: run make train")
    champion_id = registry.ensure_champion(default_model, champion_meta())
    provenance: dict[str, Any] = {
        "data_hash": data_hash(),  # before training: what it was trained from
        "config_hash": config_hash(config) if config.is_file() else None,
        "config": str(config.relative_to(ROOT) if config.is_relative_to(ROOT) else config),
        "trained_by": by,
    }
    with tempfile.TemporaryDirectory(prefix="retrain-") as tmp:
        work = pathlib.Path(tmp)
        progress("training", 1, "训练新模型（挑战者）")
        started = time.monotonic()
        model = train_challenger(config, work)
        provenance["train_seconds"] = round(time.monotonic() - started)
        challenger_id = registry.add(model, provenance)
        progress("evaluating", 2, "现用模型解析评测集", model_id=challenger_id)
        sets = {"blind": evaluate.golden_set(), "holdout": evaluate.holdout_set()}
        champion = evaluate.predict(registry.path(champion_id), sets, champion_id)
        progress("evaluating", 3, "新模型解析评测集", model_id=challenger_id)
        challenger = evaluate.predict(registry.path(challenger_id), sets, challenger_id)
        progress("evaluating", 4, "对话测试", model_id=challenger_id)
        conversations = evaluate.conversation_tests(registry.path(challenger_id), work / "tests")
    comparisons = {name: evaluate.compare(champion[name], challenger[name]) for name in sets}
    verdict = evaluate.gate(comparisons["blind"], conversations["passed"])
    result = {
        "champion_id": champion_id,
        "challenger_id": challenger_id,
        "gate": verdict,
        "conversation_tests": conversations,
        "sets": comparisons,
    }
    folder = registry.folder(challenger_id)
    write_json(folder / "report.json", result)
    (folder / "report.md").write_text(retrain_report.markdown(result), encoding="utf-8")
    registry.record_metrics(challenger_id, retrain_report.summary(result, "challenger"), verdict)
    registry.record_metrics(
        champion_id, retrain_report.summary(result, "champion"), registry.get(champion_id)["gate"]
    )
    return challenger_id, result


def main() -> None:
    parser = argparse.ArgumentParser(description="Train a challenger and judge it (make retrain).")
    parser.add_argument(
        "--config",
        type=pathlib.Path,
        default=pathlib.Path(os.environ.get("RETRAIN_CONFIG") or CONFIG),
        help="Rasa configuration to train with (default: config.yml, or RETRAIN_CONFIG)",
    )
    parser.add_argument("--progress", type=pathlib.Path, help="write progress JSON to this file")
    parser.add_argument("--registry", type=pathlib.Path, default=REGISTRY)
    parser.add_argument("--by", default="make retrain", help="who asked for it (recorded)")
    args = parser.parse_args()
    progress = Progress(args.progress)
    # stopped (SIGTERM): the same as any failure, the temporary folder and rasa train cleaned up
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        model_id, result = retrain(
            Registry(args.registry), args.config.resolve(), progress, args.by
        )
    except BaseException as exc:
        progress("failed", progress.step, f"失败：{type(exc).__name__}: {exc}"[:500])
        raise
    print(retrain_report.markdown(result))
    verdict = "通过" if result["gate"]["passed"] else "未通过"
    progress("done", STEPS, f"完成：晋级门槛{verdict}", model_id=model_id)
    print(f"report: {Registry(args.registry).folder(model_id) / 'report.md'}")
    print(json.dumps({"model_id": model_id, "gate": result["gate"]}, ensure_ascii=False))


if __name__ == "__main__":
    main()

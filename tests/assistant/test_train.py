"""assistant.train: a forced `rasa train` without Rasa's training cache trains the same model.

Two real trainings of a small assistant (jieba, character n-grams, DIET, a rule): one by Rasa as
it ships, one through assistant.train. The second leaves the cache folder empty, and both
models read every message alike (intent ranking and confidences).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import train
from scripts.paths import ROOT

CONFIG = """\
recipe: default.v1
language: zh
assistant_id: tiny
pipeline:
  - name: JiebaTokenizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 2
  - name: DIETClassifier
    epochs: 3
    random_seed: 7
    evaluate_every_number_of_epochs: -1
policies:
  - name: RulePolicy
"""
DOMAIN = """\
version: "3.1"
intents: [query_balance, roaming, greet]
responses:
  utter_greet:
  - text: 您好
rules:
"""
NLU = """\
version: "3.1"
nlu:
- intent: query_balance
  examples: |
    - 查一下话费
    - 我还剩多少钱
    - 余额多少
    - 帮我看看话费余额
- intent: roaming
  examples: |
    - 怎么开通国际漫游
    - 出国了手机能用吗
    - 去日本要开漫游吗
    - 漫游怎么收费
- intent: greet
  examples: |
    - 你好
    - 您好啊
    - 在吗
    - 哈喽
"""
RULES = """\
version: "3.1"
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_greet
"""
MESSAGES = ("话费还有多少", "到了泰国手机还能用吗", "你好呀", "漫游")


def _project(root: Path) -> Path:
    (root / "data").mkdir(parents=True)
    (root / "config.yml").write_text(CONFIG, encoding="utf-8")
    (root / "domain.yml").write_text(DOMAIN, encoding="utf-8")
    (root / "data" / "nlu.yml").write_text(NLU, encoding="utf-8")
    (root / "data" / "rules.yml").write_text(RULES, encoding="utf-8")
    return root


def _train(project: Path, module: list[str], name: str) -> tuple[Path, Path]:
    cache = project / f"cache-{name}"
    args = ["train", "--domain", "domain.yml", "--data", "data", "--config", "config.yml"]
    args += ["--out", "models", "--fixed-model-name", name, "--force", "--skip-validation"]
    env = {**os.environ, "RASA_CACHE_DIRECTORY": str(cache), "RASA_TELEMETRY_ENABLED": "false"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [*module, *args], cwd=project, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return project / "models" / f"{name}.tar.gz", cache


def _readings(model: Path) -> list[list[tuple[str, float]]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    parsed = [asyncio.run(agent.parse_message(text)) for text in MESSAGES]
    return [[(r["name"], round(r["confidence"], 6)) for r in p["intent_ranking"]] for p in parsed]


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    project = _project(tmp_path_factory.mktemp("tiny"))
    rasa = str(Path(sys.executable).with_name("rasa"))
    return {
        "rasa": _train(project, [rasa], "rasa"),
        "ours": _train(project, [sys.executable, "-m", "assistant.train"], "ours"),
    }


def test_the_same_model_without_rasas_cache(trained):
    (as_shipped, rasa_cache), (ours, our_cache) = trained["rasa"], trained["ours"]
    assert any(p.name != "cache.db" for p in _files(rasa_cache))  # Rasa cached its outputs
    assert [p.name for p in _files(our_cache) if p.name != "cache.db"] == []
    assert _readings(ours) == _readings(as_shipped)


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--domain", "d.yml"],  # not forced: Rasa would look in the cache
        ["run", "--force"],
        [],
    ],
)
def test_only_a_forced_training(argv):
    with pytest.raises(ValueError):
        train.check(argv)
    done = subprocess.run(
        [sys.executable, "-m", "assistant.train", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "assistant.train:" in done.stderr


def test_a_forced_training_passes():
    train.check(["train", "--force", "--config", "config.yml"])

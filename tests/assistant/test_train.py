"""assistant.train: a forced `rasa train` without Rasa's training cache, its independent nodes
on several threads and its TensorFlow trainings one at a time, trains the same model as Rasa.

Two real trainings of a small assistant (jieba, character n-grams, DIET, a response selector,
a scikit-learn intent classifier, a rule): one by Rasa as it ships, one through
assistant.train. The second leaves the cache folder empty, and both models read every message
alike (intent ranking, response selection and confidences).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rasa.engine.graph import GraphComponent, GraphSchema, SchemaNode
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.selectors.response_selector import ResponseSelector

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
  - name: LogisticRegressionClassifier
  - name: ResponseSelector
    epochs: 3
    random_seed: 7
    evaluate_every_number_of_epochs: -1
policies:
  - name: RulePolicy
"""
DOMAIN = """\
version: "3.1"
intents: [query_balance, roaming, greet, faq]
responses:
  utter_greet:
  - text: 您好
  utter_faq/hours:
  - text: 营业厅每天九点到晚上九点营业
  utter_faq/payment:
  - text: 可以用微信、支付宝或银行卡缴费
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
- intent: faq/hours
  examples: |
    - 营业厅几点开门
    - 你们几点下班
    - 周末营业吗
- intent: faq/payment
  examples: |
    - 怎么交话费
    - 能用支付宝缴费吗
    - 缴费方式有哪些
"""
RULES = """\
version: "3.1"
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_greet
"""
MESSAGES = (
    "话费还有多少",
    "到了泰国手机还能用吗",
    "你好呀",
    "漫游",
    "营业厅周日开吗",
    "微信能交费吗",
)


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


def _readings(model: Path) -> list[tuple[object, ...]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    readings = []
    for text in MESSAGES:
        parsed = asyncio.run(agent.parse_message(text))
        selected = parsed["response_selector"]["default"]["response"]
        readings.append(
            (
                [(r["name"], round(r["confidence"], 6)) for r in parsed["intent_ranking"]],
                selected["utter_action"],
                round(selected["confidence"], 6),
            )
        )
    return readings


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


def _node(uses: type[GraphComponent], fn: str = "train") -> SchemaNode:
    return SchemaNode(
        needs={"training_data": "features"}, uses=uses, constructor_name="create", fn=fn, config={}
    )


def test_tensorflow_trainings_wait_for_each_other_in_name_order():
    schema = GraphSchema(
        {
            "train_ResponseSelector3": _node(ResponseSelector),
            "train_DIETClassifier1": _node(DIETClassifier),
            "train_LogisticRegressionClassifier2": _node(LogisticRegressionClassifier),
            "run_DIETClassifier1": _node(DIETClassifier, fn="process"),
        }
    )
    graph = {name: ("node", "features") for name in schema.nodes}
    chained = train.serialised(graph, schema)
    assert chained["train_DIETClassifier1"] == ("node", "features")
    assert chained["train_ResponseSelector3"] == ("node", "features", "train_DIETClassifier1")
    assert chained["train_LogisticRegressionClassifier2"] == ("node", "features")
    assert chained["run_DIETClassifier1"] == ("node", "features")
    assert graph["train_ResponseSelector3"] == ("node", "features")  # a new graph
    # a node outside the graph run (pruned away) is not waited for
    del graph["train_DIETClassifier1"]
    assert train.serialised(graph, schema)["train_ResponseSelector3"] == ("node", "features")

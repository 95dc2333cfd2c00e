"""components/intent_vote.py: the blend (pure) and the component trained, persisted, loaded and
run on a small data set."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from components.intent_vote import IntentVote, blend

SMALL_YAML = textwrap.dedent(
    """
    version: "3.1"
    nlu:
    - intent: query_balance
      examples: |
        - 查一下话费余额
        - 我还剩多少话费
        - 话费还有多少钱
        - 帮我看看余额
    - intent: report_fault
      examples: |
        - 家里宽带断网了
        - 手机没信号了
        - 光猫一直红灯上不了网
        - 网络连不上了
    - intent: greet
      examples: |
        - 你好
        - 您好啊
        - 在吗
        - 哈喽
    """
)


def ranking(*pairs: tuple[str, float]) -> list[dict]:
    return [{"name": name, "confidence": confidence} for name, confidence in pairs]


def test_blend_averages_and_ranks() -> None:
    blended = blend(
        ranking(("complain", 0.6), ("report_fault", 0.3), ("greet", 0.1)),
        {"report_fault": 0.9, "complain": 0.05, "greet": 0.05},
        0.5,
    )
    assert [r["name"] for r in blended] == ["report_fault", "complain", "greet"]
    assert blended[0]["confidence"] == pytest.approx(0.6)
    assert blended[1]["confidence"] == pytest.approx(0.325)


def test_blend_counts_an_intent_missing_on_one_side_as_zero() -> None:
    blended = blend(ranking(("greet", 1.0)), {"faq": 0.8, "greet": 0.2}, 0.5)
    assert blended == [
        {"name": "greet", "confidence": pytest.approx(0.6)},
        {"name": "faq", "confidence": pytest.approx(0.4)},
    ]


def test_blend_weights_are_the_ends() -> None:
    diet = ranking(("a", 0.7), ("b", 0.3))
    vote = {"a": 0.1, "b": 0.9}
    assert blend(diet, vote, 1.0)[0]["name"] == "a"
    assert blend(diet, vote, 0.0)[0]["name"] == "b"
    # a tie keeps DIET's order
    assert [r["name"] for r in blend(ranking(("a", 0.5), ("b", 0.5)), {}, 1.0)] == ["a", "b"]


def test_a_weight_outside_0_1_is_refused(tmp_path: Path) -> None:
    storage, resource, _ = _storage(tmp_path)
    with pytest.raises(ValueError, match="weight"):
        IntentVote({"weight": 1.5}, storage, resource)


def _storage(tmp_path: Path):
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    (tmp_path / "storage").mkdir(parents=True, exist_ok=True)
    return (
        LocalModelStorage(tmp_path / "storage"),
        Resource("train_IntentVote3"),
        ExecutionContext(GraphSchema({}), "test-model"),
    )


def _message(text: str, diet: list[dict]):
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={"text": text})
    message.set("intent", diet[0])
    message.set("intent_ranking", diet)
    return message


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    tmp = tmp_path_factory.mktemp("vote")
    (tmp / "small.yml").write_text(SMALL_YAML, encoding="utf-8")
    data = RasaYAMLReader().read(str(tmp / "small.yml"))
    storage, resource, context = _storage(tmp)
    component = IntentVote.create({}, storage, resource, context)
    assert component.train(data) == resource
    return component, IntentVote.load({}, storage, resource, context)


def test_the_vote_reads_what_it_was_trained_on_and_survives_loading(trained) -> None:
    component, loaded = trained
    assert max(component.vote("宽带断网了").items(), key=lambda kv: kv[1])[0] == "report_fault"
    assert loaded.vote("宽带断网了") == pytest.approx(component.vote("宽带断网了"))


def test_process_replaces_intent_and_ranking_with_the_blend(trained) -> None:
    _, loaded = trained
    # DIET unsure between greet and query_balance; the vote knows a fault report
    diet = ranking(("greet", 0.4), ("query_balance", 0.35), ("report_fault", 0.25))
    message = loaded.process([_message("家里宽带断网了", diet)])[0]
    assert message.get("intent")["name"] == "report_fault"
    names = [r["name"] for r in message.get("intent_ranking")]
    assert names[0] == "report_fault" and set(names) == {"greet", "query_balance", "report_fault"}
    assert sum(r["confidence"] for r in message.get("intent_ranking")) == pytest.approx(1.0)


def test_no_model_or_no_ranking_leaves_the_message_alone(tmp_path: Path, trained) -> None:
    storage, resource, context = _storage(tmp_path)
    untrained = IntentVote.load({}, storage, resource, context)
    diet = ranking(("greet", 0.9), ("query_balance", 0.1))
    assert untrained.process([_message("你好", diet)])[0].get("intent_ranking") == diet
    from rasa.shared.nlu.training_data.message import Message

    bare = Message(data={"text": "你好"})
    assert trained[1].process([bare])[0].get("intent") is None


def test_process_leaves_each_clause_s_vote_for_the_multi_request_component(trained) -> None:
    _, loaded = trained
    diet = ranking(("query_balance", 0.5), ("report_fault", 0.5))
    message = loaded.process([_message("查一下话费余额 然后家里宽带断网了", diet)])[0]
    votes = message.get("clause_votes")
    assert [name for name, _ in votes] == ["query_balance", "report_fault"]
    assert all(0.0 < p <= 1.0 for _, p in votes)
    # one clause: nothing to vote on clause by clause
    single = loaded.process([_message("家里宽带断网了", diet)])[0]
    assert single.get("clause_votes") == []
    # a message whose confidence leaves no room for a second request is not read clause by clause
    greeting = ranking(("greet", 1.0))
    assert loaded.process([_message("你好 在吗", greeting)])[0].get("clause_votes") == []

"""The blind evaluation set stays frozen, well-formed and out of the training data."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml

from bench import blind
from scripts.paths import DOMAIN, MULTI_REQUESTS, ROOT
from telecom.urgency import LEVELS


def _domain_intents() -> set[str]:
    intents: set[str] = set()
    for path in DOMAIN.glob("*.yml"):
        for item in yaml.safe_load(path.read_text()).get("intents") or []:
            intents.add(item if isinstance(item, str) else next(iter(item)))
    return intents


def _normal(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text).lower()


def test_the_set_is_the_frozen_one_and_well_formed() -> None:
    messages = blind.load()
    assert len(messages) >= 600
    assert len({m.id for m in messages}) == len(messages)
    assert len({_normal(m.text) for m in messages}) == len(messages)
    intents = _domain_intents()
    for m in messages:
        assert m.intent in intents and m.urgency in LEVELS, m.id
        assert set(m.also) <= intents, m.id


def test_the_messages_without_a_request_are_frozen_and_well_formed() -> None:
    unclear = blind.load_unclear()
    assert len(unclear) >= 100
    assert len({m.id for m in unclear}) == len(unclear)
    assert len({_normal(m.text) for m in unclear}) == len(unclear)
    assert {m.intent for m in unclear} == {blind.FALLBACK}
    assert all(m.voice for m in unclear)
    # none of them is also in the set of messages with a request
    assert not {_normal(m.text) for m in unclear} & {_normal(m.text) for m in blind.load()}


def test_a_changed_file_is_refused(tmp_path) -> None:
    shutil.copy(blind.BLIND / "SHA256SUMS", tmp_path / "SHA256SUMS")
    text = (blind.BLIND / "messages.jsonl").read_text()
    (tmp_path / "messages.jsonl").write_text(text.replace("套餐", "套飡", 1))
    with pytest.raises(ValueError, match="changed since it was frozen"):
        blind.load(tmp_path)
    (tmp_path / "unclear.jsonl").write_text('{"id": "u001", "text": "嗯", "voice": []}\n')
    with pytest.raises(ValueError, match="changed since it was frozen"):
        blind.load_unclear(tmp_path)


def _texts(paths) -> set[str]:
    """The normalised example texts of Rasa NLU files, without entity annotations."""
    texts = set()
    for path in paths:
        for line in path.read_text().splitlines():
            line = line.strip()
            if line.startswith("- ") and not line.startswith("- intent:"):
                # "- [13800138000](phone_number) 查话费" or '- text: "…"' → the text without
                # entity annotations
                item = re.sub(r'^text:\s*["\']?(.*?)["\']?$', r"\1", line[2:])
                text = re.sub(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}", r"\1\2", item)
                texts.add(_normal(text))
    return texts


def test_no_blind_message_is_in_the_training_data() -> None:
    # Short everyday phrases ("你好", "转人工", "流量还剩多少") were written by both sides
    # independently; anything longer found in nlu_data/ was copied from the blind set.
    trained = _texts((ROOT / "nlu_data").rglob("*.yml"))
    leaked = [
        m.id
        for m in [*blind.load(), *blind.load_unclear()]
        if len(_normal(m.text)) > 12 and _normal(m.text) in trained
    ]
    assert leaked == []


def test_the_several_requests_development_set_is_not_trained_on() -> None:
    development = _texts([MULTI_REQUESTS])
    assert len(development) >= 250
    trained = _texts((ROOT / "nlu_data").rglob("*.yml"))
    assert sorted(t for t in development if len(t) > 12 and t in trained) == []


def test_the_fallback_threshold_is_priced_in_turns() -> None:
    truth = ["a", "a", "b", "b", blind.FALLBACK, blind.FALLBACK]
    ranked = [
        [("a", 0.9), ("b", 0.1)],  # right and sure
        [("a", 0.5), ("b", 0.2)],  # right, unsure
        [("a", 0.7), ("b", 0.3)],  # wrong, fairly sure
        [("b", 0.85), ("a", 0.8)],  # right but ambiguous
        [("a", 0.65), ("b", 0.1)],  # no request, taken for 'a' fairly surely
        [(blind.FALLBACK, 1.0)],  # no request, sent to fallback by a component
    ]
    low, mid, high = blind.threshold_costs(truth, ranked, [0.3, 0.6, 0.8], ambiguity=0.1)
    assert (low.fallback, low.fallback_right, low.wrong, low.unclear_accepted) == (1, 1, 1, 1)
    assert low.cost == blind.FALLBACK_COST + 2 * blind.WRONG_COST
    assert (mid.fallback, mid.fallback_right, mid.wrong, mid.unclear_accepted) == (2, 2, 1, 1)
    assert (high.fallback, high.fallback_right, high.wrong, high.unclear_accepted) == (3, 2, 0, 0)
    assert high.cost == 3 * blind.FALLBACK_COST

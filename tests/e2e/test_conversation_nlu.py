"""The customer messages in the conversation tests are understood as the stories say.

`rasa test core` (tests/e2e/test_conversation_stories.py) checks the dialogue with the intents
the stories give; this checks the NLU on the same messages — Traditional, spoken-style, typos,
bare keywords — so that a conversation test means the whole turn works.

A model retrained from the same data on another machine can move a message that sits near the
fallback threshold, so up to 2 % of the messages may differ; every one that does is listed.
"""

from __future__ import annotations

import asyncio

import pytest
import yaml

from scripts.paths import CONVERSATION_TESTS

pytestmark = pytest.mark.slow


def story_messages() -> list[tuple[str, str, str]]:
    """(story name, message text, expected intent) for every user step that has both."""
    found = []
    for path in sorted(CONVERSATION_TESTS.glob("*.yml")):
        for story in yaml.safe_load(path.read_text(encoding="utf-8")).get("stories", []):
            for step in story["steps"]:
                if "user" in step and "intent" in step:
                    found.append((story["story"], plain_text(step["user"]), step["intent"]))
    return found


def plain_text(annotated: str) -> str:
    """Strips Rasa entity markup: '[13800138000](phone_number)' → '13800138000'."""
    from rasa.shared.nlu.training_data.entities_parser import replace_entities

    return replace_entities(annotated)


@pytest.fixture(scope="module")
def agent(trained_model):
    from rasa.core.agent import Agent

    return Agent.load(str(trained_model))


def test_conversation_messages_get_the_stories_intents(agent):
    messages = story_messages()
    assert len(messages) >= 100

    async def parse_all():
        return [await agent.parse_message(text) for _, text, _ in messages]

    results = asyncio.run(parse_all())
    wrong = [
        f"{story}: {text[:40]!r} → {result['intent']['name']} (expected {intent})"
        for (story, text, intent), result in zip(messages, results, strict=True)
        if result["intent"]["name"] != intent
    ]
    allowed = len(messages) // 50
    report = f"{len(wrong)} of {len(messages)} misunderstood (at most {allowed} allowed):\n"
    assert len(wrong) <= allowed, report + "\n".join(wrong)


def test_faq_answers_are_selected_only_for_faq_questions(agent):
    """components.faq_selector: the ResponseSelector runs for faq and is skipped otherwise."""

    async def parse(texts):
        return [await agent.parse_message(text) for text in texts]

    faq, balance = asyncio.run(parse(["怎么开电子发票", "帮我查一下话费"]))
    assert faq["intent"]["name"] == "faq"
    assert faq["response_selector"]["faq"]["response"]["intent_response_key"].startswith("faq/")
    assert balance["intent"]["name"] == "query_balance"
    assert "faq" not in balance.get("response_selector", {})

"""The faq ResponseSelector runs only for messages whose intent is faq."""

from __future__ import annotations

from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.faq_selector import FaqResponseSelector, needs_selection


def message(intent: str | None) -> Message:
    m = Message({TEXT: "发票怎么开"})
    if intent:
        m.set(INTENT, {"name": intent, "confidence": 0.9})
    return m


def test_selects_only_for_the_retrieval_intent():
    assert needs_selection(message("faq"), "faq")
    assert not needs_selection(message("query_balance"), "faq")
    assert not needs_selection(message(None), "faq")


def test_a_selector_over_all_retrieval_intents_runs_on_every_message():
    assert needs_selection(message("query_balance"), None)


class Recorder(FaqResponseSelector):
    """Records what the ResponseSelector itself would have been asked to predict."""

    def __init__(self) -> None:  # no model: only the routing of messages is under test
        self.retrieval_intent = "faq"
        self.seen: list[str] = []


def test_process_hands_only_faq_messages_to_the_response_selector(monkeypatch):
    selector = Recorder()

    def parent_process(self, messages):
        self.seen.extend(m.get(INTENT)["name"] for m in messages)
        return messages

    monkeypatch.setattr(
        "rasa.nlu.selectors.response_selector.ResponseSelector.process", parent_process
    )
    messages = [message("faq"), message("greet"), message("faq")]
    assert selector.process(messages) == messages
    assert selector.seen == ["faq", "faq"]

"""What the gateway tells the archive (the stream gw:archive, archive/consumer.py) besides the
messages of a conversation's log, as plain functions: the assistant's reading of a turn as feed
fields, the ticket it opened, and when the assistant's own satisfaction survey is due.

Feed entries are flat string fields: {kind, conversation, ts, ...}. Kinds: message (appended by
the log's scripts, router/lua_lib/chat.py), reading, ticket, rating, comment, disposition, ended.
"""

from __future__ import annotations

import json
from typing import Any

# the customer is done with the assistant: its survey may follow
DONE_INTENTS = frozenset({"goodbye", "thanks"})
DONE_ACTIONS = frozenset({"utter_goodbye", "utter_thanks"})


def _text(value: Any, limit: int = 64) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return f"{float(value):.4f}"


def reading(seq: str, found: dict[str, Any], asr_confidence: float | None = None) -> dict[str, str]:
    """The feed fields of the assistant's reading of the customer message `seq` (what
    assistant/gateway_channel.py sends): names and numbers only, never the customer's words.
    `asr_confidence`: the speech-recognition confidence of the alternative a voice turn chose
    (router/gateway/voice), empty for a typed turn."""
    entities = found.get("entities")
    names = (
        sorted({e for e in entities if isinstance(e, str)}) if isinstance(entities, list) else []
    )
    fields = {
        "seq": seq,
        "intent": _text(found.get("intent")),
        "confidence": _number(found.get("confidence")),
        "margin": _number(found.get("margin")),
        "asr_confidence": _number(asr_confidence),
        "urgency": _text(found.get("urgency"), 8),
        "entities": json.dumps(names[:32]),
        "fallback": "1" if found.get("fallback") is True else "0",
        "action": _text(found.get("action")),
        "ticket_id": "",
        # the number the customer verified in this turn: the archive keeps only its keyed hash
        "customer": _text(found.get("customer"), 32),
    }
    ticket = found.get("ticket")
    if isinstance(ticket, dict):
        fields["ticket_id"] = _text(ticket.get("id"), 32)
    return fields


def ticket(found: dict[str, Any]) -> dict[str, str] | None:
    """The feed fields of the ticket the turn opened, None when it opened none."""
    opened = found.get("ticket")
    if not isinstance(opened, dict) or not _text(opened.get("id"), 32):
        return None
    return {
        "ticket_id": _text(opened.get("id"), 32),
        "ticket_kind": _text(opened.get("kind"), 16),
        "severity": _text(opened.get("severity"), 16),
    }


def bot_survey_due(found: dict[str, Any], meta: dict[str, str]) -> bool:
    """The assistant's survey follows this turn: the customer says goodbye or thanks (or the
    assistant says goodbye), no handoff happened in the conversation, and it was not surveyed
    already (`meta`: the conversation's hash before this turn)."""
    done = found.get("intent") in DONE_INTENTS or found.get("action") in DONE_ACTIONS
    if not done or found.get("fallback") is True:
        return False
    return not (meta.get("handoff_id") or meta.get("rating_of") or meta.get("awaiting"))

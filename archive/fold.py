"""How stream entries change the archive's rows: pure functions over plain dicts, no I/O.

The consumer (archive/consumer.py) loads the rows a batch touches, folds the batch's new
entries into them here, in stream order, and writes them back in the same transaction. An entry
is folded only when its own row (handoff event, message, turn) was new in that transaction, so
every counter counts each event once whatever is delivered twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from archive.metrics import low_confidence
from archive.schema import NOT_A_REQUEST
from telecom import mask

Row = dict[str, Any]

# the first real request of a conversation is none of these (nor the NLU's fallback)
NOT_FIRST = NOT_A_REQUEST | {"nlu_fallback", "bot_challenge", "inform"}

# the handoff event types that move a handoff (every other one is still kept as an event)
_CLOSED = ("completed", "abandoned")


def pseudonym(key: str, value: str) -> str:
    """customer_ref: HMAC-SHA256 of `value` (a verified number, else the client's key) with
    the archive's key, the first 24 hex characters."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()[:24]


def integer(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def text_or_none(value: str | None) -> str | None:
    return value if value else None


# -- the router's events -----------------------------------------------------------------------
def handoff_event_row(event_id: str, fields: dict[str, str]) -> Row:
    """The handoff_events row of an event of stream `events` that names a handoff."""
    detail = {
        k: v for k, v in fields.items() if k not in ("type", "ts", "handoff", "agent", "offer")
    }
    return {
        "event_id": event_id,
        "handoff_id": fields["handoff"],
        "type": fields.get("type", ""),
        "ts_ms": integer(fields.get("ts")) or 0,
        "agent_id": text_or_none(fields.get("agent")),
        "offer_id": text_or_none(fields.get("offer")),
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True),
    }


def new_handoff(handoff_id: str) -> Row:
    return {
        "id": handoff_id,
        "conversation_id": None,
        "customer_ref": None,
        "channel": None,
        "queue": None,
        "skills": "[]",
        "urgency": None,
        "intent": None,
        "created_ms": None,
        "first_offered_ms": None,
        "assigned_ms": None,
        "agent_id": None,
        "completed_ms": None,
        "abandoned_ms": None,
        "offers": 0,
        "missed": 0,
        "transfers": 0,
        "disposition": None,
        "status": "queued",
    }


def fold_handoff(row: Row, fields: dict[str, str]) -> None:
    """One event of the handoff's life into its row: created → offered → offer_expired /
    offer_rejected (missed) → accepted → transferred (back to the queue) → completed /
    abandoned."""
    kind = fields.get("type", "")
    ts = integer(fields.get("ts"))
    agent = text_or_none(fields.get("agent"))
    ended = row["status"] in _CLOSED
    if kind == "created":
        skills = _json_list(fields.get("skills"))
        row.update(
            conversation_id=text_or_none(fields.get("conversation")) or row["conversation_id"],
            channel=text_or_none(fields.get("channel")) or row["channel"],
            skills=json.dumps(skills, ensure_ascii=False),
            queue=skills[0] if skills else row["queue"],
            urgency=text_or_none(fields.get("urgency")) or row["urgency"],
            intent=text_or_none(fields.get("intent")) or row["intent"],
            created_ms=ts,
        )
    elif kind == "offered":
        row["offers"] += 1
        if row["first_offered_ms"] is None:
            row["first_offered_ms"] = ts
    elif kind in ("offer_expired", "offer_rejected"):
        row["missed"] += 1
    elif kind == "accepted":
        if row["assigned_ms"] is None:
            row["assigned_ms"] = ts
        row["agent_id"] = agent
        if not ended:
            row["status"] = "assigned"
    elif kind == "transferred":
        row["transfers"] += 1
        if not ended:
            row["status"] = "queued"
    elif kind in ("requeued", "rescued"):
        if not ended:
            row["status"] = "queued"
    elif kind == "priority":
        row["urgency"] = text_or_none(fields.get("urgency")) or row["urgency"]
    elif kind == "completed":
        row.update(status="completed", completed_ms=ts, agent_id=agent or row["agent_id"])
        row["disposition"] = text_or_none(fields.get("disposition")) or row["disposition"]
    elif kind == "abandoned":
        row.update(status="abandoned", abandoned_ms=ts)


def _json_list(value: str | None) -> list[str]:
    try:
        found = json.loads(value or "[]")
    except ValueError:
        return []
    return [str(v) for v in found] if isinstance(found, list) else []


def agent_change(fields: dict[str, str]) -> Row | None:
    """The agents row an agent_created / agent_updated / agent_deleted event leaves (the
    columns it sets), None for other events."""
    kind, aid, ts = fields.get("type"), fields.get("agent"), integer(fields.get("ts"))
    if not aid:
        return None
    if kind in ("agent_created", "agent_updated"):
        row: Row = {"id": aid, "display_name": fields.get("display_name"), "skills": None}
        if fields.get("skills"):
            row["skills"] = fields["skills"]
        if kind == "agent_created":
            row.update(created_ms=ts, deleted_ms=None)
        return row
    if kind == "agent_deleted":
        return {"id": aid, "deleted_ms": ts}
    return None


def agent_state_row(event_id: str, fields: dict[str, str]) -> Row | None:
    """The agent_states row of a presence event, None for other events."""
    if fields.get("type") != "presence" or not fields.get("agent"):
        return None
    return {
        "event_id": event_id,
        "agent_id": fields["agent"],
        "ts_ms": integer(fields.get("ts")) or 0,
        "status": fields.get("status", ""),
        "reason": text_or_none(fields.get("reason")),
    }


# -- the gateway's feed ------------------------------------------------------------------------
def new_conversation(conversation_id: str, ts: int) -> Row:
    return {
        "id": conversation_id,
        "customer_ref": None,
        "channel": None,
        "started_ms": ts,
        "last_ms": ts,
        "first_intent": None,
        "bot_turns": 0,
        "fallback_turns": 0,
        "low_confidence_turns": 0,
        "handoffs": 0,
        "rating": None,
        "rated_ms": None,
        "rating_of": None,
        "comment": None,
        "disposition": None,
        "ended_by": None,
        "ended_ms": None,
        "next_same_intent_ms": None,  # archive/repeats.py sets it
    }


def message_row(fields: dict[str, str]) -> Row:
    """The messages row of a feed entry of kind message; its text masked once more (the
    masker is idempotent on masked text)."""
    return {
        "conversation_id": fields["conversation"],
        "seq": fields["seq"],
        "ts_ms": integer(fields.get("ts")) or 0,
        "sender": fields.get("sender", "system"),
        "agent_id": text_or_none(fields.get("agent")) if fields.get("sender") == "agent" else None,
        "text": mask.text(fields.get("text", "")),
    }


def turn_row(fields: dict[str, str]) -> Row:
    """The turns row of a feed entry of kind reading."""
    entities = _json_list(fields.get("entities"))
    return {
        "conversation_id": fields["conversation"],
        "seq": fields["seq"],
        "ts_ms": integer(fields.get("ts")) or 0,
        "intent": text_or_none(fields.get("intent")),
        "confidence": number(fields.get("confidence")),
        "margin": number(fields.get("margin")),
        "asr_confidence": number(fields.get("asr_confidence")),
        "urgency": text_or_none(fields.get("urgency")),
        "entities": json.dumps(entities, ensure_ascii=False),
        "fallback": fields.get("fallback") == "1",
        "action": text_or_none(fields.get("action")),
        "ticket_id": text_or_none(fields.get("ticket_id")),
    }


def ticket_row(fields: dict[str, str]) -> Row | None:
    if not fields.get("ticket_id"):
        return None
    return {
        "id": fields["ticket_id"],
        "conversation_id": fields["conversation"],
        "kind": text_or_none(fields.get("ticket_kind")),
        "severity": text_or_none(fields.get("severity")),
        "created_ms": integer(fields.get("ts")) or 0,
    }


def ticket_step_row(entry_id: str, fields: dict[str, str]) -> Row | None:
    """The ticket_steps row of a feed entry of kind ticket_step (None without a ticket or a
    step). Each value is cut to its column's width, so a malformed entry cannot fail the batch;
    a rating outside 1..5 is none."""

    def cut(name: str, width: int) -> str | None:
        return text_or_none(fields.get(name, "")[:width])

    ticket, step = cut("ticket_id", 32), cut("step", 24)
    if ticket is None or step is None:
        return None
    rating = integer(fields.get("rating"))
    return {
        "id": entry_id,
        "ticket_id": ticket,
        "conversation_id": cut("conversation", 128),
        "step": step,
        "actor_role": cut("actor_role", 16),
        "team": cut("team", 32),
        "state": cut("state", 16),
        "window": cut("window", 16),
        "severity": cut("severity", 16),
        "rating": rating if rating is not None and 1 <= rating <= 5 else None,
        "ts_ms": integer(fields.get("ts")) or 0,
    }


def touch(row: Row, ts: int | None) -> None:
    if ts is None:
        return
    row["started_ms"] = min(row["started_ms"], ts)
    row["last_ms"] = max(row["last_ms"], ts)


def fold_message(row: Row, fields: dict[str, str], key: str) -> None:
    """A new message of the conversation (the customer's carry its channel and client key)."""
    touch(row, integer(fields.get("ts")))
    if fields.get("sender") == "customer":
        row["channel"] = row["channel"] or text_or_none(fields.get("channel"))
        client = fields.get("client")
        if client and row["customer_ref"] is None:
            row["customer_ref"] = pseudonym(key, client)


def fold_turn(row: Row, turn: Row, fields: dict[str, str], key: str) -> None:
    """A new reading of a customer turn: the assistant answered it (bot_turns), perhaps by its
    fallback or with low confidence; the first real request; the number verified in it."""
    touch(row, turn["ts_ms"])
    row["bot_turns"] += 1
    if turn["fallback"]:
        row["fallback_turns"] += 1
    if low_confidence(turn["confidence"], turn["fallback"]):
        row["low_confidence_turns"] += 1
    request = turn["intent"] and turn["intent"] not in NOT_FIRST and not turn["fallback"]
    if row["first_intent"] is None and request:
        row["first_intent"] = turn["intent"]
    phone = fields.get("customer")
    if phone:
        row["customer_ref"] = pseudonym(key, phone)  # a verified number wins over a client


def fold_fact(row: Row, fields: dict[str, str]) -> None:
    """rating, comment, disposition, ended: the latest wins (a replay writes the same)."""
    kind, ts = fields.get("kind"), integer(fields.get("ts"))
    if kind == "rating":
        score = integer(fields.get("rating"))
        if score is not None and 1 <= score <= 5:
            row.update(rating=score, rated_ms=ts, rating_of=fields.get("rating_of") or None)
    elif kind == "comment":
        row["comment"] = mask.text(fields.get("text", ""))[:1000] or None
    elif kind == "disposition":
        row["disposition"] = text_or_none(fields.get("disposition"))
    elif kind == "ended":
        row.update(ended_by=text_or_none(fields.get("ended_by")), ended_ms=ts)

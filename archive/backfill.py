"""`python -m archive backfill`: after an outage of the consumer longer than the streams' caps
(entries trimmed before it read them), write what Redis still holds: every conversation log in
the gateway's index (its messages, masked here; its rating, comment and disposition) and every
handoff hash. Safe to run at any time, as often as wanted: messages are keyed by (conversation,
seq) and only added, handoffs only get the columns they lack.

What the streams alone carried is not in Redis any more and stays lost: the assistant's reading
of each turn, the handoffs' offer and transfer counts, presence changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis
import sqlalchemy as sa

from archive import fold, rollup
from archive.consumer import Entry, T, apply_batch, load, upsert
from router.keys import Keys


@dataclass
class BackfillReport:
    conversations: int = 0
    messages: int = 0
    handoffs: int = 0

    def summary(self) -> str:
        return (
            f"archive backfill: conversations={self.conversations} messages={self.messages} "
            f"handoffs={self.handoffs}"
        )


def log_entries(conversation_id: str, log: list[Any], meta: dict[str, str]) -> list[Entry]:
    """Feed entries (as the gateway writes them) of a conversation's log and hash."""
    entries: list[Entry] = []
    for seq, fields in log:
        try:
            message = json.loads(fields.get("m", "{}"))
        except ValueError:
            continue
        entry = {
            "kind": "message",
            "conversation": conversation_id,
            "ts": str(message.get("ts") or str(seq).split("-")[0]),
            "seq": str(seq),
            "sender": str(message.get("sender", "system")),
            "text": str(message.get("text", "")),  # masked by fold.message_row
        }
        if entry["sender"] == "customer":
            entry["channel"] = meta.get("channel", "")
        entries.append((str(seq), entry))
    facts: list[dict[str, str]] = []
    if meta.get("rating"):
        facts.append(
            {
                "kind": "rating",
                "rating": meta["rating"],
                "ts": meta.get("rated_ms", ""),
                "rating_of": meta.get("rating_of")
                or ("agent" if meta.get("rated_handoff") else ""),
            }
        )
    if meta.get("comment"):
        facts.append({"kind": "comment", "text": meta["comment"], "ts": meta.get("rated_ms", "")})
    if meta.get("disposition"):
        facts.append({"kind": "disposition", "disposition": meta["disposition"], "ts": ""})
    for fact in facts:
        entries.append(("", {**fact, "conversation": conversation_id}))
    return entries


def handoff_from_hash(handoff_id: str, h: dict[str, str]) -> fold.Row:
    """A handoffs row from a handoff hash of the router (router/scripts.py)."""
    row = fold.new_handoff(handoff_id)
    skills = fold._json_list(h.get("skills"))
    status = h.get("status", "queued")
    closed = fold.integer(h.get("closed_ms"))
    row.update(
        conversation_id=h.get("conversation_id") or None,
        channel=h.get("channel") or None,
        skills=json.dumps(skills, ensure_ascii=False),
        queue=skills[0] if skills else None,
        urgency=h.get("urgency") or None,
        intent=h.get("intent") or None,
        created_ms=fold.integer(h.get("created_ms")),
        assigned_ms=fold.integer(h.get("answered_ms")) or fold.integer(h.get("assigned_ms")),
        agent_id=h.get("agent_id") or None,
        completed_ms=closed if status == "completed" else None,
        abandoned_ms=closed if status == "abandoned" else None,
        disposition=h.get("disposition") or None,
        status=status if status in ("queued", "assigned", "completed", "abandoned") else "queued",
    )
    return row


def backfill(client: redis.Redis, engine: sa.Engine, keys: Keys, key: str) -> BackfillReport:
    report = BackfillReport()
    for chunk in _chunks(client.zscan_iter(keys.chats()), 200):
        ids = [str(member) for member, _score in chunk]
        pipe = client.pipeline(transaction=False)
        for conversation_id in ids:
            pipe.xrange(keys.chat_log(conversation_id))
            pipe.hgetall(keys.chat(conversation_id))
        replies = pipe.execute()
        feed: list[Entry] = []
        for n, conversation_id in enumerate(ids):
            log, meta = replies[2 * n], replies[2 * n + 1]
            feed.extend(log_entries(conversation_id, log, meta))
        with engine.begin() as conn:
            result = apply_batch(conn, [], feed, key)
        report.conversations += len(ids)
        report.messages += result.new_rows
    last = int(str(client.get(keys.seq_handoff()) or 0))
    first = int(str(client.get(keys.purge_handoffs()) or 1))
    for start in range(first, last + 1, 500):
        ids = [f"h{n:012d}" for n in range(start, min(last, start + 499) + 1)]
        pipe = client.pipeline(transaction=False)
        for handoff_id in ids:
            pipe.hgetall(keys.handoff(handoff_id))
        hashes = dict(zip(ids, pipe.execute(), strict=True))
        with engine.begin() as conn:
            report.handoffs += _fill_handoffs(conn, {h: v for h, v in hashes.items() if v})
    return report


def _fill_handoffs(conn: sa.Connection, hashes: dict[str, dict[str, str]]) -> int:
    """Handoffs the archive lacks are added; those it has get only the columns they lack (and
    the end the hash records). Returns how many were added."""
    have = load(conn, T["handoffs"], hashes)
    rows: list[fold.Row] = []
    added: dict[str, int] = {}
    for handoff_id, h in hashes.items():
        found = handoff_from_hash(handoff_id, h)
        old = have.get(handoff_id)
        if old is None:
            rows.append(found)
            if found["conversation_id"]:
                added[found["conversation_id"]] = added.get(found["conversation_id"], 0) + 1
            continue
        for column, value in found.items():
            if old.get(column) is None and value is not None:
                old[column] = value
        if found["status"] in ("completed", "abandoned"):
            old["status"] = found["status"]
        rows.append(old)
    conversations = load(
        conn, T["conversations"], [r["conversation_id"] for r in rows if r["conversation_id"]]
    )
    for row in rows:
        conversation = conversations.get(row["conversation_id"] or "")
        if conversation is not None and conversation["customer_ref"] and not row["customer_ref"]:
            row["customer_ref"] = conversation["customer_ref"]
    for conversation_id, count in added.items():
        if conversation_id in conversations:
            conversations[conversation_id]["handoffs"] += count
    dirty = rollup.handoff_buckets(conn, hashes)  # before: a creation time may be new
    upsert(conn, T["handoffs"], rows)
    upsert(conn, T["conversations"], [conversations[c] for c in added if c in conversations])
    dirty |= rollup.buckets_of(conn, conversations) | rollup.handoff_buckets(conn, hashes)
    rollup.refresh(conn, dirty)
    return len(hashes) - len(have)


def _chunks(items: Any, size: int) -> Any:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk

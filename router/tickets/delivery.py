"""Where a ticket notice goes (pure): into the customer's conversation while it is open there, as
a `system` message of its log (pushed live like the gateway's other system messages), else by SMS
through the ticket service's outbox.

A conversation is open when its gateway hash still exists (it expires ROUTER_RETENTION_S after
its last message), it is not a phone call (nobody would read the message), it has not ended, and
the customer is connected now (a live listener on its channel, in any router process) or wrote
within `idle_s`. Ended: a call hung up (`ended`), or the conversation was closed by a
satisfaction survey (`rating_of`: an agent completed it, or the assistant said goodbye) — unless
the customer is connected now, when they still see the message at once.

A follow-up's text holds the placeholder `{link}`: the link to the follow-up page,
ROUTER_PUBLIC_URL + "/feedback?t=" + its token. In a conversation the router writes it into
the text; by SMS the ticket service does, from the link the router sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

LINK = "{link}"
VOICE = "voice"


@dataclass(frozen=True)
class Delivery:
    """How one notice goes: `via` conversation (with the message `text`) or sms (with the
    follow-up `link` for the ticket service, None when the notice has no token)."""

    via: Literal["conversation", "sms"]
    conversation_id: str | None = None
    text: str = ""
    link: str | None = None


def feedback_link(public_base: str, token: str) -> str:
    """The follow-up page of a feedback token."""
    return f"{public_base.rstrip('/')}/feedback?t={quote(token, safe='')}"


def with_link(text: str, link: str | None) -> str:
    """The text with its `{link}` placeholder filled (left as it is without a link)."""
    return text.replace(LINK, link) if link is not None else text


def conversation_open(meta: dict[str, str], *, listening: bool, now_ms: int, idle_s: float) -> bool:
    """The conversation whose gateway hash is `meta` is open (the module's rule)."""
    if not meta or meta.get("ended") or meta.get("channel") == VOICE:
        return False
    if listening:
        return True
    if meta.get("rating_of"):
        return False
    try:
        last_ms = int(meta.get("updated_ms") or meta.get("created_ms") or 0)
    except ValueError:
        return False
    return now_ms - last_ms <= idle_s * 1000


def plan(
    notice: dict[str, Any],
    meta: dict[str, str],
    *,
    listening: bool,
    now_ms: int,
    idle_s: float,
    public_base: str,
) -> Delivery:
    """How `notice` (a Notice of the ticket service) goes, given its conversation's gateway hash
    `meta` ({} when it has none or it is gone) and whether a customer listens to it now."""
    token = notice.get("feedback_token")
    link = feedback_link(public_base, token) if isinstance(token, str) and token else None
    conversation_id = notice.get("conversation_id")
    channel = notice.get("channel")
    if (
        isinstance(conversation_id, str)
        and conversation_id
        and channel != VOICE
        and conversation_open(meta, listening=listening, now_ms=now_ms, idle_s=idle_s)
    ):
        text = with_link(str(notice.get("text") or ""), link)
        return Delivery("conversation", conversation_id, text, link)
    return Delivery("sms", link=link)

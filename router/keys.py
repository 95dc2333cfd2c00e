"""Every Redis key and channel of a router process, behind one prefix: the routing engine's
and the customer gateway's ("gw:…").

The Lua scripts build the same names from the same templates: a script's `k_<name>(...)` is
written out as the expression `lua_key_expression()` makes of the template below, so this module
is the only place a key name is written. Ids in keys are validated by the API (no ':' in agent
ids, skills or languages).

The layout expects one Redis (a primary, with replicas if wanted), not a cluster: a script
derives the keys it touches from the prefix it is given (KEYS[1]), often from ids it reads on
the way (a conversation's handoff, a handoff's agent), so they cannot all be declared up front.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# name -> template; "{}" placeholders are filled in order.
TEMPLATES: dict[str, str] = {
    # hash: one agent (skills, languages, max_concurrent, status, offers, assigned, hb_until...)
    "agent": "agent:{}",
    # set: offer ids pending for one agent
    "agent_offers": "agent:{}:offers",
    # set: handoff ids assigned to one agent
    "agent_handoffs": "agent:{}:handoffs",
    # stream: events concerning one agent (SSE source)
    "agent_events": "agent:{}:events",
    # hash: one handoff
    "handoff": "handoff:{}",
    # hash: one offer
    "offer": "offer:{}",
    # string: active handoff id of a conversation
    "conv": "conv:{}",
    # string (PX = sticky grace): last agent who served a customer
    "customer_last": "customer:{}:last",
    # zset: queued handoffs needing the same skills ("billing,roaming", first skill first) and
    # language (or _any once widened); score = SLA deadline ms
    "queue": "queue:{}:{}",
    # zset: same members, score = created ms (oldest wait)
    "queue_age": "queue_age:{}:{}",
    # set: "skills|language" of every queue that may hold handoffs
    "queues": "queues",
    # set: the same names, for the queues whose first skill is {}
    "skill_queues": "queues:{}",
    # set: every skill an agent holds or a handoff asked for (for GET /v1/queues and metrics)
    "skills": "skills",
    # zset: available agents under capacity holding (skill, language or _any); see selection.py
    "idx": "idx:{}:{}",
    # zset: offer id -> expiry ms
    "offer_deadlines": "deadline:offers",
    # zset: agent id -> heartbeat expiry ms
    "heartbeats": "deadline:heartbeats",
    # zset: handoff id -> next re-evaluation ms (widening, re-offer after a reject)
    "due": "deadline:due",
    # hash: cluster-wide counters (accepts, rejects, timeouts, answered...); the handoffs created
    # and the offers made are counted by seq:handoff and seq:offer themselves
    "stats": "stats",
    # hash: "<skill>|<language or _any>" -> the max_concurrent summed over the available agents
    # holding that skill and language, busy or not (agent field staffed = '1' when counted)
    "staffing": "staffing",
    # hash: average handle time (accept to completion) of the handoffs whose first skill is {}:
    # avg_ms, n (completions measured)
    "handle_time": "handle_time:{}",
    # stream: every state change
    "events": "events",
    # set: every agent id (router/purge.py walks their event streams)
    "agents": "agents",
    # stream, append-only (XADD; trimmed by age only): who read which conversation or customer
    # record, when (router/audit.py)
    "audit": "audit",
    # string (PX = the grace): heartbeat lapses are not judged while it exists, after Redis came
    # back from an outage (router/timers.py)
    "heartbeat_grace": "grace:heartbeats",
    # string: handoff sequence number below which every handoff hash is gone (router/purge.py)
    "purge_handoffs": "purge:handoffs",
    # pub/sub channel: ids of agents whose token stopped working (rotated, or the agent deleted);
    # every router process forgets the token hash it cached for them (router/token_cache.py)
    "token_revocations": "tokens:revoked",
    # hash: one supervisor (display_name, token_hash, created_ms, updated_ms); its token is
    # checked against it on every request, uncached (router/supervisors.py)
    "supervisor": "supervisor:{}",
    # set: every supervisor id
    "supervisors": "supervisors",
    # hash: one analyst (display_name, token_hash, created_ms, updated_ms), like a supervisor's
    # (router/analysts.py)
    "analyst": "analyst:{}",
    # set: every analyst id
    "analysts": "analysts",
    "seq_handoff": "seq:handoff",
    "seq_offer": "seq:offer",
    # -- the customer gateway's (router/gateway), under "gw:" ---------------------------------
    # hash: the gateway's state of one conversation: resume (SHA-256 of its resume token),
    # channel, created_ms, updated_ms, handoff_id, agent_id, agent_name, awaiting, rating,
    # comment…
    "chat": "gw:conv:{}",
    # stream: every message of one conversation (field m = JSON), the replay source
    "chat_log": "gw:log:{}",
    # pub/sub channel: live messages ("<seq> <json>") and transient events ("- <json>": typing,
    # queue, state) of one conversation
    "chat_live": "gw:live:{}",
    # pub/sub channel no one publishes on: keeps a process's subscription open while no customer
    # is connected to it (router/gateway/hub.py)
    "chat_hub": "gw:hub",
    # zset: conversation id -> time of its last message (ms); `python -m router purge` deletes
    # the conversations whose last message is older than the retention
    "chats": "gw:conversations",
    # zset: conversation id -> time of its last satisfaction rating (ms)
    "ratings": "gw:ratings",
    # stream: the archive's feed (archive/consumer.py reads it with a consumer group): each
    # message of every conversation log (text masked), appended by the same script as the log
    # entry, and the gateway's other facts (the assistant's reading of a turn, rating, comment,
    # disposition, end, ticket); capped with MAXLEN ~ (ROUTER_GATEWAY__ARCHIVE_MAXLEN)
    "archive": "gw:archive",
    # hash: one phone call of the voice channel (router/gateway/voice/service.py), by its
    # conversation id: conversation, last seq answered, that answer (JSON), the slot and number
    # kind expected, failed tries per slot, the last prompt's buttons, client key, ended…
    "voice_call": "gw:voice:{}",
    # string (redis-py's Lock, with a timeout): one turn of a call at a time, across processes
    "voice_lock": "gw:voice:{}:lock",
    # -- the service loop (router/tickets) ---------------------------------------------------
    # string (redis-py's Lock, with a timeout): one ticket watcher tick at a time, across processes
    "tickets_lock": "tickets:lock",
    # string (PX = the watch period): a process ticked in this period; the others skip it
    "tickets_period": "tickets:period",
    # string: the id of the last ticket alert forwarded (the archive's feed, the counters)
    "tickets_alert_cursor": "tickets:alerts:forwarded",
    # string (EX): the seq of the message a ticket notice became in its conversation
    "tickets_notice": "tickets:notice:{}",
    # prefix of the rate limits' keys (the `limits` library adds ":LIMITER/<rule>/<id>/…": a
    # client's pseudonymous key or a conversation id, never an address)
    "rate_limits": "gw:limits",
}

# consumer group of the gateway on the event stream `events` (one process handles each event)
GATEWAY_GROUP = "gateway"
# consumer group of the archive (archive/consumer.py) on `events` and on the feed `gw:archive`
ARCHIVE_GROUP = "archive"

ANY_LANGUAGE = "_any"  # the language part of the queues and indexes that accept any language
_PLACEHOLDER = re.compile(r"\{\}")


@dataclass(frozen=True)
class Keys:
    """Key names under one prefix (default "router:")."""

    prefix: str

    def _fmt(self, name: str, *parts: str) -> str:
        return self.prefix + TEMPLATES[name].format(*parts)

    def agent(self, agent_id: str) -> str:
        return self._fmt("agent", agent_id)

    def agent_offers(self, agent_id: str) -> str:
        return self._fmt("agent_offers", agent_id)

    def agent_handoffs(self, agent_id: str) -> str:
        return self._fmt("agent_handoffs", agent_id)

    def agent_events(self, agent_id: str) -> str:
        return self._fmt("agent_events", agent_id)

    def handoff(self, handoff_id: str) -> str:
        return self._fmt("handoff", handoff_id)

    def offer(self, offer_id: str) -> str:
        return self._fmt("offer", offer_id)

    def conv(self, conversation_id: str) -> str:
        return self._fmt("conv", conversation_id)

    def queue(self, skills: str, language: str) -> str:
        """`skills` joined by commas, in the handoff's order."""
        return self._fmt("queue", skills, language)

    def queue_for(self, skills: Sequence[str], language: str, relaxed: bool = False) -> str:
        """The queue of a handoff needing `skills` (in its order) in `language` (or any)."""
        return self.queue(",".join(skills), ANY_LANGUAGE if relaxed else language)

    def queue_age(self, skills: str, language: str) -> str:
        return self._fmt("queue_age", skills, language)

    def queues(self) -> str:
        return self._fmt("queues")

    def skill_queues(self, skill: str) -> str:
        return self._fmt("skill_queues", skill)

    def skills(self) -> str:
        return self._fmt("skills")

    def idx(self, skill: str, language: str) -> str:
        return self._fmt("idx", skill, language)

    def offer_deadlines(self) -> str:
        return self._fmt("offer_deadlines")

    def heartbeats(self) -> str:
        return self._fmt("heartbeats")

    def due(self) -> str:
        return self._fmt("due")

    def stats(self) -> str:
        return self._fmt("stats")

    def staffing(self) -> str:
        return self._fmt("staffing")

    def handle_time(self, skill: str) -> str:
        return self._fmt("handle_time", skill)

    def events(self) -> str:
        return self._fmt("events")

    def agents(self) -> str:
        return self._fmt("agents")

    def audit(self) -> str:
        return self._fmt("audit")

    def heartbeat_grace(self) -> str:
        return self._fmt("heartbeat_grace")

    def purge_handoffs(self) -> str:
        return self._fmt("purge_handoffs")

    def token_revocations(self) -> str:
        return self._fmt("token_revocations")

    def supervisor(self, supervisor_id: str) -> str:
        return self._fmt("supervisor", supervisor_id)

    def supervisors(self) -> str:
        return self._fmt("supervisors")

    def analyst(self, analyst_id: str) -> str:
        return self._fmt("analyst", analyst_id)

    def analysts(self) -> str:
        return self._fmt("analysts")

    def seq_handoff(self) -> str:
        return self._fmt("seq_handoff")

    def seq_offer(self) -> str:
        return self._fmt("seq_offer")

    def chat(self, conversation_id: str) -> str:
        return self._fmt("chat", conversation_id)

    def chat_log(self, conversation_id: str) -> str:
        return self._fmt("chat_log", conversation_id)

    def chat_live(self, conversation_id: str) -> str:
        return self._fmt("chat_live", conversation_id)

    def chat_hub(self) -> str:
        return self._fmt("chat_hub")

    def chats(self) -> str:
        return self._fmt("chats")

    def ratings(self) -> str:
        return self._fmt("ratings")

    def rate_limits(self) -> str:
        return self._fmt("rate_limits")

    def archive(self) -> str:
        return self._fmt("archive")

    def tickets_lock(self) -> str:
        return self._fmt("tickets_lock")

    def tickets_period(self) -> str:
        return self._fmt("tickets_period")

    def tickets_alert_cursor(self) -> str:
        return self._fmt("tickets_alert_cursor")

    def tickets_notice(self, notice_id: str) -> str:
        return self._fmt("tickets_notice", notice_id)

    def voice_call(self, conversation_id: str) -> str:
        return self._fmt("voice_call", conversation_id)

    def voice_lock(self, conversation_id: str) -> str:
        return self._fmt("voice_lock", conversation_id)


def lua_key_expression(name: str, args: Sequence[str]) -> str:
    """The Lua expression of key `name` from the Lua expressions of its parts:
    `lua_key_expression("agent", ["a.id"])` -> `(P .. 'agent:' .. a.id)`. The scripts' calls
    `k_agent(a.id)` are replaced by these (router/lua_lib/): no function per key."""
    pieces = _PLACEHOLDER.split(TEMPLATES[name])
    if len(args) != len(pieces) - 1:
        raise ValueError(f"key {name} takes {len(pieces) - 1} parts, got {len(args)}")
    expr = ["P"]
    for i, piece in enumerate(pieces):
        if piece:
            expr.append(repr(piece))
        if i < len(args):
            arg = args[i].strip()
            expr.append(arg if _SIMPLE.fullmatch(arg) else f"({arg})")
    return f"({' .. '.join(expr)})"


_SIMPLE = re.compile(r"[A-Za-z_][\w.]*")  # a name or a field: needs no parentheses

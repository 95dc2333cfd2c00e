"""Streams as the router and the gateway write them, for the archive's tests and its benchmark:
`fill(redis, keys, n)` appends n conversations (a realistic mix: contained by the assistant,
handed off and completed, handed off and abandoned, an offer missed, a transfer, a rating) to
`events` and `gw:archive`, and returns what the archive must then hold. A complaint ticket's
steps come as the router feeds them (kind ticket_step)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

import redis

from router.keys import Keys

T0 = 1_790_000_000_000
PHONE = "13800138000"
ID_NUMBER = "110105198806151238"


@dataclass
class Expected:
    conversations: int = 0
    messages: int = 0
    turns: int = 0
    handoffs: int = 0
    offers: int = 0
    missed: int = 0
    transfers: int = 0
    completed: int = 0
    abandoned: int = 0
    ratings: int = 0
    tickets: int = 0
    ticket_steps: int = 0
    events: int = 0
    feed: int = 0
    agents: set[str] = field(default_factory=set)


def fill(client: redis.Redis, keys: Keys, n: int, seed: int = 7, start: int = 0) -> Expected:
    rng = random.Random(seed)
    expected = Expected()
    pipe = client.pipeline(transaction=False)
    t = T0

    def event(kind: str, **fields: str) -> None:
        pipe.xadd(keys.events(), {"type": kind, "ts": str(t), **fields})
        expected.events += 1

    def feed(kind: str, conversation: str, **fields: str) -> None:
        pipe.xadd(keys.archive(), {"kind": kind, "conversation": conversation, "ts": str(t),
                                   **fields})  # fmt: skip
        expected.feed += 1

    seq = 0

    def message(conversation: str, sender: str, text: str, **extra: str) -> str:
        nonlocal seq
        seq += 1
        s = f"{t}-{seq}"
        feed("message", conversation, seq=s, sender=sender, text=text, **extra)
        expected.messages += 1
        return s

    for agent in ("agent-li", "agent-wang"):
        if agent not in expected.agents:
            event("agent_created", agent=agent, display_name="李晓梅",
                  skills=json.dumps({"billing": 3}))  # fmt: skip
            event("presence", agent=agent, status="available")
            expected.agents.add(agent)
    for i in range(start, start + n):
        cid = f"conv-{i:08d}"
        t += 1000
        s = message(cid, "customer", f"帮我查话费，我的号码是{PHONE}", channel="web",
                    client=f"client-{i % 50}")  # fmt: skip
        feed("reading", cid, seq=s, intent="query_balance", confidence="0.9300",
             margin="0.8000", urgency="normal", entities='["phone_number"]', fallback="0",
             action="action_query_balance", customer=PHONE if i % 3 == 0 else "")  # fmt: skip
        expected.turns += 1
        t += 500
        message(cid, "bot", "您的话费余额为 58.20 元。")
        expected.conversations += 1
        kind = rng.random()
        if kind < 0.5:  # contained: thanks, the assistant's survey
            t += 1000
            s = message(cid, "customer", "谢谢", channel="web", client=f"client-{i % 50}")
            feed("reading", cid, seq=s, intent="thanks", confidence="0.5500", margin="0.1",
                 urgency="low", entities="[]", fallback="0", action="utter_thanks")  # fmt: skip
            expected.turns += 1
            feed("ended", cid, ended_by="bot")
            t += 3000
            feed("rating", cid, rating=str(rng.randint(1, 5)), rating_of="bot")
            expected.ratings += 1
            continue
        hid = f"h{i:012d}"
        agent = "agent-li" if i % 2 else "agent-wang"
        event("created", handoff=hid, conversation=cid, customer="c-x", channel="web",
              skills='["billing"]', urgency="normal", intent="query_balance")  # fmt: skip
        expected.handoffs += 1
        t += 2000
        event("offered", handoff=hid, agent=agent, offer=f"o{i}", expires_ms=str(t + 30000))
        expected.offers += 1
        if kind < 0.6:  # abandoned while offered
            t += 5000
            event("offer_rescinded", handoff=hid, agent=agent, offer=f"o{i}")
            event("abandoned", handoff=hid)
            feed("ended", cid, ended_by="customer", handoff=hid)
            expected.abandoned += 1
            continue
        if kind < 0.7:  # missed once, then offered again
            t += 30000
            event("offer_expired", handoff=hid, agent=agent, offer=f"o{i}")
            expected.missed += 1
            event("offered", handoff=hid, agent=agent, offer=f"o{i}b", expires_ms=str(t))
            expected.offers += 1
        t += 3000
        event("accepted", handoff=hid, agent=agent, offer=f"o{i}")
        t += 1000
        message(cid, "agent", f"您好，请提供身份证号{ID_NUMBER}核实", agent=agent)
        if kind < 0.8:  # transferred and taken by the other agent
            event("transferred", handoff=hid, agent=agent, to_agent="")
            expected.transfers += 1
            agent = "agent-wang" if agent == "agent-li" else "agent-li"
            event("offered", handoff=hid, agent=agent, offer=f"o{i}c", expires_ms=str(t))
            expected.offers += 1
            event("accepted", handoff=hid, agent=agent, offer=f"o{i}c")
        t += 60000
        event("completed", handoff=hid, agent=agent, disposition="resolved")
        expected.completed += 1
        feed("disposition", cid, disposition="resolved", handoff=hid, agent=agent)
        feed("ended", cid, ended_by="agent", handoff=hid)
        if kind < 0.9:
            feed("rating", cid, rating="5", rating_of="agent")
            expected.ratings += 1
            feed("comment", cid, text=f"很好 {PHONE}")
        else:
            tid = f"T20261204-{i:06d}"
            feed("ticket", cid, ticket_id=tid, ticket_kind="complaint", severity="major")
            expected.tickets += 1
            # its lifecycle as the router feeds it: paged at once, worked, followed up (a low
            # rating reopens it)
            rating = "1" if i % 2 else "5"
            for step, role, state, extra in (
                ("page", "system", "intake", {}),
                ("claim", "agent", "assessing", {}),
                ("respond", "agent", "handling", {}),
                ("resolve", "agent", "feedback", {}),
                ("follow_up_answer", "customer", "handling" if rating == "1" else "closed",
                 {"rating": rating}),
            ):  # fmt: skip
                t += 60_000
                feed("ticket_step", cid, ticket_id=tid, step=step, actor_role=role,
                     team="complaints_supervisors", state=state, window="", severity="major",
                     rating=extra.get("rating", ""))  # fmt: skip
                expected.ticket_steps += 1
    pipe.execute()
    return expected

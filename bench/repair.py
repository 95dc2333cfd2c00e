"""Conversation repair (issue 19): the conversations of eval/repair/conversations.yml played over
the assistant's REST webhook (the gateway channel, the real action server and store), and the
share that ends right, per pattern and per flow.

    python -m bench.repair            # starts the assistant on free ports, prints the tables

tests/e2e/test_repair_conversations.py plays the same conversations, one test each.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import tempfile
import urllib.request
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml

from actions.store.generate import DEMO_SUBSCRIBERS

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONVERSATIONS = ROOT / "eval" / "repair" / "conversations.yml"
PATTERNS = (
    "digression",
    "correction",
    "multi_intent",
    "cancel",
    "switch",
    "context",
    "fault_vs_complaint",
    "spoken_numbers",
)

SAID = str.maketrans("0123456789X", "洞幺两三四五六拐八勾叉")


def spoken(digits: str, groups: tuple[int, ...] = (3, 4, 4), zero: str = "洞") -> str:
    """`digits` as a caller says them: one by one in groups with pauses (幺三八 洞洞幺三 …)."""
    said = digits.translate(SAID).replace("洞", zero)
    parts, start = [], 0
    for size in groups:
        parts.append(said[start : start + size])
        start += size
    if start < len(said):
        parts.append(said[start:])
    return " ".join(p for p in parts if p)


def placeholders() -> dict[str, str]:
    """{phone0} {id0} {full0} {masked0} {said_phone0} {said_id0} {said_full0}, … per demo
    subscriber."""
    values: dict[str, str] = {}
    for i, demo in enumerate(DEMO_SUBSCRIBERS):
        values |= {
            f"phone{i}": demo.phone,
            f"id{i}": demo.id_number[-6:],
            f"full{i}": demo.id_number,
            f"masked{i}": f"{demo.phone[:3]}****{demo.phone[-4:]}",
            f"said_phone{i}": spoken(demo.phone),
            f"said_id{i}": spoken(demo.id_number[-6:], groups=(3, 3)),
            f"said_full{i}": spoken(demo.id_number, groups=(6, 8, 4)),
        }
    for i, phone in enumerate(outage_neighbours(), 1):  # {outage_phone1} …
        values |= {f"outage_phone{i}": phone, f"said_outage_phone{i}": spoken(phone)}
    return values


def outage_neighbours() -> list[str]:
    """Active subscribers of the store (the generator's first 60) in the district of the demo
    outage, other than its demo subscriber: each reports the outage once (a second report of
    the same number within 24 h goes to a human)."""
    from actions.store.generate import OUTAGE_DEMO_PHONE, generate
    from telecom.catalog import load_catalog
    from telecom.dates import CHINA_TZ

    today = datetime.now(CHINA_TZ).date()
    records = generate(load_catalog(ROOT).plans, today, count=60)
    district = next(r.district for r in records if r.phone == OUTAGE_DEMO_PHONE)
    return [
        r.phone
        for r in records
        if r.district == district and r.status == "active" and r.phone != OUTAGE_DEMO_PHONE
    ]


@dataclass(frozen=True)
class Turn:
    say: str
    expect: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()


@dataclass(frozen=True)
class Conversation:
    name: str
    pattern: str
    flow: str
    voice: str
    turns: tuple[Turn, ...] = field(default_factory=tuple)


def load(path: pathlib.Path = CONVERSATIONS) -> list[Conversation]:
    values = placeholders()
    fill = lambda text: str(text).format(**values)  # noqa: E731
    loaded = []
    for item in yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]:
        if item["pattern"] not in PATTERNS:
            raise ValueError(f"{item['name']}: unknown pattern {item['pattern']}")
        turns = tuple(
            Turn(
                fill(t["say"]),
                tuple(fill(s) for s in t.get("expect", ())),
                tuple(fill(s) for s in t.get("absent", ())),
            )
            for t in item["turns"]
        )
        loaded.append(
            Conversation(item["name"], item["pattern"], item["flow"], item["voice"], turns)
        )
    return loaded


def say(url: str, token: str, sender: str, text: str) -> str:
    body = json.dumps({"sender": sender, "message": text, "metadata": {}}).encode()
    request = urllib.request.Request(
        f"{url}/webhooks/gateway/webhook",
        body,
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        replies: list[dict[str, Any]] = json.loads(response.read())
    return "\n".join(str(r["text"]) for r in replies if "text" in r)


def play(conversation: Conversation, url: str, token: str) -> str | None:
    """None when the conversation ends right, else what went wrong first (with the transcript)."""
    sender = f"repair-{uuid.uuid4().hex[:12]}"
    transcript: list[str] = []
    for number, turn in enumerate(conversation.turns, 1):
        reply = say(url, token, sender, turn.say)
        transcript.append(f"  customer: {turn.say}\n  assistant: {reply}")
        missing = [s for s in turn.expect if s not in reply]
        present = [s for s in turn.absent if s in reply]
        if missing or present:
            said = "\n".join(transcript)
            return f"turn {number}: missing {missing}, present {present}\n{said}"
    return None


def table(results: list[tuple[Conversation, str | None]], key: str) -> str:
    rows: dict[str, list[bool]] = defaultdict(list)
    for conversation, failure in results:
        rows[getattr(conversation, key)].append(failure is None)
    lines = [f"| {key} | conversations | ended right | share |", "|---|---|---|---|"]
    for name in sorted(rows, key=lambda n: (PATTERNS.index(n) if n in PATTERNS else 99, n)):
        done = rows[name]
        lines.append(f"| {name} | {len(done)} | {sum(done)} | {sum(done) / len(done):.0%} |")
    total = [ok for done in rows.values() for ok in done]
    lines.append(f"| all | {len(total)} | {sum(total)} | {sum(total) / len(total):.0%} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    from scripts import services, train
    from telecom.secrets import new_secret

    train.train()  # a no-op when the model is current
    conversations = load()
    with tempfile.TemporaryDirectory() as tmp:
        base = pathlib.Path(tmp)
        env = services.assistant_env(
            ASSISTANT_DB_PATH=str(base / "subscribers.sqlite3"),
            ASSISTANT_IDENTITY_SECRET=new_secret(),
            ASSISTANT_ID_PEPPER=new_secret(),
        )
        with services.assistant(base / "logs", env) as (_, rasa):
            results = [(c, play(c, rasa.url, rasa.token)) for c in conversations]
    print("## Conversation repair (eval/repair/conversations.yml)\n")
    print(table(results, "pattern"))
    print()
    print(table(results, "flow"))
    for conversation, failure in results:
        if failure:
            print(f"\nFAILED {conversation.name}\n{failure}")


if __name__ == "__main__":
    main()

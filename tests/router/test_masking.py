"""What an agent sees of a customer's numbers, and what the logs say: masked in every form the
assistant's parsers (telecom/numbers.py) accept — full-width and spoken digits, any separators
they skip, +86 / 0086, an ID card's last six written '151 238' — by the one masker
(telecom/mask.py), through the gateway into the agent's event stream and conversation view.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from router.app import create_app
from router.embedded_redis import RedisServer
from router.gateway.bot import BotReply
from router.gateway.models import CustomerMessage
from router.gateway.mount import install
from router.logs import install_masking, mask_line
from router.settings import Settings
from telecom import mask
from telecom.numbers import (
    SPOKEN_DIGITS,
    id_check_digit,
    parse_id_last6,
    parse_id_number,
    parse_phone,
)
from tests.router.conftest import ADMIN, PSEUDONYM, RASA, SERVICE, bearer
from tests.router.helpers import available_agent_http

# every way of writing one digit the parsers read: ASCII, full-width, spoken
_SPOKEN: dict[str, list[str]] = {}
for _char, _digit in SPOKEN_DIGITS.items():
    _SPOKEN.setdefault(_digit, []).append(_char)
DIGIT_FORMS = {d: [d, chr(0xFF10 + int(d)), *_SPOKEN[d]] for d in "0123456789"}
STRICT_SEPARATORS = [
    " ",
    "\t",
    "\u3000",
    "-",
    "‐",
    "‑",
    "–",
    "—",
    "_",
    ".",
    "·",
    "/",
    "(",
    ")",
    "（",
    "）",
]
LOOSE_SEPARATORS = [",", "，", "、"]
PREFIXES = ["", "+86", "86", "0086", "+86 ", "0086-"]
BEFORE = ["", "我的号码是", "手机 ", "身份证：", "后六位", "请查一下"]
AFTER = ["", "，谢谢", " 谢谢", "。", "？"]


@st.composite
def written(draw: st.DrawFn, digits: str) -> str:
    """`digits` as a customer may type or say them: each digit in any form, separators (one
    kind per number, as people write) between some groups."""
    separator = draw(st.sampled_from(STRICT_SEPARATORS + LOOSE_SEPARATORS))
    repeat = draw(st.integers(1, 2))
    out = []
    for i, d in enumerate(digits):
        if i and draw(st.integers(0, 3)) == 0:
            out.append(separator * repeat)
        out.append(draw(st.sampled_from(DIGIT_FORMS[d] if d.isdigit() else ["X", "x"])))
    return "".join(out)


@st.composite
def phones(draw: st.DrawFn) -> tuple[str, str]:
    number = (
        "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9, max_size=9))
    )
    return number, draw(st.sampled_from(PREFIXES)) + draw(written(number))


@st.composite
def id_numbers(draw: st.DrawFn) -> tuple[str, str]:
    region = draw(st.sampled_from(["110105", "310101", "440305", "510104"]))
    born = draw(st.dates(min_value=__import__("datetime").date(1940, 1, 1))).strftime("%Y%m%d")
    first17 = region + born + draw(st.text("0123456789", min_size=3, max_size=3))
    number = first17 + id_check_digit(first17)
    return number, draw(written(number))


@st.composite
def id_last_sixes(draw: st.DrawFn) -> tuple[str, str]:
    six = draw(st.text("0123456789", min_size=5, max_size=5)) + draw(st.sampled_from("0123456789X"))
    return six, draw(written(six))


@dataclass
class Case:
    kind: str  # phone, id or last6
    value: str
    text: str

    def parsed(self, text: str) -> str | None:
        if self.kind == "phone":
            return parse_phone(text)
        if self.kind == "id":
            return parse_id_number(text)
        return parse_id_last6(text)

    def leaks(self, seen: str) -> bool:
        """`seen` still gives the number away (the parser reads it, or the ID's last six)."""
        if self.kind == "id":
            return parse_id_number(seen) == self.value or parse_id_last6(seen) == self.value[-6:]
        return self.parsed(seen) == self.value


@st.composite
def cases(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from(["phone", "id", "last6"]))
    strategy = {"phone": phones(), "id": id_numbers(), "last6": id_last_sixes()}[kind]
    value, text = draw(strategy)
    case = Case(kind, value, draw(st.sampled_from(BEFORE)) + text + draw(st.sampled_from(AFTER)))
    assume(case.parsed(case.text) == value)  # only forms the assistant reads as that number
    return case


class SilentBot:
    async def send(self, *_: Any, message_id: str) -> list[BotReply]:
        return []

    async def urgency(self, text: str) -> str | None:
        return None

    async def aclose(self) -> None:
        pass


@dataclass
class Served:
    """A conversation assigned to an agent, on a gateway in this test's event loop."""

    loop: asyncio.AbstractEventLoop
    app: Any
    client: httpx.AsyncClient
    conversation_id: str
    agent_token: str
    events_key: str
    redis: Any


_counter = itertools.count()


@pytest.fixture(scope="module")
def served(redis_server: RedisServer) -> Iterator[Served]:
    loop = asyncio.new_event_loop()
    settings_ = Settings(
        redis_url=SecretStr(redis_server.url),
        key_prefix=f"mask{uuid.uuid4().hex[:8]}:",
        admin_token=SecretStr(ADMIN),
        service_token=SecretStr(SERVICE),
        rasa_token=SecretStr(RASA),
        pseudonym_secret=SecretStr(PSEUDONYM),
    )
    app = create_app(settings_, timers=False, gateway=False)
    install(app, bot=SilentBot())
    lifespan = app.router.lifespan_context(app)

    async def start() -> Served:
        await lifespan.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r")
        token = await available_agent_http(
            client,
            "li",
            {
                "display_name": "李",
                "skills": {"billing": 3},
                "languages": ["zh"],
                "max_concurrent": 2,
            },
        )
        conversation_id = "maskconv" + uuid.uuid4().hex
        body = {"conversation_id": conversation_id, "skills": ["billing"]}
        r = await client.post("/v1/handoffs", json=body, headers=bearer(SERVICE))
        assert r.status_code == 201, r.text
        offers = (await client.get("/v1/agents/li/offers", headers=bearer(token))).json()
        r = await client.post(f"/v1/offers/{offers[0]['offer_id']}/accept", headers=bearer(token))
        assert r.status_code == 200, r.text
        rt = app.state.runtime
        return Served(
            loop, app, client, conversation_id, token, rt.engine.keys.agent_events("li"), rt.redis
        )

    served_ = loop.run_until_complete(start())
    yield served_

    async def stop() -> None:
        await served_.client.aclose()
        await lifespan.__aexit__(None, None, None)

    loop.run_until_complete(stop())
    loop.close()


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_numbers_reach_the_agent_and_the_logs_masked(served: Served, case: Case) -> None:
    async def turn() -> tuple[list[str], list[str]]:
        gateway = served.app.state.gateway
        last: Any = await served.redis.xrevrange(served.events_key, count=1)
        cursor = last[0][0] if last else "0-0"
        await gateway.customer_turn(served.conversation_id, CustomerMessage(text=case.text), "web")
        entries: Any = await served.redis.xrange(served.events_key, min="(" + cursor)
        streamed = [f["text"] for _, f in entries if f.get("type") == "customer_message"]
        r = await served.client.get(
            f"/v1/conversations/{served.conversation_id}", headers=bearer(served.agent_token)
        )
        assert r.status_code == 200, r.text
        viewed = [m["text"] for m in r.json()["messages"][-1:]]
        return streamed, viewed

    undo = install_masking()
    lines = _Lines()
    root = logging.getLogger()
    root.addHandler(lines)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        streamed, viewed = served.loop.run_until_complete(turn())
        # a careless line that logs the customer's words is masked all the same
        logging.getLogger("router.gateway.test").warning("customer said %s", case.text)
    finally:
        root.removeHandler(lines)
        root.setLevel(level)
        undo()
    assert len(streamed) == 1 and len(viewed) == 1
    for seen in [*streamed, *viewed]:
        assert not case.leaks(seen), (case, seen)
    assert lines.lines
    for line in lines.lines:
        assert not case.leaks(line), (case, line)


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("我的号码13800138000", "我的号码138****8000"),
        ("110105198806151238", "110***********1238"),
        ("151238", "******"),
        ("后六位是15123X", "后六位是******"),
        ("工单T20261123-000123", "工单T20261123-000123"),
        ("话费100元", "话费100元"),
    ],
)
def test_the_one_masker_keeps_what_the_gateway_masked(raw: str, masked: str) -> None:
    """The cases of the gateway's former masker, through telecom.mask."""
    assert mask.text(raw) == masked


def test_log_lines_keep_identifiers() -> None:
    line = "router.agent.deleted agent=li handoff=h000000000123 phone 138 0013 8000"
    assert mask_line(line) == (
        "router.agent.deleted agent=li handoff=h000000000123 phone 138 **** 8000"
    )

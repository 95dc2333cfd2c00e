from __future__ import annotations

import re
import sqlite3

import pytest

from actions.store.base import InvalidInput
from actions.store.generate import DEMO_SUBSCRIBERS

PHONE = DEMO_SUBSCRIBERS[0].phone

BAD_INPUT = {
    "empty": "",
    "long": "网络太差" * 2500,  # 10,000 characters
    "emoji": "😡😡😡🤬",
    "control": "信号\x00差\x07\x1b[31m红字\x7f\u202e",
    "sql": "'; DROP TABLE subscribers; --",
    "script": "<script>alert('x')</script><img src=x onerror=alert(1)>",
    "html": '<a href="javascript:void(0)">点我</a> & "quotes"',
}


@pytest.fixture
def make_ticket(store, now):
    """create(description='…', **overrides) → a stored Ticket."""

    def create(description: str = "网速很慢", **overrides):
        args = {"kind": "complaint", "category": "network", "phone": PHONE, "now": now}
        args.update(overrides)
        return store.create_ticket(description=description, **args)

    return create


def test_ticket_basics(make_ticket, store, now):
    ticket = make_ticket(severity="moderate", extra={"service": "mobile"})
    assert re.fullmatch(r"T20261123-\d{6}", ticket.id)
    assert ticket.customer == "138****8000" and ticket.status == "open"
    assert store.get_tickets(PHONE) == [ticket]
    assert store.outbox(PHONE)[0].kind == "ticket"
    second = make_ticket(kind="fault")
    assert int(second.id[-6:]) == int(ticket.id[-6:]) + 1
    assert [t.id for t in store.get_tickets(PHONE)] == [second.id, ticket.id]


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_descriptions_are_stored_escaped(make_ticket, store, case):
    ticket = make_ticket(BAD_INPUT[case])
    stored = store.get_tickets(PHONE)[0]
    assert stored.description == ticket.description
    assert "<" not in stored.description and ">" not in stored.description
    assert "'" not in stored.description and '"' not in stored.description
    assert not any(ord(c) < 32 and c not in "\n\t" for c in stored.description)
    assert len(stored.description) <= 2000 * 6  # bounded even after escaping
    assert store.count_subscribers() == 30  # the SQL fragment was only text


def test_ten_thousand_characters_are_truncated(make_ticket):
    assert len(make_ticket(BAD_INPUT["long"]).description) == 2000


def test_numbers_in_descriptions_are_masked(make_ticket):
    text = f"我的号码{PHONE}，身份证{DEMO_SUBSCRIBERS[0].id_number}，一直没信号"
    description = make_ticket(text).description
    assert PHONE not in description and DEMO_SUBSCRIBERS[0].id_number not in description
    assert "138****8000" in description


def test_category_and_extra_are_escaped(make_ticket):
    ticket = make_ticket(category="<b>net</b>", extra={"<k>": "<v>", "n": 3, "ok": True})
    assert ticket.category == "&lt;b&gt;net&lt;/b&gt;"
    assert ticket.extra == {"&lt;k&gt;": "&lt;v&gt;", "n": 3, "ok": True}


@pytest.mark.parametrize("phone", [None, "", "not a phone", "1380013800", "<script>"])
def test_anonymous_or_bad_phone(make_ticket, store, phone):
    ticket = make_ticket(phone=phone)
    assert ticket.customer == ""
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT phone FROM tickets WHERE id = ?", (ticket.id,)).fetchone() == (
        None,
    )
    conn.close()


@pytest.mark.parametrize(("field", "value"), [("kind", "praise"), ("severity", "apocalyptic")])
def test_invalid_kind_or_severity(make_ticket, field, value):
    with pytest.raises(InvalidInput):
        make_ticket(**{field: value})


def test_ticket_log_lines_mask_the_number(make_ticket, caplog):
    caplog.set_level("DEBUG")
    make_ticket(f"call me on {PHONE}")
    assert PHONE not in caplog.text

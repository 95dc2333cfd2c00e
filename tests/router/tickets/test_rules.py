"""The service loop's pure decisions on the router's side: where a notice goes, the follow-up
link, the mapping of the ticket service's errors, the archive feed's fields."""

from __future__ import annotations

import pytest

from router import errors
from router.tickets import delivery
from router.tickets.client import error_of
from router.tickets.watcher import feed_fields, step_entry

NOW = 1_790_000_000_000
IDLE_S = 1800.0
BASE = "https://cs.example.cn"


def notice(**fields: object) -> dict[str, object]:
    found: dict[str, object] = {
        "id": 7, "ticket_id": "T20261205-000012", "kind": "result", "conversation_id": "c1",
        "channel": "web", "text": "您的工单 T20261205-000012 已处理完毕。", "feedback_token": None,
    }  # fmt: skip
    found.update(fields)
    return found


def recent(**fields: str) -> dict[str, str]:
    return {"channel": "web", "created_ms": str(NOW - 60_000), "updated_ms": str(NOW - 1000),
            **fields}  # fmt: skip


def plan(
    found: dict[str, object], meta: dict[str, str], listening: bool = False
) -> delivery.Delivery:
    return delivery.plan(
        found, meta, listening=listening, now_ms=NOW, idle_s=IDLE_S, public_base=BASE
    )


def test_a_notice_goes_into_a_recent_conversation():
    done = plan(notice(), recent())
    assert done == delivery.Delivery("conversation", "c1", "您的工单 T20261205-000012 已处理完毕。")


@pytest.mark.parametrize(
    ("meta", "listening"),
    [
        ({}, False),  # expired (the gateway's hash is gone) or never there
        ({}, True),
        (recent(ended="1"), True),  # a call that hung up
        (recent(channel="voice"), True),  # a phone call: nobody reads a message
        (recent(rating_of="agent"), False),  # ended by the survey, and the customer left
        (recent(updated_ms=str(NOW - 1_800_001)), False),  # idle past the window
        (recent(updated_ms="x"), False),
    ],
)
def test_a_notice_goes_by_sms_when_the_conversation_is_not_open(meta, listening):
    assert plan(notice(), meta, listening).via == "sms"


def test_a_connected_customer_sees_it_even_after_a_survey_or_a_long_pause():
    assert plan(notice(), recent(rating_of="bot"), listening=True).via == "conversation"
    long_ago = recent(updated_ms=str(NOW - 86_400_000))
    assert plan(notice(), long_ago, listening=True).via == "conversation"
    assert plan(notice(), long_ago, listening=False).via == "sms"


def test_a_notice_without_conversation_or_from_a_call_goes_by_sms():
    assert plan(notice(conversation_id=None), recent()).via == "sms"
    assert plan(notice(conversation_id=""), recent()).via == "sms"
    assert plan(notice(channel="voice"), recent()).via == "sms"


def test_a_follow_up_carries_the_feedback_link():
    token = "T20261205-000012.abcdefghijklmnopqrstuv"
    follow_up = notice(kind="follow_up", text="请评价：{link} 谢谢", feedback_token=token)
    link = f"{BASE}/feedback?t=T20261205-000012.abcdefghijklmnopqrstuv"
    into = plan(follow_up, recent())
    assert (into.via, into.text, into.link) == ("conversation", f"请评价：{link} 谢谢", link)
    by_sms = plan(follow_up, {})
    assert (by_sms.via, by_sms.link) == ("sms", link)
    assert plan(notice(), {}).link is None  # only a follow-up has one


def test_the_link_is_escaped_and_has_one_slash():
    assert delivery.feedback_link("https://x.cn/", "a b&c") == "https://x.cn/feedback?t=a%20b%26c"
    assert delivery.with_link("看 {link}", None) == "看 {link}"


@pytest.mark.parametrize(
    ("status", "body", "kind", "code", "http"),
    [
        (404, {"error": "no_such_ticket"}, errors.TicketsNotFound, "no_such_ticket", 404),
        (404, {"error": "no_such_outage"}, errors.TicketsNotFound, "no_such_outage", 404),
        (404, None, errors.TicketsNotFound, "not_found", 404),
        (
            409,
            {"error": "not_responded", "detail": "x"},
            errors.TicketRefused,
            "not_responded",
            409,
        ),
        (409, {"error": "already_answered"}, errors.TicketRefused, "already_answered", 409),
        (409, {"error": "<script>"}, errors.TicketRefused, "conflict", 409),
        (422, {"error": "invalid"}, errors.TicketInvalid, "invalid", 422),
        (401, {"error": "unauthorized"}, errors.TicketsUnavailable, "tickets_unavailable", 503),
        (500, {"error": "internal error"}, errors.TicketsUnavailable, "tickets_unavailable", 503),
        (502, None, errors.TicketsUnavailable, "tickets_unavailable", 503),
    ],
)
def test_the_ticket_services_errors_map_to_router_errors(status, body, kind, code, http):
    found = error_of(status, body)
    assert isinstance(found, kind)
    assert (found.code, found.status_code) == (code, http)


def test_a_success_is_no_error():
    assert error_of(200, {}) is None
    assert error_of(201, {}) is None


def test_feed_fields_keep_the_role_only():
    ticket = {"id": "T1", "team": "billing", "state": "handling", "severity": "major"}
    assert step_entry(ticket, "respond", "agent:a-1") == {
        "ticket_id": "T1", "step": "respond", "actor_role": "agent", "team": "billing",
        "state": "handling", "window": "", "severity": "major", "rating": "",
    }  # fmt: skip
    assert feed_fields("T2", "page", "system", team="complaints_supervisors")["actor_role"] == (
        "system"
    )
    assert step_entry({}, "follow_up_answer", "customer", rating="5")["rating"] == "5"


def test_the_tickets_token_is_checked_when_the_service_is_configured():
    from pydantic import SecretStr

    from router.settings import Settings
    from telecom.secrets import InsecureSecret, new_secret

    names = ("admin_token", "service_token", "rasa_token", "pseudonym_secret")
    good = {name: SecretStr(new_secret()) for name in names}
    assert Settings(**good).check_secrets(gateway=True) == []  # no service: no token needed
    url = "http://127.0.0.1:5055"
    for token in (None, SecretStr("short"), SecretStr("demo-tickets-token-0123456789abcdefghijk")):
        with pytest.raises(InsecureSecret, match="ROUTER_TICKETS_TOKEN"):
            Settings(**good, tickets_url=url, tickets_token=token).check_secrets(gateway=True)
    weak = Settings(**good, tickets_url=url, demo_mode=True).check_secrets(gateway=True)
    assert weak == ["ROUTER_TICKETS_TOKEN"]
    fine = Settings(**good, tickets_url=url, tickets_token=SecretStr(new_secret()))
    assert fine.check_secrets(gateway=True) == []
    assert fine.public_base() == "http://127.0.0.1:8400"
    assert Settings(**good, public_url="https://cs.example.cn/").public_base() == (
        "https://cs.example.cn"
    )

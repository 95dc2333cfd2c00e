"""action_start_request and the verification form validators against a temporary store."""

from __future__ import annotations

import sqlite3

from actions import replies
from actions.flows.common import ActionCancelRequest
from actions.flows.verification import (
    ActionAskIdLast6,
    ActionAskPhoneNumber,
    ActionStartRequest,
    ValidateVerificationForm,
)
from actions.identity import login_metadata
from actions.store.generate import DEMO_SUBSCRIBERS
from tests.actions.flows_support import (  # noqa: F401
    SECRET,
    SENDER,
    flows_fixture,
    run,
    slot,
    snapshot,
    texts,
    verified,
)

DEMO = DEMO_SUBSCRIBERS[0]
FORM = "verification_form"


def _form_state(extracted, slots=None, requested=None, **kwargs):
    base = {"pending_request": "balance", "identity_status": "needed", "requested_slot": requested}
    return snapshot(
        slots={**base, **(slots or {})}, extracted=extracted, active_loop=FORM, **kwargs
    )


def _login(now, phone=DEMO.phone, sender=SENDER, age=60):
    return login_metadata(phone, int(now.timestamp()) - age, sender, SECRET)


def test_start_request_without_login_needs_verification(flows):
    events, messages = run(
        ActionStartRequest(), snapshot(text="查一下话费", intent="query_balance")
    )
    # slots that are empty already are not set again
    assert events == [slot("pending_request", "balance"), slot("identity_status", "needed")]
    assert messages == []


def test_start_request_with_signed_login_is_verified(flows, now):
    metadata = _login(now)
    state = snapshot(text="查流量", intent="query_data_usage", metadata=metadata)
    events, _ = run(ActionStartRequest(), state)
    assert events == [
        slot("verified_phone", DEMO.phone),
        slot("verified_level", "basic"),
        slot("phone_number", DEMO.phone),
        slot("pending_request", "data_usage"),
        slot("identity_status", "verified"),
    ]


def test_a_repeated_request_sets_no_slot_that_keeps_its_value(flows, now):
    """The second balance question of a signed-in customer adds no events to the history."""
    metadata = _login(now)
    slots = {
        **verified(DEMO.phone, phone_number=DEMO.phone),
        "pending_request": "balance",
        "id_last6": "123456",
    }
    state = snapshot(text="查话费", intent="query_balance", metadata=metadata, slots=slots)
    events, _ = run(ActionStartRequest(), state)
    assert events == [slot("id_last6", None)]  # what was typed for verification is dropped
    slots["id_last6"] = None
    events, _ = run(
        ActionStartRequest(), snapshot(intent="query_balance", metadata=metadata, slots=slots)
    )
    assert events == []


def test_forged_or_stale_login_is_not_trusted(flows, now):
    forged = login_metadata(DEMO.phone, int(now.timestamp()), SENDER, "another-secret")
    public = login_metadata(
        DEMO.phone, int(now.timestamp()), SENDER, "DEMO-ONLY-identity-secret-not-for-production"
    )
    stale = _login(now, age=3600)
    for metadata in (forged, public, stale):
        events, _ = run(ActionStartRequest(), snapshot(intent="query_balance", metadata=metadata))
        assert events == [slot("pending_request", "balance"), slot("identity_status", "needed")]


def test_login_is_not_enough_for_password_reset(flows, now):
    metadata = _login(now, age=0)
    events, _ = run(ActionStartRequest(), snapshot(intent="reset_password", metadata=metadata))
    assert events[-2:] == [
        slot("pending_request", "reset_password"),
        slot("identity_status", "needed"),
    ]
    assert slot("phone_number", DEMO.phone) in events  # only the full ID is asked


def test_another_number_than_the_verified_one_needs_verification(flows):
    state = snapshot(intent="query_balance", slots=verified(DEMO.phone, phone_number="13800138001"))
    events, _ = run(ActionStartRequest(), state)
    assert events[-1] == slot("identity_status", "needed")
    # the number asked about stays in phone_number for the form (unchanged, so not set again)
    assert [e for e in events if e["name"] == "phone_number"] == []


def test_roaming_request_infers_the_action_from_words(flows):
    events, _ = run(ActionStartRequest(), snapshot(text="帮我把国际漫游关掉", intent="roaming"))
    assert slot("roaming_action", "deactivate") in events


def test_spaced_phone_number_is_accepted(flows):
    events, messages = run(
        ValidateVerificationForm(),
        _form_state({"phone_number": "138 0013 8000"}, requested="phone_number"),
    )
    assert events == [slot("phone_number", DEMO.phone), slot("requested_slot", "id_last6")]
    assert messages == []


def test_spoken_phone_number_is_accepted(flows):
    events, _ = run(
        ValidateVerificationForm(), _form_state({"phone_number": "幺三八零零幺三八零零零"})
    )
    assert events[0] == slot("phone_number", DEMO.phone)


def test_a_spoken_correction_of_the_number_while_the_id_is_asked_is_taken(flows):
    """The NLU often tags no phone_number in spoken digits; the form reads the text itself."""
    other = DEMO_SUBSCRIBERS[1].phone

    def phone_after(text: str) -> list:
        state = _form_state(
            {},
            slots={"phone_number": other},
            requested="id_last6",
            history=[{"event": "slot", "name": "phone_number", "value": other}],
            text=text,
        )
        events, _ = run(ValidateVerificationForm(), state)
        return [e.get("value") for e in events if e.get("name") == "phone_number"]

    assert DEMO.phone in phone_after("我说错了 是幺三八 洞洞幺三 八洞洞洞")
    # the ID digits asked for are no correction of the number
    assert set(phone_after("幺二三四五六")) <= {other}


def test_an_unknown_number_gets_the_same_answers_as_a_wrong_id(flows):
    """Nothing tells an attacker whether a number is a subscriber's."""
    unknown = "19999999999"
    assert flows.get_subscriber(unknown) is None
    answers = {}
    for phone, sender in ((unknown, "conv-unknown"), (DEMO.phone, "conv-known")):
        events, messages = run(
            ValidateVerificationForm(), _form_state({"phone_number": phone}, sender=sender)
        )
        assert events == [slot("phone_number", phone), slot("requested_slot", "id_last6")]
        assert messages == []
        state = _form_state(
            {"id_last6": "999999"}, {"phone_number": phone}, requested="id_last6", sender=sender
        )
        answers[phone] = run(ValidateVerificationForm(), state)
    assert answers[unknown] == answers[DEMO.phone]
    assert "还可以尝试4次" in texts(answers[unknown][1])
    assert "不是" not in texts(answers[unknown][1])
    # counted alike: the unknown number's failure is recorded like the subscriber's
    conn = sqlite3.connect(flows.path)
    counts = dict(
        conn.execute(
            "SELECT phone, COUNT(*) FROM verification_attempts WHERE success = 0 GROUP BY phone"
        ).fetchall()
    )
    conn.close()
    assert counts == {unknown: 1, DEMO.phone: 1}


def test_garbage_instead_of_a_number_is_re_asked(flows):
    for garbage in (
        "'; DROP TABLE subscribers; --",
        "<script>alert(1)</script>",
        "😀😀",
        "\x00\x07",
        "",
    ):
        events, messages = run(ValidateVerificationForm(), _form_state({"phone_number": garbage}))
        assert events == [slot("phone_number", None), slot("requested_slot", "phone_number")]
        assert "请输入11位手机号" in texts(messages)


def test_right_id_last6_verifies(flows):
    state = _form_state(
        {"id_last6": DEMO.id_last6}, {"phone_number": DEMO.phone}, requested="id_last6"
    )
    events, messages = run(ValidateVerificationForm(), state)
    assert events == [
        slot("id_last6", None),
        slot("phone_number", DEMO.phone),
        slot("verified_phone", DEMO.phone),
        slot("verified_level", "basic"),
        slot("identity_status", "verified"),
        slot("requested_slot", None),
    ]
    assert texts(messages) == "身份核验通过（138****8000），谢谢您的配合。"


def test_wrong_id_last6_is_said_politely_and_never_echoed(flows):
    state = _form_state({"id_last6": "999999"}, {"phone_number": DEMO.phone}, requested="id_last6")
    events, messages = run(ValidateVerificationForm(), state)
    assert events == [slot("id_last6", None), slot("requested_slot", "id_last6")]
    assert "还可以尝试4次" in texts(messages)
    assert "999999" not in texts(messages) and DEMO.id_last6 not in texts(messages)


def test_five_failures_lock_the_number_and_offer_a_human(flows):
    state = _form_state({"id_last6": "999999"}, {"phone_number": DEMO.phone}, requested="id_last6")
    for _ in range(4):
        run(ValidateVerificationForm(), state)
    events, messages = run(ValidateVerificationForm(), state)
    assert events == [
        slot("id_last6", None),
        slot("identity_status", "failed"),
        slot("requested_slot", None),
    ]
    assert "已暂停核验30分钟，请在 12:30 之后再试" in texts(messages)  # NOW is 04:00 UTC = 12:00
    assert messages[-1]["buttons"] == [{"title": "转人工", "payload": "/request_human"}]
    # While locked, even the right digits and the number itself are refused.
    again = _form_state({"phone_number": DEMO.phone})
    events, _ = run(ValidateVerificationForm(), again)
    assert events == [
        slot("phone_number", None),
        slot("identity_status", "failed"),
        slot("requested_slot", None),
    ]


def test_full_id_is_needed_for_password_reset(flows):
    base = {"pending_request": "reset_password", "phone_number": DEMO.phone}
    state = _form_state({"id_number": DEMO.id_number}, base, requested="id_number")
    events, messages = run(ValidateVerificationForm(), state)
    assert slot("verified_level", "full") in events
    assert DEMO.id_number not in texts(messages)
    # ID last 6 alone is not a full ID number
    state = _form_state({"id_number": DEMO.id_last6}, base, requested="id_number")
    events, messages = run(ValidateVerificationForm(), state)
    assert events == [slot("id_number", None), slot("requested_slot", "id_number")]
    assert "18位身份证号码" in texts(messages)


def test_privacy_notice_once_then_plain_question(flows):
    events, messages = run(ActionAskPhoneNumber(), snapshot(slots={"pending_request": "balance"}))
    assert events == [slot("privacy_notice_given", True)]
    assert "只用于本次身份核验" in messages[0]["text"]
    events, messages = run(
        ActionAskIdLast6(),
        snapshot(slots={"privacy_notice_given": True, "phone_number": DEMO.phone}),
    )
    assert events == []
    assert texts(messages) == "请输入 138****8000 机主身份证号码的最后6位（最后一位是X的请输入X）。"


def test_login_metadata_of_the_session_counts(flows, now):
    metadata = _login(now, age=0)
    state = snapshot(intent="query_plan", slots={"session_started_metadata": metadata})
    events, _ = run(ActionStartRequest(), state)
    assert events[-1] == slot("identity_status", "verified")


def test_a_login_is_accepted_once_in_its_conversation(flows, now):
    metadata = _login(now)
    first, _ = run(ActionStartRequest(), snapshot(intent="query_balance", metadata=metadata))
    assert first[-1] == slot("identity_status", "verified")
    # the same login again, in a conversation that does not hold the verified slots
    again, _ = run(ActionStartRequest(), snapshot(intent="query_balance", metadata=metadata))
    assert again[-1] == slot("identity_status", "needed")


def test_a_login_signed_for_another_conversation_is_refused(flows, now):
    metadata = _login(now, sender="the-customers-conversation")
    state = snapshot(intent="query_balance", metadata=metadata, sender="the-attackers-one")
    events, _ = run(ActionStartRequest(), state)
    assert events[-1] == slot("identity_status", "needed")
    # replayed in the conversation it was made for after that, it still works once
    state = snapshot(intent="query_balance", metadata=metadata, sender="the-customers-conversation")
    assert run(ActionStartRequest(), state)[0][-1] == slot("identity_status", "verified")


def _fail_once(phone: str, sender: str = SENDER, client: str | None = None):
    metadata = {"client": client} if client else None
    state = _form_state(
        {"id_last6": "999999"},
        {"phone_number": phone},
        requested="id_last6",
        sender=sender,
        metadata=metadata,
    )
    return run(ValidateVerificationForm(), state)


NUMBERS = [d.phone for d in DEMO_SUBSCRIBERS[:5]] + ["19999999999", "18888888888"]


def test_cycling_numbers_in_one_conversation_is_locked(flows):
    """Five numbers, one wrong guess each: no number is locked, the conversation is."""
    replies_ = [_fail_once(phone) for phone in NUMBERS[:5]]
    assert all("还可以尝试" in texts(m) for _, m in replies_[:4])
    assert texts(replies_[3][1]).endswith("（还可以尝试1次）。")
    events, messages = replies_[-1]
    assert slot("identity_status", "failed") in events
    assert "失败的次数过多" in texts(messages) and "12:30 之后再试" in texts(messages)
    assert messages[-1]["buttons"] == [{"title": "转人工", "payload": "/request_human"}]
    # a sixth number is refused at once, before any ID is asked
    events, messages = run(ValidateVerificationForm(), _form_state({"phone_number": NUMBERS[5]}))
    assert events[:2] == [slot("phone_number", None), slot("identity_status", "failed")]
    assert "失败的次数过多" in texts(messages)
    # the same numbers in another conversation (another client) are not locked
    assert "还可以尝试" in texts(_fail_once(NUMBERS[5], sender="another-conversation")[1])


def test_one_client_cycling_conversations_is_locked(flows, now):
    client = "client-key-0123456789"
    results = [
        _fail_once(NUMBERS[i % len(NUMBERS)], sender=f"conversation-{i}", client=client)
        for i in range(20)
    ]
    assert all("还可以尝试" in texts(m) for _, m in results[:19])
    assert "失败的次数过多" in texts(results[-1][1])
    events, messages = _fail_once(NUMBERS[0], sender="conversation-new", client=client)
    assert slot("identity_status", "failed") in events and "失败的次数过多" in texts(messages)
    # another client is not affected
    other = _fail_once(NUMBERS[0], sender="conversation-other", client="client-key-other-9876")
    assert "还可以尝试" in texts(other[1])


def test_consent_is_recorded_when_the_customer_answers_after_the_notice(flows, now):
    _, messages = run(ActionAskPhoneNumber(), snapshot(slots={"pending_request": "balance"}))
    notice = messages[0]["text"]
    assert "30天后删除" in notice and "同意" in notice
    assert flows.consents(SENDER) == []
    state = _form_state({"phone_number": DEMO.phone}, {"privacy_notice_given": True})
    run(ValidateVerificationForm(), state)
    run(ValidateVerificationForm(), state)  # recorded once
    [consent] = flows.consents(SENDER)
    assert consent.conversation == SENDER and consent.at == now
    assert consent.notice_version == replies.notice_version("basic", 30)
    assert consent.notice_version.startswith(replies.NOTICE_VERSION + "-basic-")


def test_no_consent_without_the_notice(flows):
    run(ValidateVerificationForm(), _form_state({"phone_number": DEMO.phone}))
    assert flows.consents(SENDER) == []


def test_cancelling_says_what_is_true(flows):
    history = [{"event": "active_loop", "name": FORM}, {"event": "active_loop", "name": None}]
    _, messages = run(ActionCancelRequest(), snapshot(history=history))
    text = texts(messages)
    assert "不会保存" not in text  # the attempts are kept (notice: 30 days)
    assert "不会写入用户资料" in text and "核验记录" in text

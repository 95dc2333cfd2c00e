"""Digit slots in every spoken form (actions/flows/digits.py and the validators that use it).

Each slot is read from the customer's latest text, typed or spoken: 幺, 两, 拐, 洞, 勾, groups
with pauses, full-width digits, Traditional characters, fillers, an ID's X said as 叉 / 艾克斯.
The snapshots copy what the trained NLU really does with spoken ID digits: it tags them as a
phone_number entity, so the form gets a phone_number candidate with the ID answer.
"""

from __future__ import annotations

import sqlite3

import pytest

from actions.flows import digits
from actions.flows.billing import ActionAnswerBalance
from actions.flows.plans import ValidatePlanChangeForm, plan_by_fee
from actions.flows.tickets import ValidateTicketForm
from actions.flows.verification import ValidateVerificationForm
from actions.store.generate import DEMO_SUBSCRIBERS
from tests.actions.flows_support import (  # noqa: F401
    flows_fixture,
    run,
    slot,
    snapshot,
    texts,
    verified,
)

DEMO = DEMO_SUBSCRIBERS[0]  # 13800138000, ID …151238, 4G_STANDARD_39
FULL = DEMO_SUBSCRIBERS[6]  # 13800138006, ID 320102195212010629
# The first generated subscriber (tests/actions/conftest.py's store of 30) whose ID ends in X.
X_PHONE, X_ID = "13462251448", "44030519680907810X"

# ------------------------------------------------------------------------ every form, every slot

PHONE_FORMS = {
    "typed": "13800138000",
    "typed in groups": "138 0013 8000",
    "幺 one by one": "幺三八零零幺三八零零零",
    "groups with pauses": "一三八 零零幺三 八零零零",
    "groups with commas": "幺三八，零零幺三，八零零零",
    "洞 for zero": "幺三八洞洞幺三八洞洞洞",
    "full-width": "１３８００１３８０００",
    "Traditional": "我的號碼是幺三八 零零幺三 八零零零",
    "fillers": "嗯，那个，幺三八 零零幺三 八零零零啊",
}
ID_LAST6_FORMS = {  # DEMO's 151238
    "typed": "151238",
    "幺 and 两": "幺五幺两三八",
    "groups with pauses": "幺五幺 两三八",
    "full-width": "１５１２３８",
    "Traditional": "身份證後六位是幺五幺兩三八",
    "fillers": "嗯 那个 幺五幺，两三八",
    "么 for 幺": "么五么两三八",
}
X_LAST6_FORMS = {  # X_ID's 07810X
    "typed": "07810X",
    "typed lower-case": "07810x",
    "洞 拐 叉": "洞拐八幺洞叉",
    "艾克斯": "洞拐八幺洞艾克斯",
    "groups and X": "洞拐八 幺洞 X",
    "full-width": "０７８１０Ｘ",
    "Traditional": "後六位是洞拐八么洞叉",
    "fillers": "呃，就是，洞拐八幺洞，叉",
}
ID_NUMBER_FORMS = {  # FULL's 320102195212010629
    "typed": "320102195212010629",
    "typed in groups": "320102 19521201 0629",
    "one by one": "三二零一零二一九五二一二零一零六二九",
    "洞 两 勾 in groups": "三两洞幺洞两 幺勾五两幺两洞幺 洞六两勾",
    "full-width": "３２０１０２１９５２１２０１０６２９",
    "Traditional": "身份證號是三兩零幺零兩 幺九五兩幺兩零幺 零六兩九",
    "fillers": "嗯，三两洞幺洞两，那个，幺勾五两幺两洞幺，洞六两勾",
}
OTHER_DIGITS = {  # 勾 and 拐 in a phone number
    "13927351035": "幺三勾 两拐三五 幺洞三五",
    "13462251448": "幺三四 六两两五 幺四四八",
}


def _cases(forms: dict[str, str], value: str) -> list:
    return [pytest.param(text, value, id=name) for name, text in forms.items()]


@pytest.mark.parametrize(
    ("slot_name", "text", "value"),
    [("phone_number", *case.values) for case in _cases(PHONE_FORMS, DEMO.phone)]
    + [("phone_number", text, phone) for phone, text in OTHER_DIGITS.items()]
    + [("id_last6", *case.values) for case in _cases(ID_LAST6_FORMS, DEMO.id_last6)]
    + [("id_last6", *case.values) for case in _cases(X_LAST6_FORMS, X_ID[-6:])]
    + [("id_number", *case.values) for case in _cases(ID_NUMBER_FORMS, FULL.id_number)],
)
def test_every_spoken_form_reads_as_its_slot(slot_name, text, value):
    assert digits.read_text(slot_name, text) == value


@pytest.mark.parametrize(
    "text", [*ID_LAST6_FORMS.values(), *X_LAST6_FORMS.values(), *ID_NUMBER_FORMS.values()]
)
def test_id_digits_are_never_a_phone_number(text):
    assert digits.read_text("phone_number", text) is None


@pytest.mark.parametrize("text", list(PHONE_FORMS.values()))
def test_a_phone_number_is_no_id(text):
    assert digits.read_text("id_last6", text) is None
    assert digits.read_text("id_number", text) is None


@pytest.mark.parametrize("text", ["", "查一下话费", "一下", "两三个", "统一", "幺两拐", "什么"])
def test_words_and_short_runs_fill_no_digit_slot(text):
    assert [digits.read_text(name, text) for name in ("phone_number", "id_last6")] == [None, None]


# ------------------------------------------------------------------------- the verification form

FORM = "verification_form"


def _answer(text, phone, *, requested="id_last6", request="balance", extracted=None, **kwargs):
    """The form's snapshot after the customer answered `text`: `phone` was accepted in an
    earlier turn; by default the NLU took the answer for a phone number too (as it does)."""
    return snapshot(
        slots={
            "pending_request": request,
            "identity_status": "needed",
            "requested_slot": requested,
            "phone_number": phone,
        },
        history=[slot("phone_number", phone)] if phone else [],
        text=text,
        extracted=extracted if extracted is not None else {"phone_number": text, requested: text},
        active_loop=FORM,
        **kwargs,
    )


def _verified_events(slot_name, phone, level="basic"):
    return [
        slot("phone_number", phone),
        slot(slot_name, None),
        slot("verified_phone", phone),
        slot("verified_level", level),
        slot("identity_status", "verified"),
        slot("requested_slot", None),
    ]


def _failures(store) -> int:
    conn = sqlite3.connect(store.path)
    try:
        return conn.execute("SELECT COUNT(*) FROM verification_attempts").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize(("text", "value"), _cases(ID_LAST6_FORMS, DEMO.id_last6))
def test_spoken_id_last6_after_a_spoken_phone_verifies(flows, text, value):
    events, messages = run(ValidateVerificationForm(), _answer(text, DEMO.phone))
    assert events == _verified_events("id_last6", DEMO.phone)
    assert texts(messages) == "身份核验通过（138****8000），谢谢您的配合。"


@pytest.mark.parametrize(("text", "value"), _cases(X_LAST6_FORMS, X_ID[-6:]))
def test_spoken_id_last6_with_x_verifies(flows, text, value):
    assert flows.get_subscriber(X_PHONE) is not None
    events, messages = run(ValidateVerificationForm(), _answer(text, X_PHONE))
    assert events == _verified_events("id_last6", X_PHONE)
    assert "134****1448" in texts(messages) and "手机号" not in texts(messages)


@pytest.mark.parametrize(("text", "value"), _cases(ID_NUMBER_FORMS, FULL.id_number))
def test_spoken_full_id_verifies_for_a_password_reset(flows, text, value):
    state = _answer(text, FULL.phone, requested="id_number", request="reset_password")
    events, _ = run(ValidateVerificationForm(), state)
    assert events == _verified_events("id_number", FULL.phone, level="full")


def test_id_digits_the_nlu_did_not_map_are_read_from_the_text(flows):
    """Spoken digits taken for another request (no slot mapped): the form reads them itself."""
    state = _answer("幺五幺两三八", DEMO.phone, extracted={}, intent="query_balance")
    events, _ = run(ValidateVerificationForm(), state)
    assert events == [
        slot("id_last6", None),
        slot("phone_number", DEMO.phone),
        slot("verified_phone", DEMO.phone),
        slot("verified_level", "basic"),
        slot("identity_status", "verified"),
        slot("requested_slot", None),
    ]


@pytest.mark.parametrize("text", ["幺两拐", "幺五幺两三八九", "嗯……", "不知道"])
def test_a_bad_id_answer_is_refused_for_the_id_and_keeps_the_phone(flows, text):
    events, messages = run(ValidateVerificationForm(), _answer(text, DEMO.phone))
    assert events == [
        slot("phone_number", DEMO.phone),
        slot("id_last6", None),
        slot("requested_slot", "id_last6"),
    ]
    assert texts(messages) == "抱歉，格式不太对，请输入机主身份证号码的最后6位（最后一位可能是X）。"
    assert _failures(flows) == 0  # a malformed answer is no failed attempt


def test_wrong_spoken_digits_count_as_a_wrong_id(flows):
    events, messages = run(ValidateVerificationForm(), _answer("勾勾勾 勾勾勾", DEMO.phone))
    assert events == [
        slot("phone_number", DEMO.phone),
        slot("id_last6", None),
        slot("requested_slot", "id_last6"),
    ]
    assert "还可以尝试4次" in texts(messages) and "手机号" not in texts(messages)
    assert _failures(flows) == 1


def test_a_new_phone_number_while_the_id_is_asked_replaces_the_number(flows):
    """A correction ('不对，是…') is a phone number, not malformed ID digits."""
    text = "不对，是幺三八零零幺三八零零幺"
    events, messages = run(ValidateVerificationForm(), _answer(text, DEMO.phone))
    assert events == [
        slot("phone_number", "13800138001"),
        slot("id_last6", None),
        slot("requested_slot", "id_last6"),
    ]
    assert messages == [] and _failures(flows) == 0


def test_a_spoken_phone_is_never_checked_as_id_digits(flows):
    """Asked for the phone, a number whose digits the NLU also tagged as ID digits."""
    text = "一三八 零零幺三 八零零零"
    state = _answer(
        text, None, requested="phone_number", extracted={"phone_number": text, "id_last6": "380000"}
    )
    events, messages = run(ValidateVerificationForm(), state)
    assert events == [
        slot("phone_number", DEMO.phone),
        slot("id_last6", None),
        slot("requested_slot", "id_last6"),
    ]
    assert messages == [] and _failures(flows) == 0


def test_phone_and_spoken_id_in_one_answer_verify_at_once(flows):
    text = "幺三八零零幺三八零零零，身份证后六位幺五幺两三八"
    state = _answer(
        text, None, requested="phone_number", extracted={"phone_number": text, "id_last6": text}
    )
    events, _ = run(ValidateVerificationForm(), state)
    assert slot("identity_status", "verified") in events
    assert slot("verified_phone", DEMO.phone) in events


def test_a_bad_phone_answer_is_refused_for_the_phone(flows):
    state = _answer(
        "幺两拐洞三叉", None, requested="phone_number", extracted={"phone_number": "幺两拐洞三叉"}
    )
    events, messages = run(ValidateVerificationForm(), state)
    assert events == [slot("phone_number", None), slot("requested_slot", "phone_number")]
    assert "请输入11位手机号" in texts(messages) and "身份证" not in texts(messages)


# ------------------------------------------------------------------------------ the other forms


@pytest.mark.parametrize(("text", "value"), _cases(PHONE_FORMS, DEMO.phone))
def test_ticket_contact_number_in_every_form(flows, text, value):
    state = snapshot(
        slots={"ticket_kind": "callback", "requested_slot": "phone_number"},
        text=text,
        extracted={"phone_number": text},
        active_loop="ticket_form",
    )
    events, messages = run(ValidateTicketForm(), state)
    assert events == [slot("phone_number", value), slot("requested_slot", None)]
    assert messages == []


def test_ticket_contact_number_refusal_names_the_phone(flows):
    state = snapshot(
        slots={"ticket_kind": "callback", "requested_slot": "phone_number"},
        text="幺两拐洞三叉",
        extracted={"phone_number": "幺两拐洞三叉"},
        active_loop="ticket_form",
    )
    events, messages = run(ValidateTicketForm(), state)
    assert events == [slot("phone_number", None), slot("requested_slot", "phone_number")]
    assert "请输入11位手机号" in texts(messages)


FEE_FORMS = {
    "typed": ("79的那个", "5G_STARTER_79"),
    "numerals with 块": ("七十九块的那个", "5G_STARTER_79"),
    "hundreds": ("换成一百二十九的", "5G_PLUS_129"),
    "digits one by one": ("幺二九的套餐", "5G_PLUS_129"),
    "full-width": ("１９９元的", "5G_PREMIUM_199"),
    "Traditional": ("換成一百六十九塊的", "FAMILY_169"),
    "fillers": ("嗯，那个，九十九的吧", "5G_DATA_99"),
}


@pytest.mark.parametrize(("text", "code"), list(FEE_FORMS.values()), ids=list(FEE_FORMS))
def test_target_plan_by_its_fee_in_every_form(flows, text, code):
    state = snapshot(
        slots={**verified(DEMO.phone), "requested_slot": "target_plan"},
        text=text,
        extracted={"target_plan": text},
        active_loop="plan_change_form",
    )
    events, messages = run(ValidatePlanChangeForm(), state)
    assert events == [slot("target_plan", code), slot("plan_confirmed", None)]
    assert messages == []


@pytest.mark.parametrize("text", ["换个5G的", "30G的那个", "39或者59", "便宜点的", "两三个"])
def test_no_fee_or_several_fees_name_no_plan(flows, text):
    assert plan_by_fee(text) is None


MONTH_FORMS = {
    "typed": ("10月的账单", "2026-10"),
    "numerals": ("十月份的账单", "2026-10"),
    "digit by digit": ("幺洞月", "2026-10"),
    "full-width": ("１０月", "2026-10"),
    "Traditional": ("兩個月前的帳單", "2026-09"),
}


@pytest.mark.parametrize(("said", "month"), list(MONTH_FORMS.values()), ids=list(MONTH_FORMS))
def test_bill_month_in_every_form(flows, said, month):
    events, messages = run(ActionAnswerBalance(), snapshot(slots=verified(DEMO.phone, month=said)))
    assert events == [slot("month", None)]
    assert texts(messages).startswith(f"138****8000 {month} 账单合计")


def test_a_fee_the_nlu_took_for_a_new_plan_request_is_read_from_the_text(flows):
    """'换成一百九十九的那个' comes as change_plan with no plan_name: no slot mapping takes it."""
    state = snapshot(
        slots={**verified(DEMO.phone), "requested_slot": "target_plan"},
        text="换成一百九十九的那个",
        intent="change_plan",
        active_loop="plan_change_form",
    )
    events, messages = run(ValidatePlanChangeForm(), state)
    assert events == [slot("target_plan", "5G_PREMIUM_199"), slot("plan_confirmed", None)]
    assert messages == []
    # asked to confirm, a word with no fee leaves the choice alone
    state = snapshot(
        slots={**verified(DEMO.phone), "requested_slot": "plan_confirmed"},
        text="确认办理",
        intent="affirm",
        extracted={"plan_confirmed": True},
        active_loop="plan_change_form",
    )
    assert run(ValidatePlanChangeForm(), state)[0] == [slot("plan_confirmed", True)]

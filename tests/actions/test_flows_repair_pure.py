"""The decisions of conversation repair (actions/flows/repair.py) and of fault vs complaint
(components/triage_rules.report_kinds), without Rasa."""

from __future__ import annotations

import pytest

from actions.flows.repair import (
    Turn,
    asked_requests,
    fault_clause,
    follow_up,
    form_turn,
    further_requests,
    is_cancel,
    is_number_answer,
    order_message,
    request_of,
    requests_in,
)
from components.request_cues import first_request_intent
from components.triage_rules import report_kinds


@pytest.mark.parametrize(
    "text", ["算了", "不办了", "换个问题", "算了吧", "不用了，谢谢", "那算了", "取消", "不换了"]
)
def test_cancel_phrases(text):
    assert is_cancel(text)


@pytest.mark.parametrize(
    "text",
    [
        "算了还是帮我查流量吧",
        "不用了，我要换成79元的那个套餐再查一下话费余额",
        "算了，我也不想多说，就是网太慢",
        "确认",
        "13800138000",
    ],
)
def test_not_a_cancel(text):
    assert not is_cancel(text)


def test_roaming_is_a_price_question_unless_it_opens_or_closes():
    assert request_of("roaming", "去韩国漫游多少钱") == "roaming_price"
    assert request_of("roaming", "帮我开通国际漫游") == "roaming"
    assert request_of("roaming", "随便", roaming_action="deactivate") == "roaming"
    assert request_of("greet", "你好") is None


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("查一下余额，再看看流量还剩多少", ["balance", "data_usage"]),
        ("查下话费然后看看流量还剩多少", ["balance", "data_usage"]),
        ("先查话费然后帮我开通国际漫游", ["balance", "roaming"]),
        ("我想换个流量多一点的套餐", ["change_plan"]),
        ("我的流量还剩多少", ["data_usage"]),
    ],
)
def test_requests_in_a_message(text, found):
    assert requests_in(text) == found


def test_further_requests_follow_the_first():
    assert further_requests("查一下余额，再看看流量还剩多少", "balance") == ["data_usage"]
    assert further_requests("我的流量还剩多少", "data_usage") == []
    assert further_requests("我想换个流量多一点的套餐", "change_plan") == []


def test_the_order_is_said():
    assert order_message("balance", ["data_usage"]) == "好的，先帮您查话费，再查流量。"


@pytest.mark.parametrize(
    ("text", "entities", "last", "wanted"),
    [
        ("那日本呢？", {"destination": "日本"}, "roaming_price", "roaming_price"),
        ("日本呢", {"destination": "日本"}, "roaming", "roaming_price"),
        ("那上个月呢？", {"month": "上个月"}, "balance", "balance"),
        ("那上个月呢？", {"month": "上个月"}, "data_usage", None),
        ("那日本呢？", {"destination": "日本"}, None, None),
        ("我下周去日本出差，要带什么证件", {"destination": "日本"}, "roaming_price", None),
    ],
)
def test_follow_ups_reuse_the_last_request(text, entities, last, wanted):
    assert follow_up(text, entities, last) == wanted


def turn(form, intent, text, pending=None, **kw):
    return form_turn(form, intent, text, pending=pending, **kw)


def test_a_question_inside_a_form_is_a_digression():
    assert turn("plan_change_form", "query_balance", "我现在话费还有多少") == Turn(
        "digression", "balance"
    )
    assert turn("verification_form", "roaming", "先问一下，去韩国漫游多少钱？", "change_plan") == (
        Turn("digression", "roaming_price")
    )
    assert turn("roaming_form", "faq", "发票怎么开") == Turn("digression", "faq")
    assert turn(
        "verification_form",
        "inform",
        "那日本呢？",
        "change_plan",
        entities={"destination": "日本"},
        last="roaming_price",
    ) == Turn("digression", "roaming_price")


def test_an_account_question_before_verification_is_queued():
    assert turn("verification_form", "query_data_usage", "顺便看看流量", "balance") == Turn(
        "queue", "data_usage"
    )
    assert turn("verification_form", "query_data_usage", "算了还是帮我查流量吧", "balance") == Turn(
        "none"
    )
    assert turn("verification_form", "query_balance", "查话费", "balance") == Turn("none")


def test_another_transaction_asks_before_switching():
    assert turn("plan_change_form", "roaming", "我还是先开通国际漫游吧") == Turn(
        "switch", "roaming"
    )
    assert turn("roaming_form", "change_plan", "我要换套餐") == Turn("switch", "change_plan")
    assert turn("ticket_form", "change_plan", "帮我换个套餐") == Turn("switch", "change_plan")
    assert turn("plan_change_form", "change_plan", "还是换99元的吧") == Turn("none")
    assert turn("roaming_form", "roaming", "去日本多少钱") == Turn("none")


def test_cancel_inside_any_form_but_not_a_yes():
    for form in ("verification_form", "plan_change_form", "roaming_form", "ticket_form"):
        assert turn(form, "change_plan", "换个问题") == Turn("cancel")
    assert turn("plan_change_form", "affirm", "取消") != Turn("cancel")
    # asking about something else is never a yes, even when the NLU reads one into it
    assert turn("plan_change_form", "affirm", "换个问题") == Turn("cancel")


def test_a_cancel_that_names_another_transaction_switches_at_once():
    assert turn("ticket_form", "change_plan", "算了，我还是想先换个套餐") == Turn(
        "switch_now", "change_plan"
    )


@pytest.mark.parametrize(
    ("intent", "text", "kinds"),
    [
        ("complain", "又断网了！你们到底管不管，赶紧派人来修", ("fault", True)),
        ("complain", "家里宽带又断了，气死我了，快派人来", ("fault", False)),
        ("complain", "我要投诉你们客服态度太差", ("complaint", False)),
        ("complain", "你们乱扣我话费", ("complaint", False)),
        ("report_fault", "手机没信号三天了，打了三次电话都没人管", ("fault", True)),
        ("report_fault", "手机没信号", ("fault", False)),
    ],
)
def test_faults_and_complaints(intent, text, kinds):
    assert report_kinds(intent, text) == kinds


@pytest.mark.parametrize(
    ("text", "intent", "wanted"),
    [
        ("查一下余额，再看看流量还剩多少", "nlu_fallback", "query_balance"),
        ("先查一下话费，然后帮我换个套餐", "change_plan", "query_balance"),
        ("帮我看看流量还剩多少，顺便开通国际漫游", "roaming", "query_data_usage"),
        ("我想换个流量多一点的套餐", "change_plan", None),
        ("话费乱扣，流量也用不了，我要投诉", "complain", None),
        # undecided between a fault and a request: the fault, said first, comes first
        ("家里手机没信号了，顺便查下话费还剩多少", "nlu_fallback", "report_fault"),
        ("查下话费还剩多少，还有家里宽带断了", "nlu_fallback", "query_balance"),
        # a decided intent is not overturned by a fault it mentions
        ("网络太差了，我想换个套餐", "change_plan", None),
        ("家里手机没信号了", "nlu_fallback", None),
    ],
)
def test_a_message_of_several_requests_gets_the_first_ones_intent(text, intent, wanted):
    assert first_request_intent(text, intent) == wanted


def test_requests_asked_beside_a_ticket():
    assert asked_requests("家里宽带断了，顺便查下话费") == ["balance"]
    assert asked_requests("手机没信号了，再看看我流量还剩多少") == ["data_usage"]
    assert asked_requests("你们乱扣我话费，我要投诉") == []


def test_a_bare_destination_after_a_price_question():
    assert follow_up("日本", {"destination": "日本"}, "roaming_price") == "roaming_price"
    assert follow_up("日本", {"destination": "日本"}, "balance") is None


def test_a_cancel_naming_another_request_while_verifying_replaces_it():
    assert turn("verification_form", "change_plan", "算了，帮我换个套餐吧", "balance") == Turn(
        "none"
    )
    assert turn("ticket_form", "query_balance", "算了，查下话费吧") == Turn("switch_now", "balance")


def test_a_password_reset_is_not_a_fault_report() -> None:
    text = "嗯 我那个服务密码忘了 帮我重置一下"
    assert fault_clause(text) is None
    assert further_requests(text, "reset_password") == []
    assert fault_clause("家里手机没信号了，顺便查下话费还剩多少") == "家里手机没信号了"


@pytest.mark.parametrize(
    "text",
    [
        "三两洞幺洞两 幺勾五两幺两洞幺 洞六两勾",
        "幺零二零三 爱克斯",
        "13800138000",
        "幺三八 洞洞幺三 八洞洞六",
    ],
)
def test_a_spoken_number_answers_the_form_whatever_the_intent(text) -> None:
    turn = form_turn("verification_form", "change_plan", text, pending="balance")
    assert turn.kind == "none"


def test_a_number_beside_a_request_is_still_the_request() -> None:
    assert not is_number_answer("帮13800138000查一下话费")
    assert not is_number_answer("换成79的套餐")

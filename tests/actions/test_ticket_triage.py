"""A ticket's stored description and what the customer is told happens next
(actions/ticket_triage.py): whole texts, per kind and severity, with and without a number."""

from __future__ import annotations

import pytest

from actions.ticket_triage import clean_description, next_steps

PHONE = "13800138000"


def test_description_is_masked_printable_stripped_and_cut():
    text = f"  我的号码{PHONE}，身份证110105198806151234\x00\x07断网了\n\t第二行  "
    assert clean_description(text) == (
        "我的号码138****8000，身份证110***********1234断网了\n\t第二行"
    )
    assert clean_description("好" * 1200) == "好" * 1000
    assert clean_description("好" * 20, limit=5) == "好" * 5
    assert clean_description("") == "" and clean_description(None) == ""  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "severity", "phone", "expected"),
    [
        (
            "callback",
            None,
            PHONE,
            "已为您登记人工回电请求，工单号 T1。客服人员会在工作时间（每天 8:00–22:00）"
            "尽快回电到 138****8000，请保持电话畅通。",
        ),
        (
            "callback",
            None,
            None,
            "已为您登记人工回电请求，工单号 T1。客服人员会在工作时间（每天 8:00–22:00）"
            "尽快回电，请保持电话畅通。",
        ),
        (
            "fault",
            "major",
            PHONE,
            "已为您登记故障报修，工单号 T1。网络类故障会在45分钟内响应，维修人员会先电话联系确认"
            "，结果会通知到 138****8000。处理过程中可以随时说“查工单”了解进度。",
        ),
        (
            "complaint",
            "major",
            None,
            "非常抱歉给您带来困扰。您的投诉已按重大问题登记，工单号 T1，"
            "已立即升级给专门的处理团队，会尽快与您联系并给出处理和补偿方案。",
        ),
        (
            "complaint",
            "normal",
            PHONE,
            "非常抱歉给您带来不好的体验。投诉已登记，工单号 T1。我们会在24小时内联系您，"
            "48小时内给出处理结果，结果会通知到 138****8000。",
        ),
        (
            "complaint",
            None,
            None,
            "非常抱歉给您带来不好的体验。投诉已登记，工单号 T1。我们会在24小时内联系您，"
            "48小时内给出处理结果。",
        ),
    ],
)
def test_next_steps(kind, severity, phone, expected):
    assert next_steps(kind, severity, "T1", phone) == expected

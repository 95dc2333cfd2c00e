"""The satisfaction survey after an agent completes a conversation, and after the assistant alone
served one (the rating only, skippable): pure functions."""

from __future__ import annotations

import re

from router.gateway.models import Button

SKIP = "/survey_skip"
_RATE = re.compile(r"^/rate\{\"score\":\s*([1-5])\}$")
_CHINESE = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_TEXT = re.compile(r"^\s*([1-5一二两三四五])\s*(?:分|星|颗星)?\s*[。.!！]?\s*$")


def rating_payload(score: int) -> str:
    return '/rate{"score":' + str(score) + "}"


def ask_rating(agent_name: str | None) -> tuple[str, list[Button]]:
    who = f"客服{agent_name}" if agent_name else "人工客服"
    text = f"本次人工服务已结束。请为{who}的服务打分：1 分非常不满意，5 分非常满意。"
    buttons = [Button(title=f"{n} 分", payload=rating_payload(n)) for n in range(5, 0, -1)]
    return text, buttons


def ask_bot_rating() -> tuple[str, list[Button]]:
    text = "感谢您的咨询！方便为智能助手本次的服务打个分吗？1 分非常不满意，5 分非常满意。"
    buttons = [Button(title=f"{n} 分", payload=rating_payload(n)) for n in range(5, 0, -1)]
    return text, [*buttons, Button(title="跳过", payload=SKIP)]


def ask_comment() -> tuple[str, list[Button]]:
    return "感谢您的评分！还有什么意见或建议吗？可直接输入，或点击“跳过”。", [
        Button(title="跳过", payload=SKIP)
    ]


THANKS = "感谢您的反馈，祝您生活愉快！如还有其他问题，可以随时问我。"


def parse_rating(text: str, payload: str | None) -> int | None:
    """1–5 from a clicked button or typed text ('5', '5分', '五星'); None when it is no rating."""
    if payload:
        match = _RATE.match(payload.strip())
        if match:
            return int(match.group(1))
    match = _TEXT.match(text or "")
    if not match:
        return None
    value = match.group(1)
    return int(value) if value.isdigit() else _CHINESE[value]

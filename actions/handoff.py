"""Handing a conversation to a human agent: the pure decisions (no Rasa import, no I/O).

Why the conversation goes to a human (`handoff_reason`), to which skills (`skills_for`), what the
agent reads (`build_summary`, `transcript_from_events`) and the router's HandoffCreate body
(`build_handoff`); then what the customer hears about their place in the queue
(`queued_message`). `actions/router_client.py` sends the body; `actions/flows/handoff.py` holds
the thin rasa_sdk actions:

    payload = build_handoff(conversation_id, intent=..., reason=..., urgency=...,
                            events=tracker.events, phone=..., tier=..., verified_level=...,
                            secret=settings.identity_secret)
    router = RouterClient(settings.router_url, settings.service_token)
    created = await router.create_handoff(payload)
    dispatcher.utter_message(text=queued_message(created, again=...))

The payload follows the router's HandoffCreate (docs: architecture, routing contract): every
personal number in it is masked; the customer id is a keyed pseudonym of the phone number (stable,
so the router can offer a returning customer to their last agent, but not the number itself).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from actions import triage
from telecom import labels, mask
from telecom.urgency import LABELS as URGENCY_LABELS
from telecom.urgency import known, rank
from telecom.wait import wait_text

__all__ = [
    "DEFAULT_SKILL",
    "ESCALATIONS",
    "INTENT_SKILLS",
    "REASONS",
    "bot_actions",
    "build_customer",
    "build_handoff",
    "build_summary",
    "customer_ref",
    "failed_turns",
    "handoff_intent",
    "handoff_reason",
    "previous_action",
    "queued_message",
    "skills_for",
    "transcript_from_events",
]

# Skills the router's agents hold (agents also list languages; the handoff's language is "zh").
INTENT_SKILLS: dict[str, str] = {
    "query_balance": "billing",
    "faq/payment": "billing",
    "faq/invoice": "billing",
    "faq/store_hours": "billing",
    "query_data_usage": "plans_data",
    "query_plan": "plans_data",
    "change_plan": "plans_data",
    "faq/family_plan": "plans_data",
    "faq/shared_data": "plans_data",
    "faq/data_pack": "plans_data",
    "faq/vanity_number": "plans_data",
    "faq/number_porting": "plans_data",
    "faq/esim": "plans_data",
    "faq/5g": "plans_data",
    "roaming": "roaming",
    "reset_password": "account_security",
    "faq/documents": "account_security",
    "complain": "complaints",
    "check_ticket": "complaints",
    "report_fault": "network_faults",
    "faq/broadband_install": "network_faults",
}
# When nothing the customer asked maps to a skill (a bare "转人工"), billing agents take it:
# the front desk of the operator's hotline.
DEFAULT_SKILL = "billing"

# Why the assistant hands off → the reason in Chinese, for the agent. Some reasons also decide
# the skill whatever the customer asked (`triage.escalation_skill`).
REASONS: dict[str, str] = {
    "request_human": "客户要求转人工",
    "fallback": "机器人连续两次未能理解客户",
    "major_complaint": "重大投诉，需立即升级处理",
    "critical_urgency": "客户情况紧急",
    "verification_locked": "身份验证失败次数过多，已锁定",
    "repeat_contact": "客户24小时内再次就同一问题来电",
}
# Reasons the dialogue sets in the `handoff_reason` slot when it escalates on its own.
ESCALATIONS = ("critical_urgency", "major_complaint", "repeat_contact")

# What the bot already did, for the agent's summary (action name → Chinese).
ACTION_LABELS = {
    "action_answer_balance": "已答复话费余额/账单",
    "action_answer_data_usage": "已答复剩余流量",
    "action_answer_plan": "已答复当前套餐",
    "action_change_plan": "已处理套餐变更",
    "action_roaming_submit": "已处理国际漫游",
    "action_reset_password": "已处理密码重置",
    "action_create_ticket": "已登记工单",
    "action_list_tickets": "已答复工单进度",
    "utter_ask_rephrase": "曾请客户换个说法",
    "action_clarify": "曾请客户确认想办理的业务",
}

# the intents' labels, defined once in the kernel (buttons, summaries, console, reports)
INTENT_LABELS = labels.INTENTS
TIER_LABELS = {"regular": "普通", "silver": "银卡", "gold": "金卡", "platinum": "白金卡"}
VERIFIED_LABELS = {"basic": "已验证（手机号+身份证后六位）", "full": "已验证（完整身份证号）"}

# Intents that carry no request of their own: the handoff is about an earlier one.
_NOT_A_REQUEST = {
    "greet", "goodbye", "affirm", "deny", "thanks", "bot_challenge", "inform", "request_human",
    "out_of_scope", "nlu_fallback", "cancel_handoff",
}  # fmt: skip


def skills_for(intent: str | None, reason: str | None = None) -> list[str]:
    """The router skills for a handoff about `intent`; a reason may decide instead (a major
    complaint goes to complaints supervisors whatever was asked)."""
    override = triage.escalation_skill(reason)
    if override:
        return [override]
    if intent and intent in INTENT_SKILLS:
        return [INTENT_SKILLS[intent]]
    if intent and intent.split("/", 1)[0] == "faq":
        return ["plans_data"]
    return [DEFAULT_SKILL]


def _intent_of(event: Mapping[str, Any]) -> str | None:
    parse = event.get("parse_data") or {}
    name = (parse.get("intent") or {}).get("name")
    retrieval = (parse.get("response_selector") or {}).get("faq", {}).get("response", {})
    sub = retrieval.get("intent_response_key")
    if name == "faq" and sub:
        return str(sub)
    return str(name) if name else None


def handoff_intent(events: Iterable[Mapping[str, Any]]) -> str | None:
    """The customer's last real request in the tracker (skipping greet, inform, request_human…)."""
    found: str | None = None
    for event in events:
        if event.get("event") == "user":
            intent = _intent_of(event)
            if intent and intent not in _NOT_A_REQUEST:
                found = intent
    return found


def _iso(ts: Any) -> str | None:
    if isinstance(ts, (int, float)):
        return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()
    return None


def transcript_from_events(
    events: Iterable[Mapping[str, Any]], limit: int = 100
) -> list[dict[str, Any]]:
    """The conversation as the router's transcript turns: {"role": "customer"|"bot", "text", "ts"}.

    `events` are Rasa tracker events as dicts (tracker.events). Button payloads sent by the
    customer ("/affirm") are skipped; personal numbers in any text are masked; the last `limit`
    turns are kept.
    """
    turns: list[dict[str, Any]] = []
    for event in events:
        kind = event.get("event")
        text = event.get("text")
        if kind not in ("user", "bot") or not isinstance(text, str) or not text.strip():
            continue
        if kind == "user" and text.startswith("/"):
            continue
        turns.append(
            {
                "role": "customer" if kind == "user" else "bot",
                "text": mask.text(text)[:8000],
                "ts": _iso(event.get("timestamp")),
            }
        )
    return turns[-limit:]


def customer_ref(phone: str | None, secret: str) -> str | None:
    """A stable pseudonym of the customer's number (keyed hash), never the number itself."""
    if not phone:
        return None
    digest = hmac.new(secret.encode(), phone.encode(), hashlib.sha256).hexdigest()
    return "c-" + digest[:20]


def build_customer(phone: str | None, tier: str | None, secret: str) -> dict[str, Any]:
    """The router's customer object: {"id": pseudonym or None, "tier"}."""
    return {"id": customer_ref(phone, secret), "tier": tier or "regular"}


def build_summary(
    *,
    intent: str | None,
    reason: str | None,
    urgency: str = "normal",
    phone: str | None = None,
    tier: str | None = None,
    verified_level: str | None = None,
    bot_actions: Sequence[str] = (),
) -> str:
    """What the customer wanted and what the bot did, in Chinese, for the agent."""
    want = INTENT_LABELS.get(intent or "", intent or "未明确")
    lines = [f"客户诉求：{want}"]
    why = REASONS.get(reason or "", reason or "")
    if why:
        lines.append(f"转人工原因：{why}")
    lines.append(f"紧急程度：{URGENCY_LABELS.get(urgency, urgency)}")
    who = mask.phone(phone) if phone else "未提供手机号"
    level = VERIFIED_LABELS.get(verified_level or "", "未验证")
    lines.append(f"客户：{who}，{TIER_LABELS.get(tier or 'regular', tier or '普通')}客户，{level}")
    done = "；".join(mask.text(a) for a in bot_actions if a) or "尚未办理任何业务"
    lines.append(f"机器人已处理：{done}")
    return "\n".join(lines)


def build_handoff(
    conversation_id: str,
    *,
    intent: str | None = None,
    reason: str | None = "request_human",
    urgency: str = "normal",
    events: Iterable[Mapping[str, Any]] = (),
    phone: str | None = None,
    tier: str | None = None,
    verified_level: str | None = None,
    secret: str = "",
    channel: str = "web",
    language: str = "zh",
    bot_actions: Sequence[str] = (),
) -> dict[str, Any]:
    """The POST /v1/handoffs body. `intent` defaults to the last real request in `events`."""
    events = list(events)
    intent = intent if intent and intent not in _NOT_A_REQUEST else handoff_intent(events) or intent
    urgency = known(urgency)
    if reason == "critical_urgency":
        urgency = "critical"
    elif reason == "major_complaint" and rank(urgency) < rank("high"):
        urgency = "high"
    return {
        "conversation_id": conversation_id,
        "channel": channel,
        "language": language,
        "intent": intent or "",
        "urgency": urgency,
        "skills": skills_for(intent, reason),
        "customer": build_customer(phone, tier, secret),
        "summary": build_summary(
            intent=intent,
            reason=reason,
            urgency=urgency,
            phone=phone,
            tier=tier,
            verified_level=verified_level,
            bot_actions=bot_actions,
        ),
        "transcript": transcript_from_events(events),
    }


# ------------------------------------------------------------------------------ why, and what done


def previous_action(events: Sequence[Mapping[str, Any]]) -> str | None:
    """The last action (not action_listen) before the latest user message."""
    seen_user = False
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user" and not seen_user:
            seen_user = True
        elif kind == "action" and seen_user and event.get("name") != "action_listen":
            return str(event.get("name"))
    return None


def handoff_reason(
    *, intent: str, slot_reason: str | None, previous: str | None, identity_status: str | None
) -> str:
    """The router reason for this handoff (keys of REASONS)."""
    if slot_reason in ESCALATIONS and intent not in ("request_human", "affirm"):
        return slot_reason
    if previous == "utter_offer_human":
        return "fallback"
    if previous == "verification_form" and identity_status == "failed":
        return "verification_locked"
    return "request_human"


def bot_actions(events: Iterable[Mapping[str, Any]], identity_status: str | None) -> list[str]:
    """What the bot did in this conversation, in Chinese, oldest first, without repeats."""
    done: list[str] = []
    for event in events:
        if event.get("event") != "action":
            continue
        label = ACTION_LABELS.get(str(event.get("name")))
        if label and label not in done:
            done.append(label)
    if identity_status == "verified":
        done.insert(0, "已完成身份核验")
    elif identity_status == "failed":
        done.insert(0, "身份核验失败次数过多，已锁定")
    return done


def failed_turns(events: Iterable[Mapping[str, Any]]) -> int:
    """How many of the customer's turns the NLU did not understand."""
    return sum(
        1
        for e in events
        if e.get("event") == "user"
        and ((e.get("parse_data") or {}).get("intent") or {}).get("name") == "nlu_fallback"
    )


# ------------------------------------------------------------------------------ the queue


def queued_message(created: Mapping[str, Any], *, again: bool) -> str:
    """The customer's place in the queue and the expected wait, in Chinese."""
    status = created.get("status")
    position = created.get("queue_position")
    head = "您的转人工请求正在排队中" if again else "已为您转接人工客服"
    if status in ("offered", "assigned") or not isinstance(position, int):
        where = "客服马上就来，请稍候"
    else:
        ahead = max(position - 1, 0)
        where = "您已排在最前面" if ahead == 0 else f"您前面还有{ahead}位"
        wait = created.get("estimated_wait_s")
        where += f"，{wait_text(wait if isinstance(wait, (int, float)) else None)}"
    return f"{head}，{where}；等待期间您也可以继续问我问题，说“不用转了”可以取消。"

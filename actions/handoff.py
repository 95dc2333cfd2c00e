"""Handing a conversation to a human agent: the payload for the router and the HTTP calls.

Pure helpers for the action server (no Rasa import; stdlib only), called by the dialogue's
handoff action:

    payload = build_handoff(conversation_id, intent=..., reason=..., urgency=...,
                            events=tracker.events, phone=..., tier=..., verified_level=...,
                            secret=settings.identity_secret)
    created = create_handoff(settings.router_url, settings.service_token, payload)
    # created: {"handoff_id", "status", "queue_position", "estimated_wait_s"}
    cancel_handoff(settings.router_url, settings.service_token, created["handoff_id"])

The payload follows the router's HandoffCreate (docs: architecture, routing contract): every
personal number in it is masked; the customer id is a keyed pseudonym of the phone number (stable,
so the router can offer a returning customer to their last agent, but not the number itself).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from telecom import mask

__all__ = [
    "DEFAULT_SKILL",
    "INTENT_SKILLS",
    "REASONS",
    "HandoffError",
    "build_customer",
    "build_handoff",
    "build_summary",
    "cancel_handoff",
    "create_handoff",
    "customer_ref",
    "handoff_intent",
    "skills_for",
    "transcript_from_events",
]

# Skills the router's agents hold (agents also list languages; the handoff's language is "zh").
INTENT_SKILLS: dict[str, str] = {
    "query_balance": "billing",
    "faq/payment": "billing",
    "faq/invoice": "billing",
    "query_data_usage": "plans_data",
    "query_plan": "plans_data",
    "change_plan": "plans_data",
    "faq/family_plan": "plans_data",
    "faq/shared_data": "plans_data",
    "faq/data_pack": "plans_data",
    "faq/vanity_number": "plans_data",
    "faq/number_porting": "plans_data",
    "roaming": "roaming",
    "reset_password": "account_security",
    "complain": "complaints",
    "check_ticket": "complaints",
    "report_fault": "network_faults",
    "faq/broadband_install": "network_faults",
}
# When nothing the customer asked maps to a skill (a bare "转人工"), billing agents take it:
# the front desk of the operator's hotline.
DEFAULT_SKILL = "billing"

# Why the assistant hands off → (skill that overrides the intent's, Chinese reason for the agent).
REASONS: dict[str, tuple[str | None, str]] = {
    "request_human": (None, "客户要求转人工"),
    "fallback": (None, "机器人连续两次未能理解客户"),
    "major_complaint": ("complaints", "重大投诉，需立即升级处理"),
    "critical_urgency": (None, "客户情况紧急"),
    "verification_locked": ("account_security", "身份验证失败次数过多，已锁定"),
    "repeat_contact": (None, "客户24小时内再次就同一问题来电"),
}

INTENT_LABELS: dict[str, str] = {
    "query_balance": "查询话费余额/账单",
    "query_data_usage": "查询剩余流量",
    "query_plan": "查询当前套餐",
    "change_plan": "变更套餐",
    "roaming": "国际漫游",
    "reset_password": "重置服务密码",
    "complain": "投诉",
    "report_fault": "故障报修",
    "check_ticket": "查询工单进度",
    "request_human": "转人工",
    "out_of_scope": "其他问题",
    "faq/invoice": "发票",
    "faq/family_plan": "家庭套餐",
    "faq/shared_data": "流量共享",
    "faq/broadband_install": "宽带安装",
    "faq/number_porting": "携号转网",
    "faq/data_pack": "流量包",
    "faq/vanity_number": "靓号",
    "faq/payment": "充值缴费",
}
URGENCY_LABELS = {"low": "低", "normal": "普通", "high": "高", "critical": "紧急"}
TIER_LABELS = {"regular": "普通", "silver": "银卡", "gold": "金卡", "platinum": "白金卡"}
VERIFIED_LABELS = {"basic": "已验证（手机号+身份证后六位）", "full": "已验证（完整身份证号）"}

# Intents that carry no request of their own: the handoff is about an earlier one.
_NOT_A_REQUEST = {
    "greet", "goodbye", "affirm", "deny", "thanks", "bot_challenge", "inform", "request_human",
    "out_of_scope", "nlu_fallback", "cancel_handoff",
}  # fmt: skip


class HandoffError(RuntimeError):
    """The router refused or could not be reached. `status` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def skills_for(intent: str | None, reason: str | None = None) -> list[str]:
    """The router skills for a handoff about `intent` (a reason may override, e.g. complaints)."""
    override = REASONS.get(reason or "", (None, ""))[0]
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
    why = REASONS.get(reason or "", (None, reason or ""))[1]
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
    if urgency not in URGENCY_LABELS:
        urgency = "normal"
    if reason == "critical_urgency":
        urgency = "critical"
    elif reason == "major_complaint" and urgency in ("low", "normal"):
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


def _call(method: str, url: str, token: str | None, body: Any = None, timeout: float = 5.0) -> Any:
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raise HandoffError(f"router answered {exc.code} to {method}", exc.code) from None
    except (urllib.error.URLError, OSError) as exc:
        raise HandoffError(f"router unreachable: {type(exc).__name__}") from None
    return json.loads(raw) if raw else None


def create_handoff(
    router_url: str, service_token: str | None, payload: Mapping[str, Any], timeout: float = 5.0
) -> dict[str, Any]:
    """POST /v1/handoffs → {"handoff_id", "status", "queue_position", "estimated_wait_s"}.

    Raises HandoffError (with .status) when the router refuses or cannot be reached.
    """
    reply = _call("POST", router_url.rstrip("/") + "/v1/handoffs", service_token, payload, timeout)
    if not isinstance(reply, dict) or "handoff_id" not in reply:
        raise HandoffError("router reply without handoff_id")
    return reply


def cancel_handoff(
    router_url: str, service_token: str | None, handoff_id: str, timeout: float = 5.0
) -> bool:
    """DELETE /v1/handoffs/{id}: True when cancelled, False when it no longer exists (404)."""
    url = router_url.rstrip("/") + "/v1/handoffs/" + urllib.request.quote(handoff_id, safe="")
    try:
        _call("DELETE", url, service_token, None, timeout)
    except HandoffError as exc:
        if exc.status == 404:
            return False
        raise
    return True

"""A ticket's text: the description as stored, and what the customer is told happens next.

The keyword checks of a description (category, severity, whether a request already describes the
problem) are in components/triage_rules.py, with the rest of triage.
"""

from __future__ import annotations

from telecom import mask


def clean_description(text: str, limit: int = 1000) -> str:
    """Customer text for a ticket: phone and ID numbers masked, control characters gone, cut."""
    text = mask.text(text or "")
    text = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())
    return text.strip()[:limit]


def next_steps(kind: str, severity: str | None, ticket_id: str, phone: str | None) -> str:
    who = f"，结果会通知到 {mask.phone(phone)}" if phone else ""
    if kind == "callback":
        return (
            f"已为您登记人工回电请求，工单号 {ticket_id}。客服人员会在工作时间（每天 8:00–22:00）"
            f"尽快回电{('到 ' + mask.phone(phone)) if phone else ''}，请保持电话畅通。"
        )
    if kind == "fault":
        return (
            f"已为您登记故障报修，工单号 {ticket_id}。"
            "网络类故障会在45分钟内响应，维修人员会先电话联系确认"
            f"{who}。处理过程中可以随时说“查工单”了解进度。"
        )
    if severity == "major":
        return (
            f"非常抱歉给您带来困扰。您的投诉已按重大问题登记，工单号 {ticket_id}，"
            "已立即升级给专门的处理团队，"
            f"会尽快与您联系并给出处理和补偿方案{who}。"
        )
    return (
        f"非常抱歉给您带来不好的体验。投诉已登记，工单号 {ticket_id}。我们会在24小时内联系您，"
        f"48小时内给出处理结果{who}。"
    )

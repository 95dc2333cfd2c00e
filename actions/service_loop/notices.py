"""What the ticket service says, defined once and pure: the customer's notices (a response, the
result, the satisfaction question, an outage's new restoration time or its repair) and the
supervisors' alerts (a deadline warning, a breach, a page). Chinese, with the ticket id; never
the phone number. Text from agents and operators arrives escaped already (the store cleans it)
and is put in as it is.
"""

from __future__ import annotations

from datetime import datetime

from actions.replies import SERVICE_NAMES, local_datetime
from telecom.dates import CHINA_TZ
from telecom.labels import TEAMS

__all__ = [
    "ALERT_KINDS",
    "LINK",
    "NOTICE_KINDS",
    "OUTAGE_FIXED",
    "WINDOW_NAMES",
    "alert_text",
    "follow_up_text",
    "outage_closed_text",
    "outage_update_text",
    "response_text",
    "result_text",
    "sms_body",
]

NOTICE_KINDS = ("response", "result", "follow_up", "outage_update", "outage_closed")
ALERT_KINDS = ("warning", "breach", "page")
LINK = "{link}"  # a follow-up's placeholder: the router puts the feedback page's address there
OUTAGE_FIXED = "网络故障已修复"  # an outage's result when its close gives none
WINDOW_NAMES = {"respond": "响应", "resolve": "办结", "follow_up": "回访"}
SMS_PREFIX = "【客服通知】"


def response_text(ticket_id: str, text: str) -> str:
    """An agent's response to the customer."""
    return f"关于您的工单 {ticket_id}，客服回复：{text}"


def _sentence(text: str) -> str:
    """`text` ending in one full stop (an agent may or may not have typed one)."""
    return text.rstrip().rstrip("。.！!") + "。"


def result_text(ticket_id: str, result: str, remedy: str | None) -> str:
    """The ticket resolved: its result, and the remedy offered when there is one."""
    offer = f"为表歉意，我们为您提供：{_sentence(remedy)}" if remedy else ""
    return (
        f"您的工单 {ticket_id} 已处理完毕。处理结果：{_sentence(result)}{offer}"
        "如对处理结果不满意，可以直接回复或再次联系我们。"
    )


def follow_up_text(ticket_id: str) -> str:
    """The satisfaction question; LINK stands for the feedback page's address."""
    return (
        f"您好，您的工单 {ticket_id} 已处理完毕。想请您花一分钟评价这次处理是否满意"
        f"（1-5分）：{LINK} 感谢您的反馈！"
    )


def _outage_name(district: str, service: str) -> str:
    return f"{district}{SERVICE_NAMES.get(service, service)}故障"


def outage_update_text(
    ticket_id: str, district: str, service: str, expected_restore_at: datetime | None
) -> str:
    """An attached report's outage has a new expected restoration time."""
    when = (
        f"预计 {local_datetime(expected_restore_at)} 恢复"
        if expected_restore_at
        else "恢复时间尚未确定，我们正在全力抢修"
    )
    return (
        f"您报修的问题（工单 {ticket_id}）所关联的{_outage_name(district, service)}有新进展："
        f"{when}。给您带来不便非常抱歉。"
    )


def outage_closed_text(ticket_id: str, district: str, service: str, result: str) -> str:
    """An attached report's outage is over; the ticket is resolved with it."""
    return (
        f"您报修的问题（工单 {ticket_id}）所关联的{_outage_name(district, service)}已处理："
        f"{result}。如果仍有问题，请再联系我们。"
    )


def sms_body(text: str) -> str:
    """A notice as an SMS."""
    return f"{SMS_PREFIX}{text}"


def _short_time(moment: datetime) -> str:
    """'12-05 10:30' in China time."""
    return moment.astimezone(CHINA_TZ).strftime("%m-%d %H:%M")


def _supervisor(team: str) -> str:
    label = TEAMS.get(team, team)
    return label if team == "complaints_supervisors" else f"{label}主管"


def alert_text(
    kind: str,
    ticket_id: str,
    window: str | None,
    due: datetime | None,
    team: str,
    *,
    ticket_kind: str = "complaint",
    now: datetime | None = None,
) -> str:
    """A supervisor's alert. warning: the window falls due soon (or fell due: `now` past it)
    and the ticket was escalated to the team's supervisor; breach: the window was missed;
    page: a major complaint or a critical fault, for the complaints supervisors at once."""
    window_name = WINDOW_NAMES.get(window or "", window or "")
    if kind == "warning" and due is not None:
        passed = now is not None and now > due
        when = f"已于 {_short_time(due)} 到期" if passed else f"将于 {_short_time(due)} 到期"
        return f"工单 {ticket_id} 的{window_name}时限{when}，已升级至{_supervisor(team)}"
    if kind == "breach" and due is not None:
        return (
            f"工单 {ticket_id} 的{window_name}时限已于 {_short_time(due)} 超时"
            f"（{TEAMS.get(team, team)}），已计入超时统计"
        )
    what = "重大投诉" if ticket_kind == "complaint" else "紧急故障"
    group = TEAMS.get(team, team)
    return f"{what}：工单 {ticket_id} 需立即处理，已通知投诉主管（当前处理组：{group}）"

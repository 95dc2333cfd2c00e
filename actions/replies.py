"""Pure decisions and reply texts for the account flows (no Rasa, no store access).

Phones are always shown masked; ID digits never appear in any reply.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from telecom import labels, mask, tickets
from telecom.dates import CHINA_TZ
from telecom.money import yuan

if TYPE_CHECKING:
    from actions.store.base import Bill, BillItem, Charges, Outage, Package, Ticket
    from actions.triage import TicketSla
    from telecom.catalog import Plan

# intent → (pending_request, verification level it needs)
SENSITIVE_REQUESTS = {
    "query_balance": ("balance", "basic"),
    "query_data_usage": ("data_usage", "basic"),
    "query_plan": ("plan", "basic"),
    "change_plan": ("change_plan", "basic"),
    "roaming": ("roaming", "basic"),
    "reset_password": ("reset_password", "full"),
    "check_ticket": ("check_ticket", "basic"),
}
LEVEL_FOR_REQUEST = {request: level for request, level in SENSITIVE_REQUESTS.values()}
NEAR_EXHAUSTION = 0.9


@dataclass(frozen=True)
class IdentityDecision:
    status: str  # verified | needed
    verified_phone: str | None
    verified_level: str | None
    phone_number: str | None  # candidate number for the form (None: ask)


def level_satisfies(have: str | None, need: str) -> bool:
    return have == "full" or (have == "basic" and need == "basic")


def decide_identity(
    need: str,
    *,
    verified_phone: str | None,
    verified_level: str | None,
    candidate_phone: str | None,
    login_phone: str | None,
) -> IdentityDecision:
    """Whether a request can go ahead on what is already known, or needs the form.

    A signed app login counts as `basic`. A number mentioned in the request that differs from
    the verified one needs its own verification.
    """
    if login_phone and verified_phone != login_phone:
        verified_phone, verified_level = login_phone, "basic"
    target = candidate_phone or verified_phone
    if verified_phone and target == verified_phone and level_satisfies(verified_level, need):
        return IdentityDecision("verified", verified_phone, verified_level, verified_phone)
    return IdentityDecision("needed", verified_phone, verified_level, target)


NOTICE_VERSION = "2"  # raise it when the notice's wording changes; notice_version() adds a hash


def privacy_notice(level: str, retention_days: int = 30) -> str:
    """Why the data is asked for, what is kept and for how long (shown before it is asked)."""
    what = "手机号码和机主完整的身份证号码" if level == "full" else "手机号码和机主身份证号码后6位"
    return (
        f"为了保护您的账户安全，办理前需要先核实身份，请提供{what}。"
        "这些信息只用于本次身份核验，不会用于其他用途：证件号码只用来与登记信息比对，"
        f"不会写入用户资料；为防止冒用，每次核验的号码、时间和结果会保存{retention_days}天后删除。"
        "核验结果仅在本次对话中有效。继续回答即表示您同意以上处理，回复“取消”可随时停止。"
    )


def notice_version(level: str, retention_days: int = 30) -> str:
    """Names the exact notice text the customer was shown, for the consent record."""
    text = privacy_notice(level, retention_days)
    return f"{NOTICE_VERSION}-{level}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def lock_message(phone: str, locked_until: datetime, local_hhmm: str) -> str:
    """The number's own lock (5 failures in a row), the same for numbers that are not ours."""
    return (
        f"抱歉，号码 {mask.phone(phone)} 的身份核验连续失败次数过多，为保护您的账户安全，"
        f"已暂停核验30分钟，请在 {local_hhmm} 之后再试。"
        "如果忘记了登记的证件信息，可以转人工客服，或携带身份证到营业厅办理。"
    )


def too_many_failures_message(local_hhmm: str) -> str:
    """A conversation or client that failed too often, across numbers."""
    return (
        "抱歉，身份核验失败的次数过多，为保护账户安全，已暂停在线核验，"
        f"请在 {local_hhmm} 之后再试。需要帮助的话可以转人工客服，或携带身份证到营业厅办理。"
    )


def wrong_id_message(remaining: int, full: bool) -> str:
    """A wrong ID and a number that is not ours get this same answer."""
    what = "身份证号码" if full else "身份证后6位"
    return f"抱歉，号码与{what}未能核验通过，请核对后重新输入（还可以尝试{max(remaining, 0)}次）。"


# ------------------------------------------------------------------------------ billing


def _items(items: Sequence[BillItem]) -> str:
    return "；".join(f"{item.name} {yuan(item.amount)}" for item in items) or "无明细"


def balance_reply(phone: str, balance: int, status: str, charges: Charges) -> str:
    lines = [f"{mask.phone(phone)} 的账户情况："]
    if balance < 0:
        lines.append(
            f"· 当前欠费 {yuan(-balance)}（余额 {yuan(balance)}），请尽快充值，以免影响使用。"
        )
        if status == "suspended":
            lines.append("· 号码目前因欠费停机，充值到账后一般几分钟内恢复。")
    else:
        lines.append(f"· 当前余额 {yuan(balance)}")
    lines.append(
        f"· 本月（{charges.month}）截至目前已产生费用 {yuan(charges.total)}："
        f"{_items(charges.items)}"
    )
    lines.append("想看往月账单，可以说“上个月账单”或“3月账单”。")
    return "\n".join(lines)


def bill_reply(phone: str, month: str, bill: Bill | None) -> str:
    if bill is None:
        return f"抱歉，没有查到 {mask.phone(phone)} 在 {month} 的账单，目前可以查询近6个月的账单。"
    paid = "已缴清" if bill.paid else "未缴清"
    return (
        f"{mask.phone(phone)} {month} 账单合计 {yuan(bill.total)}（{paid}）。\n"
        f"明细：{_items(bill.items)}"
    )


# ------------------------------------------------------------------------------ data usage


def _amount(value: int, unit: str) -> str:
    if unit == "MB":
        return f"{value / 1024:.2f}GB" if value >= 1024 else f"{value}MB"
    return f"{value}{unit}"


def usage_reply(phone: str, packages: Sequence[Package]) -> tuple[str, bool]:
    """The usage text and whether a data package is nearly used up (≥ 90 %)."""
    if not packages:
        return f"{mask.phone(phone)} 目前没有查到套餐内的用量信息。", False
    lines = [f"{mask.phone(phone)} 本月用量："]
    near = False
    for p in packages:
        lines.append(
            f"· {p.name}：已用 {_amount(p.used, p.unit)}，剩余 {_amount(p.remaining, p.unit)}"
            f"（共 {_amount(p.total, p.unit)}），{p.reset_date.month}月{p.reset_date.day}日重置"
        )
        if p.kind == "data" and p.total and p.used / p.total >= NEAR_EXHAUSTION:
            near = True
    return "\n".join(lines), near


DATA_PACK_OFFER = (
    "您的流量已经用了九成以上，可以加办流量包（办理后立即生效，例如日包1GB、月包10GB/20GB），"
    "在营业厅APP“办理—流量包”中选择即可；如果每月都不够用，也可以换一个流量更多的套餐。"
)


# ------------------------------------------------------------------------------ plans


def plan_summary(plan: Plan) -> str:
    sms = f"、短信{plan.sms}条" if plan.sms else ""
    return (
        f"{plan.name}：月费 {yuan(plan.monthly_fee)}，"
        f"含国内通用流量 {_amount(plan.data_mb, 'MB')}、"
        f"国内通话 {plan.voice_min} 分钟{sms}"
    )


def current_plan_reply(
    phone: str,
    plan: Plan,
    pending_plan: Plan | None = None,
    pending_effective: date | None = None,
) -> str:
    text = f"{mask.phone(phone)} 当前套餐是{plan_summary(plan)}。"
    if pending_plan is not None and pending_effective is not None:
        text += f"\n您已预约变更为{pending_plan.name}，{pending_effective:%Y年%-m月%-d日}起生效。"
    return text


def difference_text(diff: int) -> str:
    if diff > 0:
        return f"每月多 {yuan(diff)}"
    if diff < 0:
        return f"每月少 {yuan(-diff)}"
    return "月费不变"


def plan_change_question(
    phone: str, current: Plan, target: Plan, diff: int, effective: date
) -> str:
    return (
        f"为 {mask.phone(phone)} 办理套餐变更：\n"
        f"· 当前：{plan_summary(current)}\n"
        f"· 变更为：{plan_summary(target)}\n"
        f"· 费用变化：{difference_text(diff)}\n"
        f"· 生效时间：{effective:%Y年%-m月%-d日}（下月1日），本月仍按原套餐计费\n"
        "确认办理吗？"
    )


def plan_changed_reply(phone: str, target: Plan, effective: date) -> str:
    return (
        f"已为 {mask.phone(phone)} 办理成功：{target.name} 将于 {effective:%Y年%-m月%-d日} 生效，"
        "生效前本月仍按原套餐计费。稍后会有短信通知。"
    )


# ------------------------------------------------------------------------------ password & tickets


def password_reset_reply(phone: str) -> str:
    return (
        f"身份核验通过。新的临时服务密码已通过短信发送到 {mask.phone(phone)}，请注意查收。"
        "为了账户安全，请登录后尽快修改密码，也不要把密码告诉任何人（客服不会向您索要密码）。"
    )


KIND_NAMES = labels.TICKET_KINDS
SERVICE_NAMES = labels.SERVICES
SLA_KEYS = (
    "respond_by", "resolve_by", "result_by", "satisfaction_by", "respond_target", "handoff_skill",
    "escalate_now",
)  # fmt: skip


def local_datetime(moment: datetime) -> str:
    """'11月24日 18:00' in China time."""
    return moment.astimezone(CHINA_TZ).strftime("%m月%d日 %H:%M")


def duration_text(delta: timedelta) -> str:
    """'45分钟', '24小时', '7天'."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60 or minutes % 60:
        return f"{minutes}分钟"
    hours = minutes // 60
    return f"{hours // 24}天" if hours >= 72 and hours % 24 == 0 else f"{hours}小时"


def sla_extra(sla: TicketSla) -> dict[str, Any]:
    """The deadlines of a `triage.TicketSla` for ticket `extra` (ISO strings; None left out)."""
    data = sla.as_dict()
    return {k: data[k] for k in SLA_KEYS if data.get(k) is not None}


def _parse_time(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else None


def ticket_created_reply(
    kind: str, severity: str | None, ticket_id: str, phone: str | None, sla: TicketSla
) -> str:
    """What the customer is told when a complaint or fault ticket is recorded: the ticket number
    and, from its SLA (`triage.TicketSla`), when they will hear back."""
    who = f"，结果会通知到 {mask.phone(phone)}" if phone else ""
    respond_in = sla.respond_by - sla.created_at
    if kind == "fault":
        if sla.respond_target is not None:  # network (or critical) fault
            kind_text = "紧急故障" if sla.escalate_now else "网络类故障"
            target = duration_text(sla.respond_target - sla.created_at)
            when = (
                f"{kind_text}会在{duration_text(respond_in)}内响应"
                f"（{local_datetime(sla.respond_by)} 前，我们力争{target}内）"
            )
        else:
            when = (
                f"我们会在{duration_text(respond_in)}内响应（{local_datetime(sla.respond_by)} 前）"
            )
        return (
            f"已为您登记故障报修，工单号 {ticket_id}。{when}，维修人员会先电话联系确认"
            f"{who}。处理过程中可以随时说“查工单”了解进度。"
        )
    resolve = (
        f"{duration_text(sla.resolve_by - sla.created_at)}内给出处理结果"
        f"（{local_datetime(sla.resolve_by)} 前）"
        if sla.resolve_by
        else "尽快给出处理结果"
    )
    if severity == "major":
        return (
            f"非常抱歉给您带来困扰。您的投诉已按重大问题登记，工单号 {ticket_id}，"
            f"已立即升级给专门的处理团队，会马上与您联系，{resolve}，并给出处理和补偿方案{who}。"
        )
    if respond_in <= timedelta(0):
        first = "客服会尽快与您联系答复"
    else:
        first = (
            f"我们会在{duration_text(respond_in)}内联系您（{local_datetime(sla.respond_by)} 前）"
        )
    return f"非常抱歉给您带来不好的体验。投诉已登记，工单号 {ticket_id}。{first}，{resolve}{who}。"


def outage_reply(outage: Outage, ticket_id: str, phone: str | None) -> str:
    """A fault report attached to a known outage: say so, with the expected restoration time."""
    service = SERVICE_NAMES.get(outage.service, outage.service)
    restore = (
        f"预计 {local_datetime(outage.expected_restore_at)} 恢复"
        if outage.expected_restore_at
        else "正在全力抢修，恢复时间尚未确定"
    )
    who = f"，受理短信已发送到 {mask.phone(phone)}" if phone else ""
    return (
        f"经查询，{outage.city}{outage.district}目前有一起已知的{service}故障"
        f"（{outage.description}），{restore}。给您带来不便非常抱歉。"
        f"您的报修已关联到这次故障，不再另开新单，参考编号 {ticket_id}{who}。"
        "如果恢复后仍有问题，请再联系我们。"
    )


def _status_text(ticket: Ticket, now: datetime | None) -> str:
    """Where the ticket stands for its customer: its lifecycle state (telecom.tickets), the
    promise it is working to or has missed, and the latest reply or the result sent."""
    life = ticket.lifecycle
    extra = ticket.extra or {}
    if life.state == "attached":
        restore = _parse_time(extra.get("expected_restore_at"))
        service = SERVICE_NAMES.get(extra.get("service") or "", "")
        where = f"{extra.get('area') or ''}{service}"
        return f"已关联到{where}已知故障" + (
            f"，预计 {local_datetime(restore)} 恢复" if restore else "，正在抢修"
        )
    missed = tickets.breached(life, now) if now is not None else ()
    sorry = "非常抱歉，我们会优先跟进"
    result_due = f"，{local_datetime(life.resolve_by)} 前给出处理结果" if life.resolve_by else ""
    if life.state in ("intake", "assessing"):
        taken = "客服已接单，正在核实" if life.state == "assessing" else "处理中"
        if life.respond_by is not None and "respond" in missed:
            when = f"，已超过承诺的响应时间（{local_datetime(life.respond_by)}），{sorry}"
        elif life.respond_by is None or life.respond_by <= life.opened_at:
            when = "，客服会尽快联系您"
        elif life.state == "assessing":
            when = f"（{local_datetime(life.respond_by)} 前联系您）"
        else:
            when = f"，等待客服联系（{local_datetime(life.respond_by)} 前响应）"
        return taken + when + result_due
    if life.state == "handling":
        doing = "已重新处理" if life.reopens else "处理中"
        if life.resolve_by is not None and "resolve" in missed:
            text = f"{doing}，已超过承诺的处理时限（{local_datetime(life.resolve_by)}），{sorry}"
        else:
            text = doing + result_due
        return text + (f"。客服最新答复：“{ticket.last_reply}”" if ticket.last_reply else "")
    result = f"，处理结果：“{life.result}”" if life.result else ""
    remedy = f"，补偿方案：“{life.remedy}”" if life.remedy else ""
    if life.state == "feedback":
        return f"已处理{result}{remedy}。如对结果不满意，可以随时告诉我们重新处理"
    return f"已办结{result}{remedy}"


def tickets_reply(phone: str, tickets: Sequence[Ticket], now: datetime | None = None) -> str:
    """Ticket status for "我的投诉处理得怎么样了": each ticket's state, its deadlines and the
    latest reply or result (`_status_text`)."""
    if not tickets:
        return f"{mask.phone(phone)} 名下目前没有投诉、报修或回电工单。"
    lines = [f"{mask.phone(phone)} 的工单："]
    for t in list(tickets)[:5]:
        created = local_datetime(t.created_at)
        lines.append(
            f"· {t.id}（{KIND_NAMES.get(t.kind, t.kind)}，{created}登记）：{_status_text(t, now)}"
        )
    if len(tickets) > 5:
        lines.append(f"另有 {len(tickets) - 5} 条较早的工单。")
    return "\n".join(lines)

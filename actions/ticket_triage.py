"""Complaint and fault triage as plain functions: category, severity, and what happens next."""

from __future__ import annotations

import re

from telecom import mask

_COMPLAINT_CATEGORIES = (
    ("other", r"泄露|泄漏|骚扰|诈骗|个人信息|隐私"),
    ("fee", r"扣费|乱收费|多收|扣钱|收费|退款|退费|账单|话费|费用|扣了|吸费|計費|扣費"),
    ("network", r"信号|网速|网络|断网|上不了网|掉线|没网|卡顿|通话质量|打不通|網絡|訊號"),
    ("service", r"态度|客服|营业员|服务|不理|推诿|效率|排队|等了"),
    ("product", r"套餐|功能|业务|产品|APP|app|流量包"),
)
_MAJOR = r"泄露|泄漏|工信部|工信|投诉到|媒体|曝光|起诉|律师|报警|监管|12300|315"
_MODERATE = r"网速|信号|断网|上不了网|掉线|没网|态度|很差|太差|一直|好几天|多次|反复"

_FAULT_CATEGORIES = (
    ("hardware", r"光猫|路由器|机顶盒|线路|网线|光纤|设备|指示灯|红灯|断电|电源"),
    ("software", r"APP|app|软件|系统|病毒|闪退|登录不了|登不上"),
    ("network", r"断网|上不了网|网速|信号|没网|掉线|DNS|dns|IP|ip|网络"),
    ("business", r"停机|开通不了|办理不了|无法办理|配置|功能用不了"),
)
_SERVICES = (
    ("broadband", r"宽带|光猫|WiFi|wifi|无线网|路由器|光纤"),
    ("tv", r"电视|机顶盒|IPTV|iptv"),
)

SUBSTANTIVE_MIN_CHARS = 8  # "我要投诉" alone is no description


def _first(patterns, text: str, default: str) -> str:
    return next((name for name, pattern in patterns if re.search(pattern, text)), default)


def complaint_category(text: str) -> str:
    return _first(_COMPLAINT_CATEGORIES, text or "", "other")


def complaint_severity(text: str) -> str:
    text = text or ""
    if re.search(_MAJOR, text):
        return "major"
    if re.search(_MODERATE, text):
        return "moderate"
    return "minor"


def fault_category(text: str) -> str:
    return _first(_FAULT_CATEGORIES, text or "", "network")


def fault_service(text: str, entity: str | None = None) -> str:
    if entity in ("mobile", "broadband", "tv"):
        return entity
    return _first(_SERVICES, text or "", "mobile")


def is_substantive(text: str) -> bool:
    """Whether the request message already describes the problem."""
    core = re.sub(r"[\s\W]|我要|我想|投诉|报修|报障|故障|人工|转|一下|你们|帮我", "", text or "")
    return len(core) >= SUBSTANTIVE_MIN_CHARS - 4 and len(text.strip()) >= SUBSTANTIVE_MIN_CHARS


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

"""What people read for the ids the system keeps, defined once: intents, skills (a handoff's
queue is its first required skill), channels, dispositions, agent states, who ended a conversation,
who wrote a message, and the ticket teams, states and steps (telecom.tickets). The assistant's
buttons and handoff summaries, the agent console, the supervisor's wallboard and reports all take
their labels from here (the pages get them in a data block of the page the router serves), so a
label changes in one place.
"""

from __future__ import annotations

__all__ = [
    "AGENT_STATES",
    "CHANNELS",
    "DISPOSITIONS",
    "ENDED_BY",
    "INTENTS",
    "SENDERS",
    "SERVICES",
    "SEVERITIES",
    "SKILLS",
    "TEAMS",
    "TICKET_ALERTS",
    "TICKET_KINDS",
    "TICKET_STATES",
    "TICKET_STEPS",
    "TICKET_WINDOWS",
    "all_labels",
]

INTENTS: dict[str, str] = {
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
    "cancel_handoff": "取消转人工",
    "out_of_scope": "其他问题",
    "inform": "提供信息",
    "greet": "问候",
    "goodbye": "道别",
    "thanks": "致谢",
    "affirm": "肯定",
    "deny": "否定/取消",
    "bot_challenge": "询问是否机器人",
    "nlu_fallback": "未识别",
    "no_request": "无具体诉求",
    "faq": "常见问题",
    "faq/invoice": "发票",
    "faq/family_plan": "家庭套餐",
    "faq/shared_data": "流量共享",
    "faq/broadband_install": "宽带安装",
    "faq/number_porting": "携号转网",
    "faq/data_pack": "流量包",
    "faq/vanity_number": "靓号",
    "faq/payment": "充值缴费",
    "faq/store_hours": "营业厅时间地址",
    "faq/documents": "办理所需证件",
    "faq/esim": "eSIM",
    "faq/5g": "5G网络",
}

# The router's agents hold these skills (actions/handoff.py maps intents to them).
SKILLS: dict[str, str] = {
    "billing": "话费账单",
    "plans_data": "套餐流量",
    "roaming": "国际漫游",
    "account_security": "账户安全",
    "complaints": "投诉",
    "network_faults": "网络故障",
    "complaints_supervisor": "投诉主管",
}

CHANNELS: dict[str, str] = {"web": "网页", "app": "App", "voice": "电话"}

# What an agent records when they complete a conversation (the console's choices, in order).
DISPOSITIONS: dict[str, str] = {
    "resolved": "已解决",
    "follow_up": "需跟进",
    "ticket_created": "已建工单",
    "escalated": "已升级",
    "no_response": "客户无应答",
}

AGENT_STATES: dict[str, str] = {
    "available": "空闲",
    "busy": "忙碌",
    "away": "小休",
    "offline": "离线",
}

ENDED_BY: dict[str, str] = {
    "bot": "机器人结束",
    "agent": "人工结束",
    "customer": "客户离开",
    "timeout": "超时",
}

SENDERS: dict[str, str] = {
    "customer": "客户",
    "bot": "机器人",
    "agent": "人工客服",
    "system": "系统",
}

# Ticket teams, states and steps (telecom.tickets keeps the rules; these are what people read).
TEAMS: dict[str, str] = {
    "frontline": "一线客服",
    "billing": "计费账务",
    "network_ops": "网络运维",
    "complaints_supervisors": "投诉主管",
}

TICKET_STATES: dict[str, str] = {
    "intake": "已受理",
    "assessing": "评估中",
    "handling": "处理中",
    "feedback": "已处理，待回访",
    "closed": "已办结",
    "attached": "已关联到已知故障",
}

TICKET_STEPS: dict[str, str] = {
    "open": "受理",
    "claim": "认领",
    "respond": "答复客户",
    "note": "内部备注",
    "reassign": "转派",
    "escalate": "升级",
    "resolve": "办结并告知结果",
    "reopen": "重新处理",
    "follow_up_answer": "满意度回访",
    "close": "关闭",
}

TICKET_KINDS: dict[str, str] = {"complaint": "投诉", "fault": "故障报修", "callback": "回电请求"}

SEVERITIES: dict[str, str] = {
    "minor": "一般",
    "moderate": "较重",
    "major": "重大",
    "critical": "紧急",
}

TICKET_WINDOWS: dict[str, str] = {"respond": "响应", "resolve": "办结", "follow_up": "回访"}

# the services an outage or a fault report is about
SERVICES: dict[str, str] = {"mobile": "手机网络", "broadband": "宽带", "tv": "电视（IPTV）"}

TICKET_ALERTS: dict[str, str] = {"warning": "临期升级", "breach": "已超时", "page": "重大告警"}


def all_labels() -> dict[str, dict[str, str]]:
    """Every label table by name, as the pages receive them."""
    return {
        "intents": INTENTS,
        "skills": SKILLS,
        "channels": CHANNELS,
        "dispositions": DISPOSITIONS,
        "states": AGENT_STATES,
        "ended": ENDED_BY,
        "senders": SENDERS,
        "teams": TEAMS,
        "ticket_states": TICKET_STATES,
        "ticket_steps": TICKET_STEPS,
        "ticket_kinds": TICKET_KINDS,
        "severities": SEVERITIES,
        "ticket_windows": TICKET_WINDOWS,
        "services": SERVICES,
        "ticket_alerts": TICKET_ALERTS,
    }

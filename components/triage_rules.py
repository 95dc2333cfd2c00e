"""Keyword rules for triage: urgency, complaint severity and category, fault category and service.

Pure functions, no Rasa import, so they are unit-testable and shared by the NLU component
(`components/urgency.py`), the benchmark (`bench/triage.py`) and anything else that needs them.

Rules only ever *raise* a model's urgency or severity (see `raise_to`), never lower it. Texts are
expected in Simplified Chinese (the pipeline converts Traditional earlier); `normalize` folds
full-width forms and case so that "ＡＰＰ", "App" and "app" look the same.

The word lists follow ../shared/domain.md: major severity covers personal-data leaks, large
unexpected charges, threats to go to the regulator or the media, outages hurting a business, safety
hazards, policy violations by staff, and a complaint repeated without resolution. Critical urgency
covers fraud or a data leak in progress, a business that is down right now, emergencies, and a
vulnerable person who has been cut off.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

URGENCY_LEVELS: tuple[str, ...] = ("low", "normal", "high", "critical")
SEVERITY_LEVELS: tuple[str, ...] = ("minor", "moderate", "major")
COMPLAINT_CATEGORIES: tuple[str, ...] = ("service", "product", "fee", "network", "other")
FAULT_CATEGORIES: tuple[str, ...] = ("hardware", "software", "network", "business")
SERVICES: tuple[str, ...] = ("mobile", "broadband", "tv")

# A large unexpected charge: this many yuan or more.
LARGE_AMOUNT_YUAN = 500


@dataclass(frozen=True)
class RuleHit:
    """One rule that fired: the level it asks for and a short machine-readable reason."""

    level: str
    reason: str


def normalize(text: str) -> str:
    """NFKC (full-width → half-width), lower case, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"\s+", " ", text).strip().lower()


def level_index(level: str | None, order: Sequence[str]) -> int:
    """Position of `level` in `order`; -1 for None or an unknown level."""
    try:
        return order.index(level) if level is not None else -1
    except ValueError:
        return -1


def raise_to(current: str | None, candidate: str | None, order: Sequence[str]) -> str | None:
    """The higher of two levels in `order`. Never lowers `current`."""
    if level_index(candidate, order) > level_index(current, order):
        return candidate
    return current


def max_level(levels: Iterable[str | None], order: Sequence[str]) -> str | None:
    best: str | None = None
    for level in levels:
        best = raise_to(best, level, order)
    return best


# ---------------------------------------------------------------------------------------------
# Amounts
# ---------------------------------------------------------------------------------------------

_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "几": 3,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}


def chinese_number(s: str) -> float | None:
    """'三千二' → 3200, '一千五' → 1500, '两百' → 200, '几千' → 3000, '1500' → 1500.

    None if unparsable."""
    s = s.strip()
    if not s:
        return None
    if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", s):
        return float(s)
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([十百千万])", s)
    if m:
        return float(m.group(1)) * _CN_UNITS[m.group(2)]
    total, section, digit = 0, 0, None
    last_unit = 1
    for ch in s:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            unit = _CN_UNITS[ch]
            if unit == 10000:
                section = (section + (digit or 0)) * unit
                total += section
                section = 0
            else:
                section += (digit if digit is not None else 1) * unit
            digit, last_unit = None, unit
        else:
            return None
    if digit is not None:
        # '三千二' means 3200: a trailing digit counts in the next-lower unit.
        section += digit * (last_unit // 10 if last_unit >= 100 else 1)
    return float(total + section)


_NUM = r"[0-9]+(?:\.[0-9]+)?[十百千万]?|[零一二两三四五六七八九十百千万几]+"
_MONEY_AFTER = re.compile(rf"({_NUM})\s*(?:多)?\s*(?:块|元|rmb|¥)")
_MONEY_FEE = re.compile(rf"({_NUM})\s*多?\s*的?.{{0,4}}费")
_MONEY_BEFORE = re.compile(
    rf"(?:扣了?|收了?|扣我|收我|欠费|欠了|账单|话费|花了|贷了?|转了|骗了?|诈骗了?|多出来?|损失了?|产生了?|"
    rf"加起来|一共|总共|合计)"
    rf"(?:我|了|好|将近|差不多|足足|整整)*\s*({_NUM})"
)


def amounts_yuan(text: str) -> list[float]:
    """Money amounts mentioned in the text, in yuan (best effort)."""
    t = normalize(text)
    found = []
    for rx in (_MONEY_AFTER, _MONEY_FEE, _MONEY_BEFORE):
        for m in rx.finditer(t):
            value = chinese_number(m.group(1))
            if value is not None:
                found.append(value)
    return found


# ---------------------------------------------------------------------------------------------
# Patterns
# ---------------------------------------------------------------------------------------------


def _rx(*parts: str) -> re.Pattern:
    return re.compile("|".join(parts))


_REGULATOR = _rx(
    r"工信部",
    r"12300",
    r"通信管理局",
    r"通管局",
    r"消协",
    r"消费者协会",
    r"315",
    r"12315",
    r"网信办",
    r"市场监管",
    r"信访",
    r"监管部门",
    r"申诉",
)
_MEDIA = _rx(
    r"曝光",
    r"媒体",
    r"记者",
    r"电视台",
    r"报社",
    r"(发|上|到)(微博|抖音|小红书|朋友圈)",
    r"(微博|抖音)上",
    r"热搜",
    r"黑猫投诉",
    r"发到网上",
    r"发网上",
    r"网上发帖",
    r"上网发帖",
    r"发帖",
    r"让大家看看",
)
_LEGAL = _rx(r"起诉", r"律师", r"法院", r"打官司", r"报警", r"追究")
_LEAK = _rx(
    r"泄露",
    r"泄漏",
    r"外泄",
    r"流出",
    r"卖了?.{0,6}(信息|数据|资料)",
    r"(信息|数据|资料).{0,4}被卖",
    r"卖数据",
    r"隐私",
    r"冒用",
    r"盗用",
    r"冒充",
    r"(身份证|个人信息|实名信息).{0,12}(被|拿去|拍照|复印件)",
    r"不知情.{0,12}办",
    r"私自.{0,12}办",
    r"补了?我的卡",
    r"挂失补卡",
    r"复制",
    r"资料.{0,6}被",
    r"被人.{0,6}(登录|转走|盗刷|冒名|用我的号)",
)
_STAFF_MISCONDUCT = _rx(
    r"动手",
    r"打人",
    r"推了我",
    r"骂我",
    r"骂了我",
    r"把我骂",
    r"客服骂",
    r"被你们.{0,6}骂",
    r"顺走",
    r"偷了",
    r"违规",
    r"欺诈",
    r"你们这是诈骗",
    r"这是诈骗",
    r"骗着",
    r"翻新机",
)
_SAFETY = _rx(
    r"冒烟", r"起火", r"火灾", r"着火", r"爆炸", r"鼓包", r"触电", r"安全隐患", r"安全问题"
)
_REPEAT = _rx(
    r"第[二两三四五六七八九十0-9]+次",
    r"(投诉|反映|打电话|(?<!给我)打了|联系|报修|报了|找|申诉|问)(了|过)?(你们)?[二两三四五六七八九十好几多0-9]+(次|回|遍)",
    r"[二两三四五六七八九十好几多0-9]+(次|回)(投诉|反映|打电话|联系|报修|客服)",
    r"每次都说",
    r"工单开了关",
    r"推来推去",
    r"一直没(人)?(解决|处理|结果)",
    r"前前后后",
    r"反映了快?[一二两三四五六七八九十半0-9]+(年|个月)",
)
_BUSINESS = _rx(
    r"生意",
    r"公司",
    r"店",
    r"工厂",
    r"厂里",
    r"超市",
    r"餐厅",
    r"饭店",
    r"医院",
    r"诊所",
    r"药店",
    r"门诊",
    r"学校",
    r"幼儿园",
    r"养老院",
    r"网吧",
    r"工作室",
    r"站点",
    r"站长",
    r"仓库",
    r"物流",
    r"酒店",
    r"民宿",
    r"企业",
    r"单位",
    r"商铺",
    r"营业",
    r"收银",
    r"收款",
    r"订单",
    r"丢单",
    r"客户",
    r"业务系统",
    r"生产线",
    r"专线",
    r"直播",
    r"外卖",
    r"骑手",
    r"调度",
    r"交易系统",
    r"热线",
    r"个体户",
)
_BUSINESS_HURT = _rx(
    r"断",
    r"停",
    r"瘫痪",
    r"用不了",
    r"打不进",
    r"接不到",
    r"联系不上",
    r"损失",
    r"赔",
    r"丢",
    r"影响",
    r"没法",
    r"无法",
    r"罚款",
    r"差评",
    r"耽误",
    r"超时",
    r"掉线",
)
# an outage that stops a business outright (not merely slows it)
_BUSINESS_DOWN = _rx(
    r"全断",
    r"全停",
    r"全部断",
    r"全都断",
    r"瘫痪",
    r"停摆",
    r"全打不进",
    r"打不进来",
    r"没法收款",
    r"付不了款",
    r"收不了款",
    r"接不了",
    r"都停了",
    r"全部停",
    r"系统停了",
    r"全被停",
    r"全部被停",
    r"全都用不了",
    r"全部用不了",
    r"全没了",
    r"掉线",
    r"断网了",
    r"停了",
)
_NOW = _rx(
    r"现在",
    r"正在",
    r"此刻",
    r"刚刚",
    r"刚才",
    r"突然",
    r"今天",
    r"每分钟",
    r"每小时",
    r"排着",
    r"长队",
    r"正是",
    r"全断了",
    r"全停了",
    r"都停了",
    r"断网了",
)
_HABITUAL = _rx(
    r"这周",
    r"三天两头",
    r"经常",
    r"每天",
    r"老是",
    r"总是",
    r"好几次",
    r"上次",
    r"之前",
    r"以前",
    r"上个月",
    r"这几天",
    r"一周",
    r"几次",
    r"每次",
)
_IN_PROGRESS = _rx(
    r"正在",
    r"还在",
    r"不停",
    r"一直在",
    r"刚刚",
    r"刚才",
    r"刚收到",
    r"现在",
    r"每隔",
    r"马上要被",
    r"实时",
    r"此刻",
    r"刚.{0,2}被",
)
_FRAUD = _rx(
    r"盗刷",
    r"转走",
    r"转账",
    r"被转",
    r"冒充",
    r"冒用",
    r"补卡",
    r"补了我的卡",
    r"复制",
    r"贷款",
    r"贷了",
    r"分期",
    r"开卡",
    r"被人.{0,4}登录",
    r"正在被人",
    r"身份",
    r"被骗",
    r"验证码",
)
# unauthorised charges that keep coming while the customer writes
_RAPID_CHARGING = _rx(r"(不停|每隔|一会儿一条|一直在).{0,8}扣", r"扣了.{0,10}还在扣")
_EMERGENCY = _rx(
    r"120",
    r"110",
    r"119",
    r"急救",
    r"救护车",
    r"心脏病",
    r"突发",
    r"摔倒",
    r"待产",
    r"受伤",
    r"救命",
    r"生命",
    r"跟着她",
    r"跟着我",
    r"危险",
    r"高血压",
    r"抢救",
    r"心电",
)
_VULNERABLE = _rx(
    r"老人",
    r"老太太",
    r"老大爷",
    r"奶奶",
    r"爷爷",
    r"外婆",
    r"外公",
    r"姥姥",
    r"姥爷",
    r"我妈",
    r"我爸",
    r"老爸",
    r"老妈",
    r"父亲",
    r"母亲",
    r"独居",
    r"一个人住",
    r"独自",
    r"孩子",
    r"女儿",
    r"儿子",
    r"残疾",
    r"病人",
    r"孕妇",
    r"老婆",
    r"老公",
    r"八十",
    r"七十",
    r"九十",
)
_CUT_OFF = _rx(
    r"联系不上",
    r"打不通",
    r"打不出",
    r"没信号",
    r"没有信号",
    r"没有服务",
    r"无服务",
    r"停机",
    r"注销",
    r"断网",
    r"收不到",
)
_PAST = _rx(r"幸好", r"幸亏", r"那次", r"当时", r"上次")
_URGENT_WORDS = _rx(
    r"急",
    r"赶紧",
    r"马上",
    r"立刻",
    r"立即",
    r"尽快",
    r"今天必须",
    r"今天就",
    r"快点",
    r"快帮",
    r"等不了",
    r"火速",
    r"求求",
    r"求你们",
    r"必须.{0,4}今天",
)
_NOT_URGENT = _rx(
    r"不急", r"不着急", r"不用急", r"不赶时间", r"有空", r"不影响", r"没啥大影响", r"顺便"
)
_NEED = _rx(
    r"考试",
    r"网课",
    r"开会",
    r"在家办公",
    r"远程办公",
    r"居家办公",
    r"做直播",
    r"开直播",
    r"场直播",
    r"直播间",
    r"航班",
    r"机票",
    r"工作电话",
    r"医院",
    r"待产",
    r"住院",
    r"传文件",
    r"老板在催",
    r"客户联系不上",
    r"联系客户",
)
_STALLED = _rx(
    r"[两三四五六七八九十几0-9]+天了",
    r"一天了",
    r"大半天",
    r"一整天",
    r"好几个小时",
    r"[两三四五六七八九十几0-9]+个小时",
)


def fraud_in_progress(text: str) -> bool:
    """Fraud, identity theft or unauthorised charging happening now (text already normalised)."""
    return _near(_IN_PROGRESS, _FRAUD, text, window=24) or _has(_RAPID_CHARGING, text)


def _has(rx: re.Pattern, text: str) -> bool:
    return rx.search(text) is not None


def _near(a: re.Pattern, b: re.Pattern, text: str, window: int = 24) -> bool:
    """True when a match of `a` and a match of `b` lie within `window` characters of each other."""
    spans_a = [m.span() for m in a.finditer(text)]
    if not spans_a:
        return False
    for mb in b.finditer(text):
        for sa, ea in spans_a:
            if mb.start() - ea <= window and sa - mb.end() <= window:
                return True
    return False


# ---------------------------------------------------------------------------------------------
# Severity (complaints)
# ---------------------------------------------------------------------------------------------


def severity_hits(text: str) -> list[RuleHit]:
    """Every severity rule that fires on the text."""
    t = normalize(text)
    hits: list[RuleHit] = []
    if _has(_REGULATOR, t):
        hits.append(RuleHit("major", "regulator_threat"))
    if _has(_MEDIA, t):
        hits.append(RuleHit("major", "media_threat"))
    if _has(_LEGAL, t):
        hits.append(RuleHit("major", "legal_threat"))
    if _has(_LEAK, t):
        hits.append(RuleHit("major", "personal_data"))
    if _has(_STAFF_MISCONDUCT, t):
        hits.append(RuleHit("major", "policy_violation"))
    if _has(_SAFETY, t):
        hits.append(RuleHit("major", "safety_hazard"))
    if _has(_REPEAT, t):
        hits.append(RuleHit("major", "repeated_unresolved"))
    if any(a >= LARGE_AMOUNT_YUAN for a in amounts_yuan(t)):
        hits.append(RuleHit("major", "large_charge"))
    if _near(_BUSINESS, _BUSINESS_HURT, t, window=30):
        hits.append(RuleHit("major", "business_impact"))
    if _near(_EMERGENCY, _CUT_OFF, t, window=30) or _near(_VULNERABLE, _CUT_OFF, t, window=30):
        hits.append(RuleHit("major", "vulnerable_cut_off"))
    if fraud_in_progress(t):
        hits.append(RuleHit("major", "fraud"))
    return hits


def rule_severity(text: str) -> tuple[str | None, list[str]]:
    """(highest severity the rules ask for or None, reasons)."""
    hits = severity_hits(text)
    return max_level((h.level for h in hits), SEVERITY_LEVELS), [h.reason for h in hits]


# ---------------------------------------------------------------------------------------------
# Urgency (every message)
# ---------------------------------------------------------------------------------------------


def urgency_hits(text: str) -> list[RuleHit]:
    """Every urgency rule that fires on the text."""
    t = normalize(text)
    hits: list[RuleHit] = []
    past = _has(_PAST, t)
    # critical
    if fraud_in_progress(t):
        hits.append(RuleHit("critical", "fraud_in_progress"))
    if _near(_BUSINESS, _BUSINESS_DOWN, t, window=30) and _has(_NOW, t) and not _has(_HABITUAL, t):
        hits.append(RuleHit("critical", "business_down"))
    if _near(_EMERGENCY, _CUT_OFF, t, window=30) and not past:
        hits.append(RuleHit("critical", "emergency"))
    if (
        _near(_VULNERABLE, _CUT_OFF, t, window=30)
        and _has(
            _rx(r"联系不上", r"打不通", r"谁也", r"一个人", r"独", r"有急事", r"突然", r"现在"), t
        )
        and not past
    ):
        hits.append(RuleHit("critical", "vulnerable_cut_off"))
    # high
    if _has(_URGENT_WORDS, t) and not _has(_NOT_URGENT, t):
        hits.append(RuleHit("high", "urgent_words"))
    if _has(_NEED, t) and not _has(_NOT_URGENT, t):
        hits.append(RuleHit("high", "time_critical_need"))
    if _has(_REPEAT, t):
        hits.append(RuleHit("high", "repeated_unresolved"))
    if _has(_STALLED, t) and _has(_rx(r"报修", r"没人", r"断网", r"没网", r"没信号", r"处理"), t):
        hits.append(RuleHit("high", "long_outage"))
    for h in severity_hits(t):
        if h.reason not in {"repeated_unresolved"}:
            hits.append(RuleHit("high", h.reason))
    return hits


def rule_urgency(text: str) -> tuple[str | None, list[str]]:
    """(highest urgency the rules ask for or None, reasons)."""
    hits = urgency_hits(text)
    level = max_level((h.level for h in hits), URGENCY_LEVELS)
    return level, sorted({h.reason for h in hits if h.level == level})


# ---------------------------------------------------------------------------------------------
# Categories (keyword votes; used alone as a baseline and to back up an unsure model)
# ---------------------------------------------------------------------------------------------

_COMPLAINT_WORDS: dict[str, re.Pattern] = {
    "other": _rx(
        r"泄露",
        r"泄漏",
        r"骚扰",
        r"推销",
        r"营销短信",
        r"垃圾短信",
        r"广告短信",
        r"诈骗电话",
        r"诈骗短信",
        r"隐私",
        r"个人信息",
        r"实名信息",
        r"冒充",
        r"卖了?.{0,4}信息",
        r"标记",
        r"回访短信",
        r"催债",
        r"身份证",
    ),
    "fee": _rx(
        r"扣",
        r"收费",
        r"费",
        r"账单",
        r"退钱",
        r"退款",
        r"违约金",
        r"月租",
        r"充值",
        r"贵",
        r"钱",
        r"涨价",
    ),
    "network": _rx(
        r"信号",
        r"网速",
        r"断网",
        r"掉线",
        r"卡顿",
        r"基站",
        r"覆盖",
        r"延迟",
        r"丢包",
        r"网络",
        r"限速",
        r"网太卡",
        r"测速",
        r"兆",
        r"杂音",
        r"打不出去",
    ),
    "service": _rx(
        r"客服",
        r"态度",
        r"营业厅",
        r"营业员",
        r"师傅",
        r"上门",
        r"工单",
        r"人工",
        r"排队",
        r"回电",
        r"流程",
        r"工号",
        r"窗口",
        r"踢皮球",
        r"工作人员",
        r"维修人员",
    ),
    "product": _rx(
        r"app",
        r"闪退",
        r"功能",
        r"机顶盒",
        r"盒子",
        r"光猫",
        r"路由器",
        r"合约机",
        r"手机.{0,4}(坏|黑屏)",
        r"产品",
        r"质量",
        r"小程序",
        r"云盘",
        r"摄像头",
        r"设计",
        r"电池",
    ),
}
_COMPLAINT_PRIORITY = ("other", "fee", "network", "service", "product")

_FAULT_WORDS: dict[str, re.Pattern] = {
    "business": _rx(
        r"停机",
        r"欠费",
        r"充值",
        r"续费",
        r"开通",
        r"生效",
        r"套餐",
        r"实名",
        r"漫游",
        r"限制",
        r"锁",
        r"携号转网",
        r"移机",
        r"订购",
        r"办了",
        r"业务",
        r"交了",
        r"激活",
        r"过户",
        r"付费",
    ),
    "software": _rx(
        r"app",
        r"软件",
        r"升级",
        r"更新",
        r"固件",
        r"系统",
        r"病毒",
        r"木马",
        r"闪退",
        r"报错",
        r"错误",
        r"认证失败",
        r"登录",
        r"弹窗",
        r"广告",
        r"验证码",
        r"配置",
        r"小程序",
        r"白屏",
        r"设置",
        r"重置",
        r"加载",
        r"存储空间",
    ),
    "hardware": _rx(
        r"坏",
        r"光纤",
        r"光缆",
        r"网线",
        r"电源",
        r"遥控器",
        r"卡槽",
        r"sim卡",
        r"卡面",
        r"卡芯",
        r"烧",
        r"摔",
        r"雷",
        r"老鼠",
        r"适配器",
        r"网口",
        r"hdmi",
        r"天线",
        r"冒烟",
        r"咬",
        r"挖断",
        r"剪断",
        r"不亮",
        r"灯",
        r"没反应",
        r"面板",
        r"外壳",
    ),
    "network": _rx(
        r"信号",
        r"断网",
        r"没网",
        r"网速",
        r"慢",
        r"卡",
        r"掉线",
        r"dns",
        r"ip",
        r"延迟",
        r"丢包",
        r"无服务",
        r"基站",
        r"上不了网",
        r"马赛克",
        r"缓冲",
        r"断了",
        r"打不出",
        r"超时",
        r"ping",
    ),
}
_FAULT_PRIORITY = ("business", "software", "hardware", "network")

_SERVICE_WORDS: dict[str, re.Pattern] = {
    "tv": _rx(
        r"电视",
        r"机顶盒",
        r"iptv",
        r"频道",
        r"遥控器",
        r"点播",
        r"回看",
        r"节目",
        r"盒子",
        r"电影包",
    ),
    "broadband": _rx(
        r"宽带",
        r"光猫",
        r"路由器",
        r"wifi",
        r"网线",
        r"光纤",
        r"光缆",
        r"拨号",
        r"网页",
        r"测速",
        r"断网",
        r"没网",
        r"上网",
        r"dns",
        r"ip地址",
        r"pon",
        r"los",
        r"网口",
        r"电脑",
    ),
    "mobile": _rx(
        r"手机",
        r"信号",
        r"sim",
        r"短信",
        r"电话",
        r"4g",
        r"5g",
        r"漫游",
        r"停机",
        r"号码",
        r"app",
        r"无服务",
        r"话费",
        r"充值",
        r"卡",
    ),
}
_SERVICE_PRIORITY = ("tv", "broadband", "mobile")


def _vote(text: str, words: dict[str, re.Pattern], priority: Sequence[str]) -> str | None:
    t = normalize(text)
    scores = {label: len(rx.findall(t)) for label, rx in words.items()}
    best = max(scores.values())
    if best == 0:
        return None
    return next(label for label in priority if scores[label] == best)


def rule_complaint_category(text: str) -> str | None:
    """Keyword vote over complaint categories; None when no keyword matches."""
    return _vote(text, _COMPLAINT_WORDS, _COMPLAINT_PRIORITY)


def rule_fault_category(text: str) -> str | None:
    """Keyword vote over fault categories; None when no keyword matches."""
    return _vote(text, _FAULT_WORDS, _FAULT_PRIORITY)


def rule_fault_service(text: str) -> str | None:
    """Keyword vote over the affected service; None when no keyword matches."""
    return _vote(text, _SERVICE_WORDS, _SERVICE_PRIORITY)


# ---------------------------------------------------------------------------------------------
# Combination with a model
# ---------------------------------------------------------------------------------------------


def combine_urgency(
    text: str, model_level: str | None, severity: str | None = None
) -> tuple[str, list[str]]:
    """Model urgency raised by the rules (and to at least `high` for a major complaint).

    Returns (level, reasons): the rules that support the final level (they raised it or agree
    with the model); empty when the model's level stands above every rule.
    """
    rule_level, reasons = rule_urgency(text)
    level = raise_to(model_level, rule_level, URGENCY_LEVELS)
    if rule_level != level:
        reasons = []
    if severity == "major":
        raised = raise_to(level, "high", URGENCY_LEVELS)
        if raised != level:
            reasons = [*reasons, "major_severity"]
        level = raised
    return level or "normal", reasons


def combine_severity(text: str, model_level: str | None) -> tuple[str, list[str]]:
    """Model severity raised by the rules. Returns (level, reasons): the rules that support the
    final level; empty when the model's level stands above every rule."""
    rule_level, reasons = rule_severity(text)
    level = raise_to(model_level, rule_level, SEVERITY_LEVELS)
    if rule_level != level:
        reasons = []
    return level or "moderate", reasons

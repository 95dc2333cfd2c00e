"""Keyword rules: what raises severity and urgency, what does not, that rules never lower; the
ticket checks, the tone score, and the keyword file's checks."""

from __future__ import annotations

from pathlib import Path

import opencc
import pytest
import yaml

from components import triage_rules as r
from components.triage_keywords import KEYWORDS_FILE, KeywordsError, load_keywords

t2s = opencc.OpenCC("t2s").convert
s2t = opencc.OpenCC("s2t").convert


@pytest.mark.parametrize(
    "text, reason",
    [
        ("再不退钱我就去工信部投诉你们", "regulator_threat"),
        ("我要打12300申诉", "regulator_threat"),
        ("我去消协告你们", "regulator_threat"),
        ("等着315晚会曝光吧", "media_threat"),
        ("我已经联系了电视台记者", "media_threat"),
        ("我要把这事发到微博上", "media_threat"),
        ("肯定是你们泄露了我的个人信息", "personal_data"),
        ("有人冒用我的身份证办了卡", "personal_data"),
        ("账单莫名多了一千五百块", "large_charge"),
        ("上个月话费4800，怎么可能", "large_charge"),
        ("挂失以后还产生了三千多的通话费", "large_charge"),
        ("这是我第三次打电话说这个问题了", "repeated_unresolved"),
        ("投诉了五次都没人管", "repeated_unresolved"),
        ("我开的店宽带一直断，生意损失好几千", "business_impact"),
        ("路由器充电的时候冒烟了", "safety_hazard"),
        ("营业员私自用我的身份证给我办了副卡", "personal_data"),
    ],
)
def test_major_severity_reasons(text: str, reason: str) -> None:
    level, reasons = r.rule_severity(text)
    assert level == "major"
    assert reason in reasons


@pytest.mark.parametrize(
    "text",
    [
        "请问这个月话费怎么多了两块钱",
        "网速有点慢，反映一下",
        "客服态度不太好",
        "刷抖音照样扣通用流量",  # a media name is not a media threat
        "开视频会议被领导骂了好几次",  # not staff misconduct
        "信号测速才30兆",  # not money
        "你们的外呼客服一个星期给我打了五次推销电话",  # their calls, not repeated complaints
    ],
)
def test_ordinary_complaints_are_not_major(text: str) -> None:
    assert r.rule_severity(text)[0] is None


@pytest.mark.parametrize(
    "text, reason",
    [
        ("我的号码现在正在被人不停地扣费，快帮我停掉", "fraud_in_progress"),
        ("刚刚有人冒充客服让我转账，现在还在打电话", "fraud_in_progress"),
        ("有人刚在营业厅补了我的卡，银行卡正在被盗刷", "fraud_in_progress"),
        ("我们超市的宽带现在全断了，顾客排着长队没法收款", "business_down"),
        ("公司的客服热线被停机了，现在客户全打不进来", "business_down"),
        ("我爷爷突发心脏病，手机没信号120打不出去", "emergency"),
        ("我妈一个人住，她的号码被停机了，现在谁也联系不上她", "vulnerable_cut_off"),
    ],
)
def test_critical_urgency(text: str, reason: str) -> None:
    level, reasons = r.rule_urgency(text)
    assert level == "critical"
    assert reason in reasons


@pytest.mark.parametrize(
    "text",
    [
        "我已经销户了你们还在扣我的钱",  # wrong, but not fraud in progress
        "我开网店的，宽带这周三天两头断",  # hurts a business, but habitual, not down right now
        "上次我爸摔倒了打120打不出去，幸好邻居发现了",  # past event
        "机顶盒的直播频道声音和画面对不上",  # TV live channels are not a livestream business
    ],
)
def test_not_critical(text: str) -> None:
    assert r.rule_urgency(text)[0] != "critical"


# The critical kinds that need no "now" (domain.md, Urgency; issue 15's missed cases), each in
# Simplified, Traditional (converted as the pipeline does) and spoken form.
@pytest.mark.parametrize(
    "text, reason",
    [
        ("手机刚丢了，上面绑着支付宝和微信支付，赶紧帮我把号停了", "lost_phone"),
        ("手機唔見咗，綁定咗支付寶同埋網銀，快啲幫我停咗條線", "lost_phone"),
        ("嗯 我 我手机丢了 上面 有 微信 支付宝 能不能 马上 帮我 停机", "lost_phone"),
        ("地铁上手机被人偷了，求你们立刻把这个号停掉", "lost_phone"),
        ("多了八百多的境外流量费，我没出过国，怀疑被盗刷，不退就找电视台曝光", "major_threat"),
        ("帳單突然多咗三千蚊，我懷疑有人盜用我張卡，唔處理我就搵傳媒", "suspected_fraud"),
        ("那个 就是 我卡被盗刷了 扣了 两千多 你们 不管 我就 发微博", "major_threat"),
        ("我的个人信息被你们泄露了，已经报警了", "personal_data_leak"),
        ("我的個人資料外洩了，已經報了警，你們要給我一個交代", "personal_data_leak"),
        ("嗯 就是 我的 身份证号 被人 挂在网上卖 我 已经 报警了", "major_threat"),
        ("上个月账单莫名其妙多出来一千二，我一个都没打过", "unexplained_large_charge"),
        ("网速慢了一个月了，你们再不解决，我就去工信部投诉", "major_threat"),
        ("再不处理我就打12345", "major_threat"),
        ("我的身份證號碼被人賣咗，已經報咗案", "personal_data_leak"),
        ("有人偷偷补了我的卡，我手机突然没信号了", "suspected_fraud"),  # a SIM swap
        ("密码被人改了，我登不进去了", "suspected_fraud"),  # account takeover
        ("话费一下扣了两千多，哪来的啊", "unexplained_large_charge"),
    ],
)
def test_critical_without_now(text: str, reason: str) -> None:
    level, reasons = r.rule_urgency(t2s(text))
    assert level == "critical"
    assert reason in reasons


@pytest.mark.parametrize(
    "text",
    [
        "网速慢得要死，气死我了，什么破网！！！",  # angry about a slow network
        "急急急 帮我查下话费余额",  # urgent, but about a balance
        "莫名其妙扣了我15块钱的彩铃费，退给我",  # a small disputed charge
        "手机丢了想补张卡",  # lost, nothing bound, no plea to suspend
        "手机信号老掉线，微信都发不出去",  # a fault, not a lost phone
        "你们怎么保证我的信息不被泄露",  # a question about a leak
        "我担心身份证复印件会被冒用",  # a worry, not a suspected fraud
        "工信部的投诉电话是多少",  # a question, not a threat
        "我到网上查了一下你们的套餐",  # online, not a threat
        "帮我查一下13153151234的话费",  # digits of a number are neither 315 nor an amount
        "12300怎么打",  # a question about the regulator, not a threat
        "我想知道怎么去工信部投诉",
        "手机卡补卡要带什么",  # the customer's own SIM replacement
        "我的密码好像被改了想重置",  # not said to be someone else
        "这个月话费六百多，比上个月贵了",  # a large bill, explained by nothing but not disowned
    ],
)
def test_routine_requests_are_not_critical(text: str) -> None:
    assert r.rule_urgency(t2s(text))[0] != "critical"


def test_phone_numbers_are_not_amounts() -> None:
    assert r.amounts_yuan("帮我查一下13153151234的话费") == []
    assert 3000 in r.amounts_yuan("扣了我三千蚊")


def test_high_urgency_words_and_negation() -> None:
    assert r.rule_urgency("宽带断了，我明天要在家考试")[0] == "high"
    assert r.rule_urgency("快点帮我处理，急死了")[0] == "high"
    assert r.rule_urgency("遥控器有个键不灵，不急，有空换一个")[0] is None


def test_traditional_after_conversion_and_spoken_fillers() -> None:
    trad = s2t("我的号码现在正在被人不停地扣费，快帮我停掉")
    assert r.rule_urgency(t2s(trad))[0] == "critical"
    spoken = "喂，嗯，那个，就是，你们乱扣费我投诉好几次了，嗯，我明天就去工信部"
    level, reasons = r.rule_severity(spoken)
    assert level == "major" and "regulator_threat" in reasons


def test_full_width_and_case_are_folded() -> None:
    assert r.normalize("ＡＰＰ闪退！") == "app闪退!"
    assert r.rule_fault_category("ＡＰＰ一直闪退") == "software"


def test_amounts() -> None:
    assert 800 in r.amounts_yuan("多扣了八百多块")
    assert 4800 in r.amounts_yuan("上个月话费4800？")
    assert r.amounts_yuan("网速才30兆") == []
    assert 3000 in r.amounts_yuan("莫名其妙扣了几千块")  # 几 ("a few") reads as 三
    assert 1.5 in r.amounts_yuan("多了1.5元")


@pytest.mark.parametrize(
    "model, expected",
    [("low", "critical"), ("normal", "critical"), ("high", "critical"), ("critical", "critical")],
)
def test_combine_urgency_only_raises(model: str, expected: str) -> None:
    level, _ = r.combine_urgency("有人正在盗刷我的银行卡，快帮我停机", model)
    assert level == expected


def test_combine_never_lowers() -> None:
    assert r.combine_urgency("你好", "critical") == ("critical", [])
    assert r.combine_severity("账单多了两块", "major") == ("major", [])
    level, reasons = r.combine_urgency("账单多了两块钱", "normal", severity="major")
    assert level == "high" and reasons == ["major_severity"]
    assert r.raise_to("high", "low", r.URGENCY_LEVELS) == "high"
    assert r.raise_to(None, "low", r.URGENCY_LEVELS) == "low"


@pytest.mark.parametrize(
    "text, category",
    [
        ("你们乱扣费，退钱", "fee"),
        ("信号太差，网速慢", "network"),
        ("客服态度差，营业厅排队太久", "service"),
        ("APP老是闪退，这个功能做得太差", "product"),
        ("天天接到骚扰电话，信息肯定泄露了", "other"),
    ],
)
def test_complaint_category_vote(text: str, category: str) -> None:
    assert r.rule_complaint_category(text) == category


@pytest.mark.parametrize(
    "text, category, service",
    [
        ("光猫电源灯不亮了，坏了", "hardware", "broadband"),
        ("机顶盒升级以后一直报错", "software", "tv"),
        ("手机没信号，无服务", "network", "mobile"),
        ("交了话费还是停机", "business", "mobile"),
    ],
)
def test_fault_votes(text: str, category: str, service: str) -> None:
    assert r.rule_fault_category(text) == category
    assert r.rule_fault_service(text) == service


def test_no_keyword_no_vote() -> None:
    assert r.rule_complaint_category("嗯") is None
    assert r.rule_fault_category("嗯") is None


def test_reasons_explain_the_final_level() -> None:
    # the rule agrees with the model: the reason is still reported (supervisors see why)
    level, reasons = r.combine_severity("我要去工信部投诉你们", "major")
    assert level == "major" and "regulator_threat" in reasons
    # the model is above every rule: no rule reason
    assert r.combine_urgency("宽带断了，我明天要在家考试", "critical") == ("critical", [])


@pytest.mark.parametrize(
    ("text", "category", "severity"),
    [
        ("乱扣费，要退款", "fee", "minor"),
        ("信号太差一直掉线", "network", "moderate"),
        ("我的个人信息被泄露了", "other", "major"),
        ("营业员态度很差", "service", "moderate"),
        ("再不解决我就去工信部投诉", "other", "major"),
    ],
)
def test_ticket_complaint_checks(text: str, category: str, severity: str) -> None:
    assert r.ticket_complaint_category(text) == category
    assert r.ticket_complaint_severity(text) == severity


def test_ticket_fault_service_and_substance() -> None:
    assert r.ticket_fault_service("宽带断网了") == "broadband"
    assert r.ticket_fault_service("机顶盒没信号") == "tv"
    assert r.ticket_fault_service("手机没信号", "broadband") == "broadband"
    assert not r.is_substantive("我要投诉")
    assert r.is_substantive("我要投诉你们乱扣我话费")


def test_ticket_checks_see_the_text_as_written() -> None:
    # unlike the NLU votes, the ticket checks do not fold case or width
    assert r.ticket_fault_category("ＡＰＰ闪退") == "software"  # 闪退, not ＡＰＰ
    assert r.ticket_complaint_category("ＡＰＰ不好用") == "other"  # not product's APP
    assert r.ticket_fault_service("家里的Wifi连不上") == "mobile"


def test_negative_tone() -> None:
    calm = r.negative_tone("您好，麻烦帮我查一下话费，谢谢")
    annoyed = r.negative_tone("怎么还没好？到底什么时候能修好")
    angry = r.negative_tone("你们这什么破服务！！垃圾！再不解决我就去工信部投诉！！")
    assert calm == 0.0
    assert 0 < annoyed < angry <= 1.0
    assert r.negative_tone("") == 0.0


def test_the_keyword_file_loads_and_keeps_its_order() -> None:
    kw = load_keywords()
    assert [label for label, _ in kw.votes["complaint_category"]] == [
        "other", "fee", "network", "service", "product",
    ]  # fmt: skip
    assert kw.large_amount_yuan == 500


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["signals"].pop("fraud"), "signals: missing ['fraud']"),
        (lambda d: d["signals"].update(frod=["x"]), "unknown ['frod']"),
        (lambda d: d["votes"]["fault_service"].update(radio=["收音机"]), "unknown labels"),
        (lambda d: d["tone"].update(calm=[]), "tone.calm: expected a non-empty list"),
        (lambda d: d["tickets"].update(major=["(泄露"]), "tickets.major: bad pattern"),
        (lambda d: d.update(large_amount_yuan="500"), "large_amount_yuan"),
    ],
)
def test_a_malformed_keyword_file_names_the_key(tmp_path: Path, edit, message: str) -> None:
    data = yaml.safe_load(KEYWORDS_FILE.read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "triage_keywords.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(KeywordsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_keywords(path)

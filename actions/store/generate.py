"""Deterministic demo data: subscribers, six months of bills, usage, roaming status.

`generate(plans, today, seed=2026, count=520)` returns plain records (no database); the SQLite
store inserts them. The same seed, plans and `today` always give the same records. The first
records are DEMO_SUBSCRIBERS, fixed numbers with known ID digits for trying the assistant.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import TypeVar

from actions.plans import allowances
from actions.store.base import Bill, BillItem, Charges, MonthlyUsage, Package
from telecom.catalog import Plan
from telecom.dates import CHINA_TZ, add_months, month_key, next_month_first
from telecom.numbers import id_check_digit

__all__ = [
    "DEMO_SUBSCRIBERS",
    "OUTAGE_DEMO_PHONE",
    "DemoSubscriber",
    "OutageRecord",
    "SubscriberRecord",
    "generate",
    "generate_outages",
    "make_id_number",
]

SEED = 2026
DEFAULT_COUNT = 520
BILL_MONTHS = 6

# City, district, 6-digit administrative code (GB/T 2260) used as the first six ID digits.
DISTRICTS: tuple[tuple[str, str, str, int], ...] = (
    ("北京", "朝阳区", "110105", 9), ("北京", "海淀区", "110108", 8),
    ("北京", "东城区", "110101", 3), ("上海", "浦东新区", "310115", 10),
    ("上海", "徐汇区", "310104", 4), ("上海", "闵行区", "310112", 5),
    ("广州", "天河区", "440106", 6), ("广州", "越秀区", "440104", 3),
    ("深圳", "南山区", "440305", 6), ("深圳", "福田区", "440304", 5),
    ("深圳", "宝安区", "440306", 5), ("杭州", "西湖区", "330106", 4),
    ("成都", "武侯区", "510107", 5), ("重庆", "渝中区", "500103", 4),
    ("武汉", "武昌区", "420106", 4), ("南京", "玄武区", "320102", 3),
    ("西安", "雁塔区", "610113", 4), ("天津", "和平区", "120101", 3),
    ("长沙", "岳麓区", "430104", 3), ("郑州", "金水区", "410105", 4),
    ("济南", "历下区", "370102", 2), ("青岛", "市南区", "370202", 2),
    ("沈阳", "和平区", "210102", 2), ("哈尔滨", "南岗区", "230103", 2),
    ("苏州", "姑苏区", "320508", 3), ("厦门", "思明区", "350203", 2),
    ("昆明", "五华区", "530102", 2), ("合肥", "蜀山区", "340104", 2),
    ("福州", "鼓楼区", "350102", 2), ("南宁", "青秀区", "450103", 2),
)  # fmt: skip

# Mobile number prefixes of one mainland operator.
PREFIXES = (
    "134", "135", "136", "137", "138", "139", "147", "150", "151", "152", "157", "158",
    "159", "172", "178", "182", "183", "184", "187", "188", "195", "197", "198",
)  # fmt: skip

SURNAMES = (
    ("王", 72), ("李", 71), ("张", 67), ("刘", 54), ("陈", 46), ("杨", 32), ("黄", 24), ("赵", 21),
    ("吴", 20), ("周", 19), ("徐", 15), ("孙", 15), ("马", 14), ("朱", 13), ("胡", 12), ("郭", 12),
    ("何", 11), ("高", 10), ("林", 10), ("罗", 9), ("郑", 9), ("梁", 8), ("谢", 7), ("宋", 6),
    ("唐", 6), ("许", 6), ("韩", 5), ("冯", 5), ("邓", 5), ("曹", 5), ("彭", 5), ("曾", 5),
    ("肖", 4), ("田", 4), ("董", 4), ("袁", 4), ("潘", 3), ("于", 3), ("蒋", 3), ("蔡", 3),
    ("余", 3), ("杜", 3), ("叶", 3), ("程", 3), ("苏", 2), ("魏", 2), ("吕", 2), ("丁", 2),
    ("任", 2), ("沈", 2), ("姚", 2), ("卢", 2), ("姜", 2), ("崔", 2), ("欧阳", 1), ("司马", 1),
)  # fmt: skip
MALE_CHARS = "伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林毅峰建国志文博晨轩"
FEMALE_CHARS = "芳娜敏静丽艳娟霞秀玲桂英华燕红梅琳婷雪慧倩颖佳欣怡悦璐晶瑶萍洁琴云蓉"

# Plan mix of a city operator: most customers on mid-range 4G/5G plans.
PLAN_WEIGHTS = {
    "4G_BASIC_19": 8, "4G_STANDARD_39": 14, "4G_DATA_59": 12, "5G_STARTER_79": 16,
    "5G_PLUS_129": 12, "5G_DATA_99": 11, "5G_PREMIUM_199": 4, "FAMILY_169": 9,
    "FAMILY_239": 5, "SENIOR_9": 9,
}  # fmt: skip
TIER_WEIGHTS = (("regular", 60), ("silver", 22), ("gold", 13), ("platinum", 5))
VALUE_ADDED = (
    ("视频会员", 1500),
    ("音乐会员", 1000),
    ("彩铃", 500),
    ("来电提醒", 300),
    ("云盘", 1000),
)

OVERAGE_DATA_FEN_PER_GB = 500
OVERAGE_VOICE_FEN_PER_MIN = 15
OVERAGE_SMS_FEN = 10


@dataclass(frozen=True)
class DemoSubscriber:
    phone: str
    name: str
    id_number: str
    plan_code: str
    try_this: str  # what the demo shows, in Chinese

    @property
    def id_last6(self) -> str:
        return self.id_number[-6:]


@dataclass(frozen=True)
class SubscriberRecord:
    phone: str
    name: str
    id_number: str
    tier: str
    plan_code: str
    balance: int
    status: str
    roaming_active: bool
    city: str
    district: str
    bills: tuple[Bill, ...]  # newest first
    history: tuple[MonthlyUsage, ...]  # newest first, same months as bills
    packages: tuple[Package, ...]  # current month
    month_to_date: Charges


def make_id_number(region: str, birth: date, sequence: int) -> str:
    """An 18-character ID number with a valid GB 11643 check digit."""
    first17 = f"{region}{birth:%Y%m%d}{sequence % 1000:03d}"
    return first17 + id_check_digit(first17)


@dataclass(frozen=True)
class _DemoSpec:
    phone: str
    name: str
    region: str
    birth: date
    sequence: int
    plan_code: str
    tier: str
    balance: int
    try_this: str
    data_ratio: float = 0.45  # share of the data allowance used so far this month
    roaming: bool = False


_DEMO_SPECS = (
    _DemoSpec("13800138000", "张伟", "110105", date(1988, 6, 15), 123, "4G_STANDARD_39", "silver",
              12850, "余额正常：查话费、查上个月账单、查套餐"),
    _DemoSpec("13800138001", "李娜", "310115", date(1992, 3, 8), 246, "5G_STARTER_79", "regular",
              -5630, "欠费56.30元：查余额会提示缴费"),
    _DemoSpec("13800138002", "王芳", "440305", date(1995, 11, 20), 368, "4G_DATA_59", "regular",
              3200, "流量快用完（超过90%）：查流量会推荐加油包；深圳南山区有已知宽带故障："
              "报修“家里宽带断网”会关联到该故障并告知预计恢复时间", data_ratio=0.96),
    _DemoSpec("13800138003", "刘洋", "330106", date(1985, 1, 2), 513, "5G_PLUS_129", "gold",
              45600, "国际漫游已开通：问日本资费、关闭漫游", roaming=True),
    _DemoSpec("13800138004", "陈静", "510107", date(1990, 9, 9), 80, "5G_PREMIUM_199", "platinum",
              88000, "5G尊享套餐：改套餐（降档）看差价和生效日期"),
    _DemoSpec("13800138005", "赵磊", "420106", date(1979, 4, 18), 35, "FAMILY_169", "gold",
              23400, "全家享家庭套餐：问家庭套餐、改成全家享239"),
    _DemoSpec("13800138006", "孙秀英", "320102", date(1952, 12, 1), 62, "SENIOR_9", "regular",
              1500, "关爱老人套餐：查套餐、重置密码（需完整身份证号）"),
)  # fmt: skip

DEMO_SUBSCRIBERS: tuple[DemoSubscriber, ...] = tuple(
    DemoSubscriber(
        phone=s.phone,
        name=s.name,
        id_number=make_id_number(s.region, s.birth, s.sequence),
        plan_code=s.plan_code,
        try_this=s.try_this,
    )
    for s in _DEMO_SPECS
)


# ------------------------------------------------------------------------------------ outages

OUTAGE_DEMO_PHONE = "13800138002"  # 深圳 南山区: an open broadband outage


@dataclass(frozen=True)
class OutageRecord:
    id: str
    city: str
    district: str
    service: str  # mobile | broadband | tv
    description: str
    started_at: datetime  # aware
    expected_restore_at: datetime | None
    status: str  # open | closed


# (city, district, service, description, start: (days from today, HH:MM China time),
#  expected restore: (days, HH:MM), status). An open outage starts before today and is
#  expected to end after it, so it is open whatever the time of day the store is made.
_OUTAGE_SPECS = (
    ("深圳", "南山区", "broadband", "光缆施工受损，南山区部分小区宽带中断",
     (-1, "07:30"), (1, "18:00"), "open"),
    ("上海", "浦东新区", "mobile", "基站设备故障，浦东新区部分区域手机信号弱、通话断续",
     (-1, "21:10"), (1, "09:00"), "open"),
    ("成都", "武侯区", "tv", "IPTV平台升级异常，武侯区部分用户电视无法播放",
     (-1, "20:00"), (1, "12:00"), "open"),
    ("广州", "天河区", "broadband", "汇聚机房停电，天河区部分宽带用户无法上网",
     (-1, "22:00"), (1, "06:00"), "open"),
    ("北京", "朝阳区", "broadband", "光交箱故障，朝阳区部分宽带中断（已修复）",
     (-2, "10:00"), (-2, "18:00"), "closed"),
)  # fmt: skip


def _china_time(today: date, days: int, hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    local = datetime.combine(today + timedelta(days=days), time(hour, minute), CHINA_TZ)
    return local.astimezone(timezone.utc)


def generate_outages(today: date) -> list[OutageRecord]:
    """A few known outages around `today` in districts of the demo subscribers (deterministic)."""
    return [
        OutageRecord(
            id=f"O{today:%Y%m%d}-{i:02d}",
            city=city,
            district=district,
            service=service,
            description=description,
            started_at=_china_time(today, *start),
            expected_restore_at=_china_time(today, *restore),
            status=status,
        )
        for i, (city, district, service, description, start, restore, status) in enumerate(
            _OUTAGE_SPECS, start=1
        )
    ]


T = TypeVar("T")


def _weighted(rng: random.Random, pairs: Sequence[tuple[T, int]]) -> T:
    items = [item for item, _ in pairs]
    weights = [weight for _, weight in pairs]
    return rng.choices(items, weights=weights, k=1)[0]


def _name(rng: random.Random, male: bool) -> str:
    surname = _weighted(rng, SURNAMES)
    chars = MALE_CHARS if male else FEMALE_CHARS
    given = rng.choice(chars) + (rng.choice(chars) if rng.random() < 0.7 else "")
    return f"{surname}{given}"


def _months_back(today: date, count: int) -> list[str]:
    """The `count` full months before today's month, newest first."""
    return [month_key(*add_months(today, -i)) for i in range(1, count + 1)]


def _bill(
    rng: random.Random, plan: Plan, usage: MonthlyUsage, roaming: bool, paid: bool, month: str
) -> Bill:
    items = [BillItem("月租", plan.monthly_fee)]
    extra_mb = usage.data_mb - plan.data_mb
    if extra_mb > 0:
        items.append(BillItem("超出流量", -(-extra_mb // 1024) * OVERAGE_DATA_FEN_PER_GB))
    extra_min = usage.voice_min - plan.voice_min
    if extra_min > 0:
        items.append(BillItem("通话", extra_min * OVERAGE_VOICE_FEN_PER_MIN))
    extra_sms = usage.sms - plan.sms
    if extra_sms > 0:
        items.append(BillItem("短信", extra_sms * OVERAGE_SMS_FEN))
    if rng.random() < 0.3:
        items.append(BillItem("增值业务", rng.choice(VALUE_ADDED)[1]))
    if roaming:
        items.append(BillItem("国际漫游", rng.choice((1000, 1500, 2500)) * rng.randint(2, 8)))
    return Bill(month=month, total=sum(i.amount for i in items), items=tuple(items), paid=paid)


def _record(
    rng: random.Random,
    *,
    phone: str,
    name: str,
    id_number: str,
    plan: Plan,
    tier: str,
    balance: int,
    city: str,
    district: str,
    today: date,
    data_ratio: float,
    roaming: bool,
    heavy_user: float,
) -> SubscriberRecord:
    months = _months_back(today, BILL_MONTHS)
    history = tuple(
        MonthlyUsage(
            month=m,
            data_mb=max(int(plan.data_mb * heavy_user * rng.uniform(0.7, 1.25)), 0),
            voice_min=max(int(plan.voice_min * rng.uniform(0.2, 1.1)), 0),
            sms=int(max(plan.sms, 20) * rng.uniform(0.05, 0.6)),
        )
        for m in months
    )
    unpaid_latest = 2 if balance < -10000 else 1 if balance < 0 else 0
    bills = tuple(
        _bill(
            rng,
            plan,
            usage,
            roaming and i < 2 and rng.random() < 0.5,
            paid=i >= unpaid_latest,
            month=usage.month,
        )
        for i, usage in enumerate(history)
    )
    reset = next_month_first(today)
    elapsed = today.day / calendar.monthrange(today.year, today.month)[1]
    used = {
        "data": min(int(plan.data_mb * data_ratio), plan.data_mb),
        "voice": min(int(plan.voice_min * rng.uniform(0.1, 0.9) * elapsed), plan.voice_min),
    }
    if plan.sms:
        used["sms"] = int(plan.sms * rng.uniform(0, 0.3))
    packages = [
        Package(a.name, a.kind, used[a.kind], a.total, a.unit, reset) for a in allowances(plan)
    ]
    mtd_items = [BillItem("月租", plan.monthly_fee)]
    if heavy_user > 1 and rng.random() < 0.5:
        packages.append(
            Package(
                "流量加油包10GB", "data", int(10240 * rng.uniform(0.1, 0.8)), 10240, "MB", reset
            )
        )
        mtd_items.append(BillItem("增值业务", 3000))
    if roaming:
        mtd_items.append(BillItem("国际漫游", 1500 * rng.randint(1, 6)))
    status = "suspended" if balance < -10000 else "active"
    return SubscriberRecord(
        phone=phone,
        name=name,
        id_number=id_number,
        tier=tier,
        plan_code=plan.code,
        balance=balance,
        status=status,
        roaming_active=roaming,
        city=city,
        district=district,
        bills=bills,
        history=history,
        packages=tuple(packages),
        month_to_date=Charges(
            month=month_key(today.year, today.month),
            total=sum(i.amount for i in mtd_items),
            items=tuple(mtd_items),
        ),
    )


def generate(
    plans: Sequence[Plan], today: date, *, seed: int = SEED, count: int = DEFAULT_COUNT
) -> list[SubscriberRecord]:
    """`count` subscribers (at least the demo ones), deterministic for (plans, today, seed)."""
    by_code = {p.code: p for p in plans}
    if not by_code:
        raise ValueError("the plan catalogue is empty")
    rng = random.Random(seed)
    district_of = {d[2]: d for d in DISTRICTS}
    records: list[SubscriberRecord] = []
    for spec, demo in zip(_DEMO_SPECS, DEMO_SUBSCRIBERS, strict=True):
        plan = by_code.get(spec.plan_code) or next(iter(by_code.values()))
        city, district, _, _ = district_of[spec.region]
        records.append(
            _record(
                random.Random(f"{seed}-{spec.phone}"),
                phone=spec.phone,
                name=spec.name,
                id_number=demo.id_number,
                plan=plan,
                tier=spec.tier,
                balance=spec.balance,
                city=city,
                district=district,
                today=today,
                data_ratio=spec.data_ratio,
                roaming=spec.roaming,
                heavy_user=0.8,
            )
        )
    used_phones = {r.phone for r in records}
    plan_pairs = [(p, PLAN_WEIGHTS.get(p.code, 3)) for p in plans]
    district_pairs = [(d, d[3]) for d in DISTRICTS]
    while len(records) < count:
        phone = rng.choice(PREFIXES) + f"{rng.randrange(10**8):08d}"
        if phone in used_phones:
            continue
        used_phones.add(phone)
        plan = _weighted(rng, plan_pairs)
        city, district, region, _ = _weighted(rng, district_pairs)
        male = rng.random() < 0.5
        birth_year = rng.randint(1940, 1962) if plan.is_senior else rng.randint(1960, 2006)
        birth = date(birth_year, rng.randint(1, 12), rng.randint(1, 28))
        sequence = rng.randrange(0, 999) // 2 * 2 + (1 if male else 0)  # 17th digit: odd = male
        roll = rng.random()
        if roll < 0.08:  # arrears
            balance = -rng.randint(100, 20000)
        elif roll < 0.2:
            balance = rng.randint(0, 1000)
        else:
            balance = rng.randint(1000, 50000)
        data_ratio = rng.uniform(0.91, 0.995) if rng.random() < 0.1 else rng.uniform(0.05, 0.85)
        heavy = rng.choice((0.3, 0.5, 0.7, 0.9, 1.0, 1.1, 1.3))
        records.append(
            _record(
                rng,
                phone=phone,
                name=_name(rng, male),
                id_number=make_id_number(region, birth, sequence),
                plan=plan,
                tier=_weighted(rng, TIER_WEIGHTS),
                balance=balance,
                city=city,
                district=district,
                today=today,
                data_ratio=data_ratio,
                roaming=rng.random() < 0.05,
                heavy_user=heavy,
            )
        )
    return records

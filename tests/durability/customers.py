"""Scripted customer conversations and what each turn must answer (pure data and checks).

The customers are the demo subscribers (actions/store/generate.py `_DEMO_SPECS`): their numbers,
the last six characters of their ID numbers, their balances (which no turn here changes) and a
plan each can change to. A turn's answer is checked by stable Chinese substrings: what it must
say (`expect`) and what it must not (`forbid`: asking again for what the conversation already
knows, the gateway's "assistant down" message).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Subscriber:
    phone: str
    id_last6: str
    balance: str  # as the assistant writes it, e.g. "128.50" or "-56.30"
    other_plan: str  # a plan that is not theirs

    @property
    def masked(self) -> str:
        return f"{self.phone[:3]}****{self.phone[-4:]}"


SUBSCRIBERS = (
    Subscriber("13800138000", "151238", "128.50", "5G畅享129元套餐"),
    Subscriber("13800138001", "082469", "-56.30", "5G畅享129元套餐"),
    Subscriber("13800138002", "203688", "32.00", "5G畅享129元套餐"),
    Subscriber("13800138003", "025131", "456.00", "5G尊享199元套餐"),
    Subscriber("13800138004", "090809", "880.00", "5G畅享129元套餐"),
    Subscriber("13800138005", "180352", "234.00", "5G畅享129元套餐"),
)
# a booked plan change is refused while another one is pending: one confirmed change each
CONFIRMING = tuple(SUBSCRIBERS[i] for i in (0, 2, 3, 4, 5))
# … and a declined change is offered only where none is booked: the plan already booked is
# refused at the choice, before any confirmation is asked
DECLINING = tuple(s for s in SUBSCRIBERS if s not in CONFIRMING)

BOT_DOWN = "智能助手暂时无法回复"  # router/gateway/service.py BOT_DOWN
ASKS_PHONE = "请告诉我需要办理业务的手机号码"
ASKS_ID = "身份证号码的最后6位"
FORGOT = (ASKS_PHONE, ASKS_ID)  # asked again after verification: a slot was forgotten
CANCEL_HANDOFF = "cancel handoff"  # not a message: DELETE /v1/chat/{id}/handoff


@dataclass(frozen=True)
class Turn:
    text: str
    expect: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()
    # the conversation's owner after the turn (GET …/state), when it matters
    owner: str | None = None


@dataclass
class Script:
    kind: str
    subscriber: Subscriber
    turns: list[Turn] = field(default_factory=list)


def verify(subscriber: Subscriber, request: str, then: tuple[str, ...]) -> list[Turn]:
    """A request that needs verification, the number, the ID digits; `then`: what the answer
    to the ID digits must also say (the request's own answer)."""
    return [
        Turn(request, expect=(ASKS_PHONE,)),
        Turn(subscriber.phone, expect=(subscriber.masked, ASKS_ID)),
        Turn(subscriber.id_last6, expect=("身份核验通过", *then), forbid=(ASKS_PHONE,)),
    ]


def balance_again(subscriber: Subscriber) -> Turn:
    """Verified already: the balance at once, with no new verification."""
    return Turn("查一下余额", expect=(f"余额 {subscriber.balance}元",), forbid=FORGOT)


def balance(subscriber: Subscriber) -> Script:
    turns = verify(subscriber, "帮我查一下话费", (f"余额 {subscriber.balance}元",))
    turns.append(Turn("上个月账单多少", expect=(subscriber.masked,), forbid=FORGOT))
    turns.append(balance_again(subscriber))
    return Script("balance", subscriber, turns)


def plan_change(subscriber: Subscriber, confirm: bool) -> Script:
    target = subscriber.other_plan
    turns = verify(subscriber, f"我想换成{target}", (target, "确认办理吗"))
    if confirm:
        turns.append(Turn("确认", expect=("办理成功", target), forbid=FORGOT))
    else:
        turns.append(Turn("不用了", expect=("本次不变更套餐",), forbid=FORGOT))
    turns.append(balance_again(subscriber))
    return Script("plan change" if confirm else "plan change declined", subscriber, turns)


def handoff(subscriber: Subscriber) -> Script:
    turns = verify(subscriber, "查话费", (f"余额 {subscriber.balance}元",))
    turns.append(Turn("转人工", expect=("已为您转接人工客服",), forbid=FORGOT, owner="queue"))
    turns.append(Turn(CANCEL_HANDOFF, owner="bot"))
    turns.append(balance_again(subscriber))
    return Script("handoff", subscriber, turns)


def chaos_scripts(count: int, rng: random.Random) -> list[Script]:
    """`count` conversations: a confirmed plan change for each of CONFIRMING, the rest balance,
    declined plan change (a DECLINING subscriber) and handoff-then-cancel in turn, each with a
    random subscriber."""
    scripts = [plan_change(s, confirm=True) for s in CONFIRMING]
    makers = (
        (balance, SUBSCRIBERS),
        (lambda s: plan_change(s, confirm=False), DECLINING),
        (handoff, SUBSCRIBERS),
    )
    for n in range(count - len(scripts)):
        make, pool = makers[n % len(makers)]
        scripts.append(make(rng.choice(pool)))
    rng.shuffle(scripts)
    return scripts


def problems(turn: Turn, replies: list[str]) -> list[str]:
    """What is wrong with `replies` as the answer to `turn` (empty: nothing)."""
    found = []
    text = "\n".join(replies)
    if turn.text != CANCEL_HANDOFF and not replies:
        found.append("no answer")
    if BOT_DOWN in text:
        found.append("the assistant did not answer")
    found += [f"missing {want!r}" for want in turn.expect if want not in text]
    found += [f"unexpected {bad!r}" for bad in turn.forbid if bad in text]
    repeated = sorted({r for r in replies if replies.count(r) > 1})
    found += [f"duplicated reply {r[:40]!r}" for r in repeated]
    return found

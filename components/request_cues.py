"""Which requests a message names, clause by clause (pure: the action server imports it, and
components/multi_request.py uses it in the NLU pipeline).

The cues are narrow on purpose: a word that only mentions a thing ("流量多一点的套餐") is not a
request for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from components import triage_rules

# The intent of each request (roaming covers prices, opening and closing).
REQUEST_INTENTS = {
    "change_plan": "change_plan",
    "plan": "query_plan",
    "balance": "query_balance",
    "data_usage": "query_data_usage",
    "reset_password": "reset_password",
    "check_ticket": "check_ticket",
    "roaming": "roaming",
}
# Clause-level cues, the first that matches a clause names its request.
CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("change_plan", re.compile(r"(?:换|改|变更|升级|降级|转)(?:个|一个|一下|成)?.{0,8}套餐|换成")),
    (
        "plan",
        re.compile(r"(?:什么|哪个|哪种|现在的|目前的)套餐|套餐.{0,2}(?:是什么|是哪个|详情|内容)"),
    ),
    ("balance", re.compile(r"余额|话费|账单|欠(?:了|费)?多少|扣了多少")),
    ("data_usage", re.compile(r"流量.{0,4}(?:还|剩|用了|多少)|剩.{0,3}流量|查.{0,3}流量")),
    ("reset_password", re.compile(r"密码")),
    ("check_ticket", re.compile(r"工单|(?:投诉|报修|维修).{0,4}(?:进度|怎么样了|结果)")),
    ("roaming", re.compile(r"漫游|出国|境外")),
)
CLAUSE = re.compile(r"[，,。；;！!？?\n]|然后|再|还有|顺便|另外|以及|同时")
FALLBACK_INTENT = "nlu_fallback"
FAULT_INTENT = "report_fault"
REPLACEABLE = (FALLBACK_INTENT, "inform")


def requests_in(text: str) -> list[tuple[str, str]]:
    """(request, clause) for each request a message names, in order, each request once."""
    found: list[tuple[str, str]] = []
    for clause in CLAUSE.split(text or ""):
        for request, cue in CUES:
            if cue.search(clause):
                if request not in (r for r, _ in found):
                    found.append((request, clause))
                break
    return found


def reports_fault(clause: str) -> bool:
    """The clause says something is not working ("家里手机没信号了"), by the fault keywords."""
    return triage_rules.rule_fault_category(clause) in triage_rules.BROKEN


def intents_named(text: str) -> list[str]:
    """The intents of the requests a message names and of a fault it reports, in the order
    said, each once (a clause that names a request is that request, not a fault)."""
    named: list[str] = []
    for clause in CLAUSE.split(text or ""):
        request = next((r for r, cue in CUES if cue.search(clause)), None)
        intent = REQUEST_INTENTS[request] if request else None
        if intent is None and reports_fault(clause):
            intent = FAULT_INTENT
        if intent is not None and intent not in named:
            named.append(intent)
    return named


def first_request_intent(text: str, intent: str | None) -> str | None:
    """The intent a message of several requests gets (its first request's), or None to keep
    `intent`: fewer than two requests, or an intent that is none of them (a complaint). A
    message the classifier could not decide (nlu_fallback) also counts a fault it reports:
    "家里手机没信号了，顺便查下话费" is a fault report first, whichever the model leaned to."""
    if intent == FALLBACK_INTENT:
        found = intents_named(text)
    else:
        found = [REQUEST_INTENTS[r] for r, _ in requests_in(text)]
    if len(found) < 2 or (intent not in REPLACEABLE and intent not in found):
        return None
    return found[0]


# Clause boundaries for the regression's clause votes (components/intent_vote.py): punctuation,
# the words that join requests, and the pauses of speech transcripts (spaces).
CLAUSE_BREAK = re.compile(
    r"[，,。；;！!？?\n~～…]+|\s+|然后|还有|顺便|顺带|另外|以及|同时|对了|完了|还想|"
    r"再(?=帮|查|问|给|把|看|办|开)|也(?=帮|查|给|看)"
)
# What a clause can ask for: a message's first such request decides its intent.
CLAUSE_REQUESTS = frozenset({*REQUEST_INTENTS.values(), FAULT_INTENT, "request_human", "faq"})
MIN_CLAUSE_VOTE = 0.6  # the regression's probability that makes a clause a request
MIN_SHARE = 0.15  # the message's confidence each of two requests needs (not a background aside)
# A story tells its background before its request ("营业厅说账单可以在APP里看，登录要服务密码，
# 我不记得设过，…帮我把密码重置一下"): in a message this long, a confident reading of the whole
# is kept whatever request its clauses name first (docs/benchmarks.md,
# "Stories, and the threshold by cost").
STORY_LENGTH = 50  # characters
STORY_CONFIDENCE = 0.7


def settled_story(text: str, intent: str | None, ranking: Mapping[str, float]) -> bool:
    """Whether a long message's intent stands as the whole message was read (STORY_LENGTH
    characters or more, and its intent, not a fallback, held at STORY_CONFIDENCE or more)."""
    return (
        len(text or "") >= STORY_LENGTH
        and intent not in (None, FALLBACK_INTENT)
        and ranking.get(intent, 0.0) >= STORY_CONFIDENCE
    )


def clauses(text: str) -> list[str]:
    """The clauses the regression votes on one by one (two characters or more)."""
    return [c for c in CLAUSE_BREAK.split(text or "") if len(c.strip()) >= 2]


def may_hold_several(shares: Mapping[str, float]) -> bool:
    """Whether the whole message's confidences leave room for two requests (else its clauses
    need no reading: `first_request_of_clauses` would decide nothing)."""
    held = [n for n, share in shares.items() if n in CLAUSE_REQUESTS and share >= MIN_SHARE]
    return len(held) >= 2


def first_request_of_clauses(
    votes: Sequence[tuple[str, float]], ranking: Mapping[str, float], intent: str | None
) -> str | None:
    """The first request of a message of several, from each clause's likeliest intent and its
    probability (`votes`, in order) and the whole message's confidences (`ranking`); None to
    keep `intent`. Two different requests must each be voted for by a clause and hold at least
    MIN_SHARE of the whole message's confidence, so that a story's background clause ("我下周去
    日本，…想换个套餐") does not count, and the intent chosen for the message (its likeliest, when
    it fell back) must be one of them, so that a complaint stays a complaint."""
    if intent == FALLBACK_INTENT:
        intent = max(
            (n for n in ranking if n != FALLBACK_INTENT), key=lambda n: ranking[n], default=None
        )
    found: list[str] = []
    for name, probability in votes:
        if name in CLAUSE_REQUESTS and probability >= MIN_CLAUSE_VOTE and name not in found:
            found.append(name)
    held = [name for name in found if ranking.get(name, 0.0) >= MIN_SHARE]
    if len(held) < 2 or intent not in held:
        return None
    return held[0]

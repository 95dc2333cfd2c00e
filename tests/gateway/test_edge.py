"""The customer edge's decisions (router/gateway/edge.py) and its counters (router/limits.py)."""

from __future__ import annotations

import pytest

from router import errors
from router.gateway import edge
from router.limits import StreamSlots

PROXIES = edge.parse_networks(["10.0.0.0/8", "::1"])
LOGIN = {"phone": "13800138000", "ts": 1_800_000_000, "nonce": "abcdEFGH_-123456", "sig": "0f" * 32}


def test_ids_and_tokens_are_random_and_long() -> None:
    ids = {edge.new_conversation_id() for _ in range(100)}
    assert len(ids) == 100 and all(len(i) == 32 for i in ids)
    assert len(edge.new_resume_token()) == 43


def test_token_matches_only_its_own_hash() -> None:
    token = edge.new_resume_token()
    stored = edge.token_hash(token)
    assert stored != token and len(stored) == 64
    assert edge.token_matches(stored, token)
    for stored_hash, given in ((stored, token + "x"), (stored, None), (stored, ""),
                               (None, token), (None, None), ("", "")):  # fmt: skip
        assert not edge.token_matches(stored_hash, given)


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.5", None, "203.0.113.5"),
        ("203.0.113.5", "198.51.100.1", "203.0.113.5"),  # an untrusted peer's claim is ignored
        ("10.1.2.3", "198.51.100.1", "198.51.100.1"),
        ("10.1.2.3", "1.1.1.1, 198.51.100.1, 10.9.9.9", "198.51.100.1"),  # nearest untrusted hop
        ("10.1.2.3", "garbage, 10.9.9.9", "10.9.9.9"),
        ("10.1.2.3", None, "10.1.2.3"),
        ("::1", "2001:db8::1", "2001:db8::1"),
        (None, "198.51.100.1", "unknown"),
    ],
)
def test_client_address(peer: str | None, forwarded: str | None, expected: str) -> None:
    assert edge.client_address(peer, forwarded, PROXIES) == expected


def test_client_key_is_a_stable_pseudonym() -> None:
    key = edge.client_key(b"k" * 32, "203.0.113.5")
    assert key == edge.client_key(b"k" * 32, "203.0.113.5")
    assert key != edge.client_key(b"j" * 32, "203.0.113.5")
    assert len(key) == 32 and "203" not in key


def test_only_the_contracts_metadata_reaches_the_assistant() -> None:
    login = edge.login_of({"login": LOGIN, "verified_level": "full"})
    assert edge.assistant_metadata("web", "c" * 32, login) == {
        "channel": "web", "client": "c" * 32, "login": LOGIN}  # fmt: skip
    assert edge.assistant_metadata("app", "c" * 32, None) == {"channel": "app", "client": "c" * 32}


@pytest.mark.parametrize(
    "bad",
    [
        {**LOGIN, "ts": "1800000000"},
        {**LOGIN, "ts": True},
        {**LOGIN, "ts": 1.5},
        {**LOGIN, "phone": "1380013800"},
        {**LOGIN, "phone": "２3800138000"},
        {**LOGIN, "nonce": "short"},
        {**LOGIN, "sig": "0F" * 32},
        {**LOGIN, "level": "full"},
        {k: v for k, v in LOGIN.items() if k != "nonce"},
        "login",
        None,
    ],
)
def test_a_malformed_login_is_dropped(bad: object) -> None:
    assert edge.login_of({"login": bad}) is None


def test_clean_text_strips_bidi_and_control_characters() -> None:
    assert edge.clean_text(" 查\u202e余额\u2066\u0000\u200b ") == "查余额"
    assert edge.clean_text("第一行\n第二行\t👨\u200d👩") == "第一行\n第二行\t👨\u200d👩"
    assert edge.clean_text("<b>x</b>") == "<b>x</b>"  # not HTML-escaped: pages use textContent


def test_origins() -> None:
    own = edge.own_origins("127.0.0.1:8400")
    assert own == {"http://127.0.0.1:8400", "https://127.0.0.1:8400"}
    allowed = ["https://Shop.example.com:443"]
    assert edge.origin_allowed(None, own, allowed)  # not a browser
    assert edge.origin_allowed("http://127.0.0.1:8400", own, allowed)
    assert edge.origin_allowed("https://shop.example.com", own, allowed)
    for origin in ("https://evil.example.net", "null", "http://shop.example.com",
                   "https://shop.example.com.evil.net", "http://127.0.0.1:8401", ""):  # fmt: skip
        assert not edge.origin_allowed(origin, own, allowed), origin


def test_stream_slots_per_client_and_long_polls() -> None:
    slots = StreamSlots(per_client=2, long_polls=3)
    with slots.hold("a"), slots.hold("a"):
        with pytest.raises(errors.RateLimited), slots.hold("a"):
            pass
        with slots.hold("b", long_poll=True), slots.hold("c", long_poll=True):
            with slots.hold("d", long_poll=True), pytest.raises(errors.RateLimited):
                slots.hold("e", long_poll=True).__enter__()
            with slots.hold("e"):  # not a long poll
                pass
    assert slots.held("a") == 0 and slots._held == {} and slots._polls == 0

"""Phone calls end to end: the whole product started as `make run` starts it (tests/stack.py),
the voice gateway's side played through the voice contract (router/gateway/voice/) by the call
simulator's client (scripts/call.py), the agent in the console in headless Chromium.

Verification → balance → transfer to an agent by voice, the agent accepting the call in the
console and seeing its transcript as a chat; the keypad after two failed spoken numbers;
barge-in flags; an idempotent retry of a turn; hanging up while queued withdraws the handoff;
the simulator's command.

Runs in the router environment (httpx, Playwright): `make test-voice`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.call import CALLS, Turn, VoiceClient, load_script, play, turn_body
from telecom.secrets import new_secret
from tests.gateway.conftest import ARTIFACTS, Router, launch_chromium
from tests.gateway.test_browser import console_login, watch_dialogs
from tests.stack import START_TIMEOUT_S, Stack, running_stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(START_TIMEOUT_S + 300)]

PHONE, MASKED = "13800138000", "138****8000"  # demo subscriber 张伟
SPOKEN_TAIL = "尾号8000"  # how the masked number is read out (router/gateway/voice/speak.py)
AGENT = "agent-li"  # billing (scripts/demo_agents.py)
STEP_MS = 60_000


@pytest.fixture(scope="module")
def voice_token() -> str:
    return new_secret()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, voice_token: str) -> Iterator[Stack]:
    env = {"ROUTER_VOICE_TOKEN": voice_token, "ASSISTANT_INSTANCES": "1"}
    with running_stack(tmp_path_factory.mktemp("voice-stack"), env=env) as running:
        yield running


@pytest.fixture
def voice(stack: Stack, voice_token: str) -> VoiceClient:
    return VoiceClient(stack.router_url, voice_token)


@pytest.fixture
def admin(stack: Stack) -> Iterator[httpx.Client]:
    headers = stack.bearer("ROUTER_ADMIN_TOKEN")
    with httpx.Client(base_url=stack.router_url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


def new_call() -> str:
    return f"e2e-{uuid.uuid4().hex[:16]}"


def said(*alternatives: tuple[str, float], barge_in: bool = False) -> Turn:
    return Turn(alternatives=alternatives, barge_in=barge_in)


def answer(voice: VoiceClient, call_id: str, turn: Turn, seq: int) -> dict[str, Any]:
    status, body = voice.turn(call_id, turn_body(turn, seq))
    assert status == 200, (seq, status, body)
    return body


def customer_texts(admin: httpx.Client, conversation_id: str) -> list[str]:
    view = admin.get(f"/v1/conversations/{conversation_id}")
    assert view.status_code == 200, view.text
    return [m["text"] for m in view.json()["messages"] if m["sender"] == "customer"]


def test_keypad_after_two_failed_spoken_numbers(voice: VoiceClient) -> None:
    """scripts/calls/keypad.yml: a number cut short, then one too long, then the keypad (a
    wrong key deleted with *, # ends), then the ID's last six by voice."""
    lines: list[str] = []
    answers = play(voice, load_script(CALLS / "keypad.yml"), new_call(), out=lines.append)
    greeting, ask_phone, again, keypad, ask_id, usage = answers
    assert greeting["action"] == "continue" and greeting["seq"] == -1
    assert "手机" in ask_phone["text"] and ask_phone["expect"]["input"] != "digits"
    assert "手机" in again["text"] and again["expect"]["input"] != "digits"
    assert keypad["expect"]["input"] == "digits", keypad
    assert keypad["expect"]["max_digits"] == 11 and keypad["expect"]["end_key"] == "#"
    assert "井号" in keypad["text"] and "星号" in keypad["text"], keypad["text"]
    assert "身份证" in ask_id["text"] and "尾号8002" in ask_id["text"], ask_id["text"]
    assert "流量" in usage["text"] and usage["action"] == "continue", usage["text"]
    assert lines[-1] == "call ended (hangup)", lines


def test_barge_in_flags(voice: VoiceClient) -> None:
    """An answer with the privacy notice before verification may not be interrupted; an
    ordinary one may; a turn the caller spoke over the prompt is taken like any other."""
    call = new_call()
    status, greeting = voice.start(call, f"+86{PHONE}")
    assert status == 201, greeting
    notice = answer(voice, call, said(("我想查一下话费", 0.9)), 0)
    assert "手机" in notice["text"] and notice["barge_in"] is False, notice
    ask_id = answer(voice, call, said(("幺三八 零零幺三 八零零零", 0.9), barge_in=True), 1)
    assert "身份证" in ask_id["text"], ask_id["text"]
    balance = answer(voice, call, said(("幺五幺二三八", 0.9), barge_in=True), 2)
    assert "余额" in balance["text"] and balance["barge_in"] is True, balance
    assert voice.end(call, "hangup") == (200, {"ended": True})


def test_hanging_up_while_queued_withdraws_the_handoff(
    voice: VoiceClient, admin: httpx.Client
) -> None:
    """scripts/calls/transfer.yml: verified, in arrears, asks for a person; no agent is on
    duty, so the handoff waits in its queue until the caller hangs up."""
    call, lines = new_call(), []
    answers = play(voice, load_script(CALLS / "transfer.yml"), call, out=lines.append)
    assert "56.30" in answers[-2]["text"], answers[-2]["text"]  # 李娜's arrears
    transfer = answers[-1]
    assert transfer["action"] == "transfer" and transfer["handoff_id"], transfer
    assert lines[-1].startswith("the call waits for an agent"), lines
    handoff = admin.get(f"/v1/handoffs/{transfer['handoff_id']}").json()
    assert handoff["status"] == "queued" and handoff["channel"] == "voice", handoff
    assert transfer["queue"] in handoff["skills"], (transfer["queue"], handoff["skills"])

    assert voice.end(call, "hangup") == (200, {"ended": True})
    handoff = admin.get(f"/v1/handoffs/{transfer['handoff_id']}").json()
    assert handoff["status"] == "abandoned", handoff
    assert voice.end(call, "hangup") == (200, {"ended": True})  # ending again changes nothing


def test_the_simulator_plays_a_call_and_never_prints_the_token(
    stack: Stack, voice_token: str
) -> None:
    env = {**os.environ, "ROUTER_VOICE_TOKEN": voice_token, "PYTHONPATH": str(CALLS.parents[1])}
    command = [sys.executable, "-m", "scripts.call", "--script", str(CALLS / "balance.yml")]
    command += ["--base", stack.router_url]
    run = subprocess.run(
        command, env=env, cwd=CALLS.parents[1], capture_output=True, text=True, timeout=300
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "(token from $ROUTER_VOICE_TOKEN)" in output and voice_token not in output
    assert f"from {MASKED}" in output and "余额" in output and PHONE not in output, output
    assert "call ended" in output.splitlines()[-1], output


def test_verification_balance_and_transfer_by_voice_then_the_agent_in_the_console(
    stack: Stack, voice: VoiceClient, admin: httpx.Client, browser: Any
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    console = context.new_page()
    artifacts = Path(ARTIFACTS)
    artifacts.mkdir(exist_ok=True)
    try:
        dialogs = watch_dialogs(console)
        router = Router(stack.router_url, stack.process, stack.run_log)
        console_login(console, router, AGENT, stack.agents()[AGENT])
        console.get_by_test_id("presence").select_option("available")

        call = new_call()
        status, greeting = voice.start(call, f"+86{PHONE}", "10086")
        assert status == 201 and greeting["action"] == "continue", greeting
        assert greeting["ssml"].startswith("<speak>") and greeting["ssml"].endswith("</speak>")
        assert voice.start(call, f"+86{PHONE}", "10086") == (200, greeting)  # opened again

        # an interim result changes nothing; the final n-best list has a homophone error first
        request = said(("嗯 那个 我想查一下化肥", 0.84), ("嗯 那个 我想查一下话费", 0.81))
        status, accepted = voice.turn(call, turn_body(request, 0, partial="嗯 那个 我想"))
        assert (status, accepted) == (202, {"accepted": True})
        ask_phone = answer(voice, call, request, 0)
        assert "手机" in ask_phone["text"] and ask_phone["action"] == "continue", ask_phone

        number = said(("幺三八 零零幺三 八零零零", 0.88), ("一三八 零零一三 八零零", 0.52))
        ask_id = answer(voice, call, number, 1)
        assert "身份证" in ask_id["text"] and SPOKEN_TAIL in ask_id["text"], ask_id["text"]
        assert PHONE not in ask_id["text"] + ask_id["ssml"]
        # the gateway retries the same turn (a lost answer): the same answer, the turn once
        assert answer(voice, call, number, 1) == ask_id

        balance = answer(voice, call, said(("幺五幺 二三八", 0.86), ("一五一 二三八", 0.8)), 2)
        assert "余额" in balance["text"] and "元" in balance["text"], balance["text"]
        assert "say-as" in balance["ssml"], balance["ssml"]
        stale = voice.turn(call, turn_body(request, 0))  # older than one already answered
        assert stale[0] == 409, stale

        transfer = answer(voice, call, said(("转人工", 0.9), ("转人公", 0.41)), 3)
        assert transfer["action"] == "transfer" and transfer["queue"], transfer
        handoff = admin.get(f"/v1/handoffs/{transfer['handoff_id']}").json()
        assert handoff["channel"] == "voice", handoff
        conversation_id = handoff["conversation_id"]

        # the agent gets the offer, accepts, and sees the call as a chat
        offer = console.get_by_test_id("offer")
        offer.wait_for(timeout=STEP_MS)
        assert MASKED in offer.inner_text() and PHONE not in offer.inner_text()
        console.get_by_test_id("accept").click()
        pane = console.get_by_test_id("conversation")
        pane.wait_for()
        pane.locator("[data-testid=msg-customer]", has_text="查一下").first.wait_for()
        pane.locator("[data-testid=msg-bot]", has_text="余额").first.wait_for()
        assert PHONE not in console.locator("body").inner_text()
        pane.locator(".reply").fill("您好，我是人工客服，已看到您的通话记录。")
        pane.locator(".compose button").click()
        pane.locator("[data-testid=msg-agent]", has_text="已看到您的通话记录").wait_for()
        console.screenshot(path=str(artifacts / "voice-console.png"))

        # every final turn once: no partial, no retry twice
        texts = customer_texts(admin, conversation_id)
        assert len(texts) == 4 and sum("查一下" in t for t in texts) == 1, texts
        view = admin.get(f"/v1/conversations/{conversation_id}").json()
        assert any(m["sender"] == "agent" for m in view["messages"]), view["messages"]
        assert voice.end(call, "transfer_done") == (200, {"ended": True})
        assert dialogs == []
    except Exception:
        console.screenshot(path=str(artifacts / "failed-voice-console.png"))
        raise
    finally:
        context.close()

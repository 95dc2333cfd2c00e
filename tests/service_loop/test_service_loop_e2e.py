"""The service loop end to end on the whole product (tests/stack.py), everyone in headless
Chromium: a customer files a complaint in the widget → a ticket exists → the service clock is
moved to 80 % of its respond window and a watcher tick escalates it (the alert on the
supervisor's wallboard) → an agent claims, responds and resolves it in the console → the
customer sees the response and the result in the conversation → a day later the follow-up link
arrives there → the customer answers 5 on the feedback page → the ticket is closed and the
rating counts in the archive's follow-up CSAT. Screenshots: test-artifacts/service-loop-e2e-*.png.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.gateway.test_browser import watch_dialogs
from tests.service_loop.conftest import DESK, PHONE, STEP_MS, TICKET_ID, Clock, subscriber, watch
from tests.service_loop.pages import console_login, open_queue, sign_in, take
from tests.stack import Stack

expect = pytest.importorskip("playwright.sync_api").expect

CUSTOMER = "13800138000"  # 张伟
AGENT = "agent-chen"
COMPLAINT = "我要投诉，你们客服态度太差了，反复打电话都没人解决"
DETAILS = "上周办理宽带迁移，客服多次承诺回电都没有回"
RESPONSE = "您好，我们已联系装维部门，会尽快为您完成宽带迁移。"
RESULT = "宽带迁移已于今日完成，相关客服已被批评教育。"
REMEDY = "赠送 20 元话费补偿"
HOUR_S = 3600
ARCHIVE_WAIT_S = 120  # the archive's consumer folds the feed in within seconds; generous


def say(chat: Any, text: str) -> str:
    """Send a turn in the widget; the text of the assistant's answer to it."""
    bot = chat.locator("[data-testid=msg-bot]")
    before = bot.count()
    chat.get_by_test_id("chat-input").fill(text)
    chat.get_by_test_id("chat-send").click()
    bot.nth(before).wait_for(timeout=STEP_MS)
    return "\n".join(bot.all_inner_texts()[before:])


def follow_up_csat(admin: httpx.Client, sup: dict[str, str]) -> tuple[int, int]:
    """(numerator, denominator) of today's follow-up CSAT in the reports (archive/metrics.py)."""
    reply = admin.get("/v1/supervisor/reports/summary", headers=sup)
    assert reply.status_code == 200, reply.text
    metric = reply.json()["csat_follow_up"]
    return int(metric.get("numerator") or 0), int(metric.get("denominator") or 0)


def test_a_complaint_goes_round_the_loop(
    browser: Any,
    stack: Stack,
    admin: httpx.Client,
    agents: dict[str, str],
    supervisor: tuple[str, str],
    clock: Clock,
    artifacts: Path,
) -> None:
    phone, id_last6 = subscriber(CUSTOMER)
    sid, sup_token = supervisor
    sup = {"Authorization": f"Bearer {sup_token}"}
    customer_ctx = browser.new_context(**PHONE)
    desk_ctx = browser.new_context(**DESK)
    widget, wallboard, console = (
        customer_ctx.new_page(), desk_ctx.new_page(), desk_ctx.new_page()
    )  # fmt: skip
    try:
        dialogs = [watch_dialogs(p) for p in (widget, wallboard, console)]
        # 1. the complaint, in the widget
        widget.goto(f"{stack.router_url}/demo")
        chat = widget.frame_locator("[data-testid=chat-frame]")
        chat.locator("[data-testid=chat-panel][data-connected=true]").wait_for(timeout=STEP_MS)
        conversation_id = chat.get_by_test_id("chat-panel").get_attribute("data-conversation")
        answer = say(chat, COMPLAINT)
        for _ in range(6):
            if TICKET_ID.search(answer):
                break
            if "身份证" in answer:
                answer = say(chat, id_last6)
            elif "手机号" in answer or "号码" in answer:
                answer = say(chat, phone)
            else:
                answer = say(chat, DETAILS)
        found = TICKET_ID.search(answer)
        assert found, answer
        ticket_id = found.group(0)

        # 2. the ticket exists, with the customer's conversation and a 24-hour respond window
        reply = httpx.get(f"{stack.router_url}/v1/tickets/{ticket_id}", headers=sup, timeout=30)
        assert reply.status_code == 200, reply.text
        ticket = reply.json()["ticket"]
        assert ticket["kind"] == "complaint" and ticket["state"] == "intake", ticket
        assert ticket["conversation_id"] == conversation_id and ticket["channel"] == "web"
        assert ticket["team"] == "frontline" and not ticket["escalated"], ticket
        assert ticket["customer"] == "138****8000", ticket

        # 3. at 80 % of the respond window the watcher escalates it; the wallboard shows it
        wallboard.goto(f"{stack.router_url}/wallboard")
        sign_in(wallboard, sid, sup_token)
        wallboard.wait_for_selector("body[data-ticket-polls]")
        nothing = watch(admin)
        assert ticket_id not in {a["ticket_id"] for a in nothing["alerts"]}, nothing
        clock.advance(24 * HOUR_S * 0.8 + 120)
        alerts = [a for a in watch(admin)["alerts"] if a["ticket_id"] == ticket_id]
        assert [(a["kind"], a["window"]) for a in alerts] == [("warning", "respond")], alerts
        assert ticket_id in alerts[0]["text"], alerts
        again = watch(admin)["alerts"]  # a second tick adds nothing for it
        assert ticket_id not in {a["ticket_id"] for a in again}, again
        alert = wallboard.locator(
            f"[data-testid=ticket-alert][data-kind=warning][data-ticket='{ticket_id}']"
        )
        alert.wait_for(timeout=30_000)  # the panel asks every 10 s
        assert "临期升级" in alert.inner_text()
        frontline = wallboard.locator("[data-testid=ticket-team-row][data-team=frontline]")
        assert int(frontline.locator(".warned").inner_text()) >= 1
        wallboard.screenshot(path=str(artifacts / "service-loop-e2e-wallboard.png"), full_page=True)

        # 4. an agent claims, responds and resolves it in the console
        console_login(console, stack, AGENT, agents[AGENT])
        console.get_by_test_id("view-tickets").click()
        open_queue(console, "frontline")
        row = console.locator(f"[data-testid=ticket-row][data-ticket='{ticket_id}']")
        expect(row).to_have_class(re.compile("warned"))
        row.click()
        console.get_by_test_id("step-claim").click()
        expect(console.get_by_test_id("ticket-state")).to_have_text("评估中")
        take(console, "respond", text=RESPONSE)
        expect(console.get_by_test_id("ticket-state")).to_have_text("处理中")
        take(console, "resolve", result=RESULT, remedy=REMEDY)
        expect(console.get_by_test_id("ticket-state")).to_have_text("已处理，待回访")
        console.screenshot(path=str(artifacts / "service-loop-e2e-console.png"), full_page=True)

        # 5. the customer sees the response and the result in the conversation (a watcher tick
        # delivers the notices: the conversation is open, so not by SMS)
        watch(admin)
        system = chat.locator("[data-testid=msg-system]")
        system.filter(has_text="装维部门").wait_for(timeout=30_000)
        result = system.filter(has_text="宽带迁移已于今日完成")
        result.wait_for(timeout=30_000)
        assert ticket_id in result.inner_text() and "20 元" in result.inner_text()

        # 6. a day later the follow-up link arrives there
        before = follow_up_csat(admin, sup)
        clock.advance(24 * HOUR_S + 60)
        watch(admin)
        link = system.get_by_test_id("feedback-link")
        link.wait_for(timeout=30_000)
        assert re.fullmatch(r"https?://\S+/feedback\?t=[A-Za-z0-9_.-]+", link.inner_text())
        assert "{link}" not in system.last.inner_text()
        widget.screenshot(path=str(artifacts / "service-loop-e2e-widget.png"))

        # 7. answered with 5 (the link opens the follow-up page): the ticket closes and the
        # rating counts
        with customer_ctx.expect_page() as opened:
            link.click()
        survey = opened.value
        survey.wait_for_selector("body[data-ready]")
        expect(survey.get_by_test_id("feedback-result")).to_contain_text("宽带迁移已于今日完成")
        expect(survey.get_by_test_id("feedback-remedy")).to_have_text(REMEDY)
        survey.get_by_test_id("rating-5").click()
        survey.get_by_test_id("feedback-submit").click()
        survey.wait_for_selector("body[data-answered='closed']")
        expect(survey.get_by_test_id("feedback-done")).to_contain_text("感谢您的评价")
        survey.screenshot(path=str(artifacts / "service-loop-e2e-feedback.png"))
        ticket = httpx.get(f"{stack.router_url}/v1/tickets/{ticket_id}", headers=sup,
                           timeout=30).json()["ticket"]  # fmt: skip
        assert ticket["state"] == "closed" and ticket["rating"] == 5, ticket
        deadline = time.monotonic() + ARCHIVE_WAIT_S  # the archive's follow-up CSAT counts it
        after = follow_up_csat(admin, sup)
        while after[0] <= before[0] and time.monotonic() < deadline:
            time.sleep(1)
            after = follow_up_csat(admin, sup)
        assert after == (before[0] + 1, before[1] + 1), (before, after)
        assert dialogs == [[], [], []]
    except Exception:
        for name, page in (("widget", widget), ("wallboard", wallboard), ("console", console)):
            page.screenshot(path=str(artifacts / f"failed-service-loop-e2e-{name}.png"))
        raise
    finally:
        customer_ctx.close()
        desk_ctx.close()

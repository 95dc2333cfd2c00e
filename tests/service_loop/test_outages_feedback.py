"""Network operations' outage page and the customer's follow-up page in headless Chromium on the
real stack: an outage declared on the page, a customer in its area reporting a fault over the
customer API (attached to it), the expected restoration moved, the outage closed (the report
resolved, its customer told in the conversation); a day later the follow-up link reaches the
conversation and the customer, dissatisfied, rates 2 (the ticket reopens). A bad link gets a
clear page. Screenshots: test-artifacts/service-loop-outages*.png, service-loop-feedback*.png."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.gateway.test_browser import watch_dialogs
from tests.service_loop.conftest import DESK, PHONE, Clock, file_complaint, watch
from tests.service_loop.pages import conversation_texts, sign_in
from tests.stack import Stack

expect = pytest.importorskip("playwright.sync_api").expect

CUSTOMER = "13800138003"  # 刘洋, 杭州 西湖区 (no demo outage there)
CAUSE = "西湖区光缆被施工挖断，部分小区宽带中断"
DAY_S = 24 * 3600


def test_outage_page_and_the_follow_up_page(
    browser: Any,
    stack: Stack,
    admin: httpx.Client,
    supervisor: tuple[str, str],
    clock: Clock,
    artifacts: Path,
) -> None:
    sid, token = supervisor
    context = browser.new_context(**DESK)
    page = context.new_page()
    customer_ctx = browser.new_context(**PHONE)
    survey = customer_ctx.new_page()
    try:
        dialogs = watch_dialogs(page)
        page.goto(f"{stack.router_url}/outages")
        sign_in(page, sid, token)
        page.wait_for_selector("body[data-outages]")
        form = page.get_by_test_id("declare")
        form.locator("[name=city]").fill("杭州")
        form.locator("[name=district]").fill("西湖区")
        form.locator("[name=service]").select_option("broadband")
        form.locator("[name=description]").fill(CAUSE)
        page.get_by_test_id("declare-submit").click()
        row = page.locator("[data-testid=outage-row]", has_text=CAUSE)
        row.wait_for()
        outage_id = row.get_attribute("data-outage")
        assert outage_id and "宽带" in row.inner_text() and "处理中" in row.inner_text()
        page.get_by_test_id("declare-submit").click()  # an empty form: said in Chinese
        expect(page.get_by_test_id("declare-error")).to_contain_text("请填写城市")

        # a customer in the area reports a fault: attached to the outage, told the cause
        report = file_complaint(stack, CUSTOMER, "家里宽带断网了，上不了网", "宽带一直连不上")
        assert any("西湖区" in t for t in report.transcript), report.transcript
        row = page.locator(f"[data-testid=outage-row][data-outage='{outage_id}']")
        page.get_by_test_id("status-filter").select_option("all")  # the list again
        expect(row.get_by_test_id("outage-attached")).to_have_text("1")

        row.get_by_test_id("outage-new-restore").fill("2030-01-02T18:30")
        row.get_by_test_id("outage-update").click()
        expect(row.get_by_test_id("outage-restore")).to_have_text("2030-01-02 18:30")
        page.screenshot(path=str(artifacts / "service-loop-outages.png"), full_page=True)

        row.get_by_test_id("outage-result").fill("光缆已熔接修复，宽带恢复正常")
        row.get_by_test_id("outage-close").click()
        page.wait_for_selector("body[data-resolved='1']")
        expect(row.get_by_test_id("outage-status")).to_contain_text("已恢复")
        expect(row.get_by_test_id("outage-close")).to_have_count(0)
        page.get_by_test_id("status-filter").select_option("open")
        expect(row).to_have_count(0)
        page.screenshot(path=str(artifacts / "service-loop-outages-closed.png"), full_page=True)
        sup = {"Authorization": f"Bearer {token}"}
        ticket = httpx.get(f"{stack.router_url}/v1/tickets/{report.ticket_id}", headers=sup,
                           timeout=30).json()["ticket"]  # fmt: skip
        assert ticket["state"] == "feedback" and "熔接" in ticket["result"], ticket

        # the customer hears it in the conversation, and a day later gets the follow-up link
        watch(admin)
        texts = conversation_texts(admin, report.conversation_id)
        assert any("熔接" in t for t in texts), texts
        clock.advance(DAY_S + 60)
        watch(admin)
        texts = conversation_texts(admin, report.conversation_id)
        link = re.compile(r"https?://\S+/feedback\?t=[A-Za-z0-9_.-]+")
        links = [m.group(0) for t in texts for m in link.finditer(t)]
        assert links, texts
        assert "{link}" not in "\n".join(texts)

        survey.goto(links[-1])
        survey.wait_for_selector("body[data-ready]")
        expect(survey.get_by_test_id("feedback-ticket-id")).to_have_text(report.ticket_id)
        expect(survey.get_by_test_id("feedback-result")).to_contain_text("熔接")
        survey.get_by_test_id("rating-2").click()
        survey.get_by_test_id("feedback-comment").fill("断了整整一天，太影响工作了")
        survey.screenshot(path=str(artifacts / "service-loop-feedback.png"), full_page=True)
        survey.get_by_test_id("feedback-submit").click()
        survey.wait_for_selector("body[data-answered='reopened']")
        expect(survey.get_by_test_id("feedback-done")).to_contain_text("重新受理")
        ticket = httpx.get(f"{stack.router_url}/v1/tickets/{report.ticket_id}", headers=sup,
                           timeout=30).json()["ticket"]  # fmt: skip
        assert ticket["state"] == "handling" and ticket["rating"] == 2, ticket
        assert ticket["reopens"] == 1, ticket
        survey.reload()  # answered once: the page says so, no second form
        survey.wait_for_selector("body[data-answered='before']")
        assert survey.get_by_test_id("feedback-form").is_hidden()

        survey.goto(f"{stack.router_url}/feedback?t={report.ticket_id}.AAAAAAAAAAAAAAAAAAAAAA")
        expect(survey.get_by_test_id("feedback-error")).to_have_text("链接无效或已过期")
        survey.screenshot(path=str(artifacts / "service-loop-feedback-bad-link.png"))
        assert dialogs == []
    except Exception:
        page.screenshot(path=str(artifacts / "failed-service-loop-outages.png"), full_page=True)
        survey.screenshot(path=str(artifacts / "failed-service-loop-feedback.png"))
        raise
    finally:
        context.close()
        customer_ctx.close()

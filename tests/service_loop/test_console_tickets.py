"""The console's 工单 tab in headless Chromium on the real stack: a team's queue, a ticket's
record, every step an agent takes (认领, 转派, 内部备注, 答复客户, 办结, 重新处理, 升级) and the
refusals said in Chinese. The ticket is a real complaint filed with the assistant over the
customer API. Screenshots: test-artifacts/service-loop-console-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.gateway.test_browser import watch_dialogs
from tests.service_loop.conftest import DESK, file_complaint
from tests.service_loop.pages import console_login, open_queue, take
from tests.stack import Stack

expect = pytest.importorskip("playwright.sync_api").expect

AGENT = "agent-zhao"
OTHER = "agent-wang"


def test_console_works_a_ticket(
    browser: Any, stack: Stack, agents: dict[str, str], artifacts: Path
) -> None:
    complaint, details = "我要投诉，营业厅的服务态度太差了", "营业员一直不理我，排队等了一个小时"
    filed = file_complaint(stack, "13800138001", complaint, details)
    other = {"Authorization": f"Bearer {agents[OTHER]}"}
    context = browser.new_context(**DESK)
    page = context.new_page()
    try:
        dialogs = watch_dialogs(page)
        console_login(page, stack, AGENT, agents[AGENT])
        page.get_by_test_id("view-tickets").click()
        assert page.get_by_test_id("tickets").is_visible()
        open_queue(page, "frontline")
        row = page.locator(f"[data-testid=ticket-row][data-ticket='{filed.ticket_id}']")
        row.wait_for()
        assert "已受理" in row.inner_text() and "到期" in row.inner_text(), row.inner_text()
        row.click()
        detail = page.locator(f"#t-detail[data-ticket='{filed.ticket_id}']")
        detail.wait_for()
        title = page.get_by_test_id("ticket-title").inner_text()
        assert filed.ticket_id in title and "投诉" in title, title
        assert "13800138001" not in page.locator("body").inner_text()  # masked everywhere
        page.screenshot(path=str(artifacts / "service-loop-console-queue.png"))

        # someone else claims it first: the console's claim is refused, in Chinese
        claimed = httpx.post(f"{stack.router_url}/v1/tickets/{filed.ticket_id}/steps",
                             json={"step": "claim"}, headers=other, timeout=30)  # fmt: skip
        assert claimed.status_code == 200, claimed.text
        page.get_by_test_id("step-claim").click()
        expect(page.get_by_test_id("ticket-error")).to_have_text("工单已被他人认领")
        # …and passes it to billing, unassigned
        moved = httpx.post(f"{stack.router_url}/v1/tickets/{filed.ticket_id}/steps",
                           json={"step": "reassign", "team": "billing"}, headers=other,
                           timeout=30)  # fmt: skip
        assert moved.status_code == 200, moved.text

        open_queue(page, "billing")
        page.locator(f"[data-testid=ticket-row][data-ticket='{filed.ticket_id}']").click()
        expect(page.get_by_test_id("ticket-team-label")).to_have_text("计费账务")
        page.get_by_test_id("step-claim").click()
        expect(page.get_by_test_id("ticket-assignee")).to_have_text(f"坐席 {AGENT}")
        expect(page.get_by_test_id("ticket-state")).to_have_text("评估中")
        # not a fee complaint after all: back to the front line, through the console
        take(page, "reassign", team="frontline")
        expect(page.get_by_test_id("ticket-team-label")).to_have_text("一线客服")
        expect(page.get_by_test_id("ticket-state")).to_have_text("已受理")

        open_queue(page, "frontline")
        page.locator(f"[data-testid=ticket-row][data-ticket='{filed.ticket_id}']").click()
        page.get_by_test_id("step-claim").click()
        expect(page.get_by_test_id("ticket-state")).to_have_text("评估中")
        take(page, "note", text="已调取营业厅监控，核实排队情况")
        page.locator("[data-testid=ticket-event][data-step=note]").wait_for()
        assert page.get_by_test_id("step-resolve").is_hidden()  # nothing answered yet
        take(page, "respond", text="")
        expect(page.get_by_test_id("ticket-error")).to_have_text("请填写内容")
        take(page, "respond", text="您好，已核实营业厅当天排队情况，我们会在两天内给您处理结果。")
        expect(page.get_by_test_id("ticket-state")).to_have_text("处理中")
        take(page, "resolve", result="")
        expect(page.get_by_test_id("ticket-error")).to_have_text("请填写处理结果")
        take(page, "resolve", result="已对该营业员进行批评教育，并优化营业厅排队叫号。")
        expect(page.get_by_test_id("ticket-state")).to_have_text("已处理，待回访")
        expect(page.get_by_test_id("ticket-result")).to_contain_text("批评教育")
        take(page, "reopen", text="客户来电表示仍不满意")
        expect(page.get_by_test_id("ticket-state")).to_have_text("处理中")
        take(page, "escalate", text="客户多次投诉同一营业厅")
        expect(page.get_by_test_id("ticket-escalated")).to_contain_text("是")

        steps = page.locator("[data-testid=ticket-event]").evaluate_all(
            "els => els.map(e => e.getAttribute('data-step'))"
        )
        for step in ("claim", "reassign", "note", "respond", "resolve", "reopen", "escalate"):
            assert step in steps, steps
        events = page.get_by_test_id("ticket-events").inner_text()
        assert "答复客户" in events and f"坐席 {AGENT}" in events, events
        page.screenshot(path=str(artifacts / "service-loop-console-ticket.png"), full_page=True)
        assert dialogs == []
    except Exception:
        page.screenshot(path=str(artifacts / "failed-service-loop-console.png"), full_page=True)
        raise
    finally:
        context.close()

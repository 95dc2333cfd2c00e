"""The widget and the agent console in headless Chromium (Debian's package, Playwright for
Python): customer on one router process, agent on another; injection attempts stay text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.gateway.conftest import Router

pytestmark = pytest.mark.slow

INJECTIONS = ["<img src=x onerror=alert(1)>", "<script>window.__pwned=1;alert(2)</script>",
              "<img src=x onerror=\"window.__pwned=1\">"]  # fmt: skip
PHONE = {"viewport": {"width": 390, "height": 780}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}  # fmt: skip


def watch_dialogs(page: Any) -> list[str]:
    seen: list[str] = []

    def on_dialog(dialog: Any) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return seen


def console_login(page: Any, router: Router, agent_id: str, token: str) -> None:
    page.goto(f"{router.url}/console")
    page.get_by_test_id("agent-id").fill(agent_id)
    page.get_by_test_id("agent-token").fill(token)
    page.get_by_test_id("login").click()
    page.wait_for_selector("body[data-stream='open']")


def test_widget_console_handoff_and_injection(
    browser: Any, start_routers: Callable[..., list[Router]], make_agent: Callable[..., str],
    artifacts: Path,
) -> None:  # fmt: skip
    customer_side, agent_side = start_routers(2)
    token = make_agent(agent_side, "zhang.min", name="张敏", available=False)

    customer_ctx = browser.new_context(**PHONE)
    agent_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        widget = customer_ctx.new_page()
        console = agent_ctx.new_page()
        customer_dialogs = watch_dialogs(widget)
        agent_dialogs = watch_dialogs(console)

        widget.goto(f"{customer_side.url}/demo")
        widget.wait_for_selector("[data-testid=chat-panel][data-connected=true]")
        widget.get_by_test_id("chat-input").fill("查一下话费余额")
        widget.get_by_test_id("chat-send").click()
        widget.get_by_text("您的话费余额为 58.20 元").wait_for()

        console_login(console, agent_side, "zhang.min", token)
        console.get_by_test_id("presence").select_option("available")

        widget.get_by_role("button", name="转人工").click()
        widget.wait_for_selector("[data-testid=chat-panel][data-owner=queue]")
        offer = console.get_by_test_id("offer")
        offer.wait_for()
        assert "剩余" in console.get_by_test_id("offer-countdown").inner_text()
        assert "138****8000" in offer.inner_text()
        console.get_by_test_id("accept").click()
        pane = console.get_by_test_id("conversation")
        pane.wait_for()
        widget.wait_for_selector("[data-testid=chat-panel][data-owner=agent]")
        assert "张敏" in widget.get_by_test_id("chat-status").inner_text()

        for text in INJECTIONS:
            widget.get_by_test_id("chat-input").fill(text)
            widget.get_by_test_id("chat-send").click()
        for text in INJECTIONS:
            pane.locator("[data-testid=msg-customer] .text", has_text=text).wait_for()
        assert pane.locator("img").count() == 0 and pane.locator(".log script").count() == 0

        pane.locator(".quick button").first.click()
        pane.locator(".compose button").click()
        widget.get_by_text("您好，我是人工客服，很高兴为您服务。").wait_for()
        pane.locator(".compose input").fill("<b>加粗?</b> 请稍等")
        pane.locator(".compose button").click()
        widget.locator("[data-testid=msg-agent]", has_text="<b>加粗?</b> 请稍等").wait_for()
        assert widget.locator("[data-testid=chat-log] b").count() == 0

        widget.screenshot(path=str(artifacts / "widget-with-agent.png"))
        console.screenshot(path=str(artifacts / "console-conversation.png"))

        pane.locator(".disposition").select_option("resolved")
        pane.locator(".complete").click()
        widget.get_by_role("button", name="5 分").click()
        widget.get_by_text("还有什么意见或建议").wait_for()
        widget.get_by_test_id("chat-input").fill("很满意")
        widget.get_by_test_id("chat-send").click()
        widget.get_by_text("感谢您的反馈").wait_for()
        widget.screenshot(path=str(artifacts / "widget-rated.png"))

        for page in (widget, console):
            assert page.evaluate("window.__pwned === undefined")
        assert customer_dialogs == [] and agent_dialogs == []

        # a reload resumes the same conversation with its history
        widget.reload()
        widget.get_by_text("感谢您的反馈").wait_for()
        widget.locator("[data-testid=msg-agent]", has_text="<b>加粗?</b> 请稍等").wait_for()
    except Exception:
        widget.screenshot(path=str(artifacts / "failed-widget.png"))
        console.screenshot(path=str(artifacts / "failed-console.png"))
        raise
    finally:
        customer_ctx.close()
        agent_ctx.close()

"""The widget and the agent console in headless Chromium (Debian's package, Playwright for
Python): customer on one router process, agent on another; injection attempts stay text."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from telecom import urgency
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
        chat = widget.frame_locator("[data-testid=chat-frame]")
        chat.locator("[data-testid=chat-panel][data-connected=true]").wait_for()
        chat.get_by_test_id("chat-input").fill("查一下话费余额")
        chat.get_by_test_id("chat-send").click()
        chat.get_by_text("您的话费余额为 58.20 元").wait_for()

        console_login(console, agent_side, "zhang.min", token)
        console.get_by_test_id("presence").select_option("available")

        chat.get_by_role("button", name="转人工").click()
        chat.locator("[data-testid=chat-panel][data-owner=queue]").wait_for()
        offer = console.get_by_test_id("offer")
        offer.wait_for()
        assert "剩余" in console.get_by_test_id("offer-countdown").inner_text()
        assert "138****8000" in offer.inner_text()
        # the label comes from the levels the console page carries (router/web)
        assert any(f"紧急程度 {label}" in offer.inner_text() for label in urgency.LABELS.values())
        console.get_by_test_id("accept").click()
        pane = console.get_by_test_id("conversation")
        pane.wait_for()
        chat.locator("[data-testid=chat-panel][data-owner=agent]").wait_for()
        assert "张敏" in chat.get_by_test_id("chat-status").inner_text()

        for text in INJECTIONS:
            chat.get_by_test_id("chat-input").fill(text)
            chat.get_by_test_id("chat-send").click()
        for text in INJECTIONS:
            pane.locator("[data-testid=msg-customer] .text", has_text=text).wait_for()
        assert pane.locator("img").count() == 0 and pane.locator(".log script").count() == 0

        pane.locator(".quick button").first.click()
        pane.locator(".compose button").click()
        chat.get_by_text("您好，我是人工客服，很高兴为您服务。").wait_for()
        pane.locator(".compose input").fill("<b>加粗?</b> 请稍等")
        pane.locator(".compose button").click()
        chat.locator("[data-testid=msg-agent]", has_text="<b>加粗?</b> 请稍等").wait_for()
        assert chat.locator("[data-testid=chat-log] b").count() == 0

        widget.screenshot(path=str(artifacts / "widget-with-agent.png"))
        console.screenshot(path=str(artifacts / "console-conversation.png"))

        pane.locator(".disposition").select_option("resolved")
        pane.locator(".complete").click()
        chat.get_by_role("button", name="5 分").click()
        chat.get_by_text("还有什么意见或建议").wait_for()
        chat.get_by_test_id("chat-input").fill("很满意")
        chat.get_by_test_id("chat-send").click()
        chat.get_by_text("感谢您的反馈").wait_for()
        widget.screenshot(path=str(artifacts / "widget-rated.png"))

        for frame in [*widget.frames, console.main_frame]:
            assert frame.evaluate("window.__pwned === undefined")
        assert customer_dialogs == [] and agent_dialogs == []

        # a reload resumes the same conversation with its history
        widget.reload()
        chat.get_by_text("感谢您的反馈").wait_for()
        chat.locator("[data-testid=msg-agent]", has_text="<b>加粗?</b> 请稍等").wait_for()
    except Exception:
        widget.screenshot(path=str(artifacts / "failed-widget.png"))
        console.screenshot(path=str(artifacts / "failed-console.png"))
        raise
    finally:
        customer_ctx.close()
        agent_ctx.close()


HOST_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"></head><body>
<script>
window.TelecomChatConfig = {getLogin: function (conversationId) {
  window.__askedFor = conversationId;
  return Promise.resolve({phone: "13800138000", ts: 1800000000, nonce: "nonce-0123456789abcdef",
                          sig: "ab".repeat(32)});
}};
</script>
<script src="ROUTER/widget.js" data-open="true"></script></body></html>"""


def test_the_host_page_never_holds_the_resume_token(
    browser: Any, start_routers: Callable[..., list[Router]]
) -> None:
    # the operator's site: another origin than the router's (a browser lets only a loopback
    # page load scripts from a loopback address), its page made up in the browser
    host = "http://127.0.0.2:9"
    (router,) = start_routers(1, gateway={"widget_embed_origins": host})
    # the site's visitor lets it reach the router (Chromium asks before a page reaches a local
    # address of another origin; a real router is on a public one)
    context = browser.new_context(permissions=["local-network-access"])
    try:
        page = context.new_page()
        page.route(f"{host}/shop", lambda route: route.fulfill(
            status=200, content_type="text/html",
            body=HOST_PAGE.replace("ROUTER", router.url)))  # fmt: skip
        page.goto(f"{host}/shop")
        chat = page.frame_locator("[data-testid=chat-frame]")
        panel = chat.locator("[data-testid=chat-panel][data-connected=true]")
        panel.wait_for()
        conversation_id = panel.get_attribute("data-conversation")
        # the host page learns the id (to have a login signed for it), never the token
        page.wait_for_function("window.__askedFor !== undefined")
        assert page.evaluate("window.__askedFor") == conversation_id
        # nothing of the session is in the host's storage, cookies or the frame's address, and
        # the frame's document (where the token is) is out of the host's reach
        seen_by_host = page.evaluate("""() => [localStorage.length, sessionStorage.length,
            document.cookie, document.querySelector('iframe').src,
            (() => { try { return document.querySelector('iframe').contentDocument === null; }
                     catch (e) { return true; } })()]""")  # fmt: skip
        assert seen_by_host[:3] == [0, 0, ""] and seen_by_host[4] is True
        assert "token" not in seen_by_host[3] and conversation_id not in seen_by_host[3]
        # the signed login the host app gave goes with the next turn, once
        for _ in range(2):
            chat.get_by_test_id("chat-input").fill("元数据")
            chat.get_by_test_id("chat-send").click()
        echoed = chat.locator("[data-testid=msg-bot]")
        echoed.nth(1).wait_for()
        first, second = (json.loads(echoed.nth(i).inner_text().split("\n")[-1]) for i in (0, 1))
        assert first["login"]["nonce"] == "nonce-0123456789abcdef" and first["channel"] == "web"
        assert "login" not in second
        # the frame refuses to be framed by a site that is not listed
        assert f"frame-ancestors 'self' {host}" in httpx.get(
            f"{router.url}/widget/frame").headers["Content-Security-Policy"]  # fmt: skip
    finally:
        context.close()

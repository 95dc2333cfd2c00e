"""What the service loop's browser tests do on the pages: sign in to the console and the
supervisor pages, pick a team's ticket queue, take a ticket step through its form, read a
conversation as the admin sees it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.stack import Stack


def console_login(page: Any, stack: Stack, agent_id: str, token: str) -> None:
    page.goto(f"{stack.router_url}/console")
    page.get_by_test_id("agent-id").fill(agent_id)
    page.get_by_test_id("agent-token").fill(token)
    page.get_by_test_id("login").click()
    page.wait_for_selector("body[data-stream='open']")


def open_queue(page: Any, team: str) -> None:
    page.get_by_test_id("ticket-team").select_option(team)
    page.get_by_test_id("ticket-refresh").click()
    page.wait_for_selector(f"body[data-ticket-queue='{team}']")


def take(page: Any, step: str, **fields: str) -> None:
    """Fill the step's form and submit it."""
    form = page.get_by_test_id(f"step-{step}")
    for name, value in fields.items():
        control = form.locator(f"[name={name}]")
        if name == "team":
            control.select_option(value)
        else:
            control.fill(value)
    form.locator("button").click()


def sign_in(page: Any, sid: str, token: str) -> None:
    page.get_by_test_id("supervisor-id").fill(sid)
    page.get_by_test_id("supervisor-token").fill(token)
    page.get_by_test_id("login").click()


def conversation_texts(admin: httpx.Client, conversation_id: str) -> list[str]:
    view = admin.get(f"/v1/conversations/{conversation_id}")
    assert view.status_code == 200, view.text
    return [str(m.get("text") or "") for m in view.json()["messages"]]

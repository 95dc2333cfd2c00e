"""The supervisor pages in headless Chromium (Debian's package, Playwright for Python): the
wallboard updated by push without a reload, and the reports page over a small archive (charts
drawn, a number opening its conversations, one of those its masked transcript). Screenshots go
to test-artifacts/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import ADMIN, SERVICE, Router, bearer
from tests.router import supervisor_data as data

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.slow
DESK = {"viewport": {"width": 1400, "height": 1000}}

# a canvas that has been drawn on has pixels that are not transparent
CANVAS_DRAWN = """(id) => {
  const c = document.getElementById(id);
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) n++;
  return n;
}"""


@pytest.fixture
def router_with_archive(
    start_routers: Callable[..., list[Router]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Router, str]:
    """A router process on a filled archive, and a supervisor's token."""
    url = data.archive_url(tmp_path)
    data.fill(url)
    # the router processes read these from their environment (ROUTER_*)
    monkeypatch.setenv("ROUTER_ARCHIVE_URL", url)
    monkeypatch.setenv("ROUTER_WALLBOARD_MIN_INTERVAL_S", "0.2")
    (router,) = start_routers(1)
    reply = httpx.put(f"{router.url}/v1/supervisors/sup-li", json={"display_name": "李主管"},
                      headers=bearer(ADMIN))  # fmt: skip
    assert reply.status_code == 201, reply.text
    return router, reply.json()["token"]


def sign_in(page: Any, token: str) -> None:
    page.get_by_test_id("supervisor-id").fill("sup-li")
    page.get_by_test_id("supervisor-token").fill(token)
    page.get_by_test_id("login").click()


def test_wallboard_is_updated_by_push(
    browser: Any,
    router_with_archive: tuple[Router, str],
    make_agent: Callable[..., str],
    artifacts: Path,
) -> None:
    router, token = router_with_archive
    make_agent(router, "agent-li", skills={"billing": 3}, name="李晓梅")
    make_agent(router, "agent-wang", skills={"billing": 3}, name="王建国", available=False)
    context = browser.new_context(**DESK)
    page = context.new_page()
    try:
        page.goto(f"{router.url}/wallboard")
        sign_in(page, token)
        page.wait_for_selector("body[data-stream='open'][data-snapshots]")
        assert page.get_by_test_id("supervisor-name").inner_text() == "李主管（sup-li）"
        page.evaluate("window.__sameDocument = true")  # gone if the page were reloaded
        row = page.locator("[data-testid=queue-row][data-queue=roaming]")
        assert row.count() == 0
        created = httpx.post(f"{router.url}/v1/handoffs",
                             json={"conversation_id": "conv-wall", "skills": ["roaming"],
                                   "urgency": "high"},
                             headers=bearer(SERVICE))  # fmt: skip
        assert created.status_code == 201, created.text
        row.locator(".depth", has_text="1").wait_for()
        assert page.evaluate("window.__sameDocument === true")
        # the longest wait counts up on the page between pushes
        expect(row.locator(".wait")).not_to_have_text("0 秒")
        expect(page.get_by_test_id("agents-available").locator(".value")).to_have_text("1")
        expect(page.get_by_test_id("agents-offline").locator(".value")).to_have_text("1")
        page.screenshot(path=str(artifacts / "supervisor-wallboard.png"), full_page=True)
    except Exception:
        page.screenshot(path=str(artifacts / "failed-wallboard.png"), full_page=True)
        raise
    finally:
        context.close()


def test_reports_charts_drilldown_and_masked_transcript(
    browser: Any, router_with_archive: tuple[Router, str], artifacts: Path
) -> None:
    router, token = router_with_archive
    context = browser.new_context(**DESK)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(f"{router.url}/reports")
        sign_in(page, token)
        page.wait_for_selector("body[data-loaded='yes']")
        day = data.DAY.isoformat()
        page.get_by_test_id("f-start").fill(day)
        page.get_by_test_id("f-end").fill(day)
        page.get_by_test_id("f-bucket").select_option("hour")
        page.get_by_test_id("apply").click()
        tile = page.get_by_test_id("metric-conversations")
        tile.locator(".value button", has_text=str(data.CONVERSATIONS)).wait_for()
        page.wait_for_selector("body[data-loaded='yes']")
        for chart in ("chart-volume", "chart-service", "chart-csat", "chart-intents"):
            assert page.evaluate(CANVAS_DRAWN, chart) > 0, chart
        # the agent's name holds a spreadsheet formula: shown as text
        scorecard = page.get_by_test_id("scorecard")
        assert data.EVIL_NAME in scorecard.inner_text()
        page.screenshot(path=str(artifacts / "supervisor-reports.png"), full_page=True)

        # service level's numerator: the handoff answered in time, then its transcript
        page.get_by_test_id("metric-service_level").locator(".value button").click()
        drill = page.get_by_test_id("drilldown")
        drill.locator("tr[data-conversation]").first.wait_for()
        listed = drill.locator("tr[data-conversation]")
        assert listed.count() == 1 and listed.get_attribute("data-conversation") == "c-agent-1"
        listed.locator("button").click()
        transcript = page.get_by_test_id("transcript")
        transcript.locator("[data-testid=t-message]").first.wait_for()
        text = transcript.inner_text()
        assert data.MASKED_PHONE in text and "13800138000" not in text
        assert transcript.locator("[data-testid=t-message]").count() == 3
        transcript.screenshot(path=str(artifacts / "supervisor-transcript.png"))

        # a point of the volume chart opens the conversations of its hour
        page.get_by_test_id("drilldown").locator("#drill-close").click()
        page.get_by_test_id("chart-volume").scroll_into_view_if_needed()
        box = page.get_by_test_id("chart-volume").bounding_box()
        point = page.evaluate("""() => {
          const chart = Chart.getChart('chart-volume');
          const bar = chart.getDatasetMeta(0).data[9];
          return [bar.x, bar.y];
        }""")  # fmt: skip
        page.mouse.click(box["x"] + point[0], box["y"] + point[1] + 2)
        drill.locator("tr[data-conversation='c-bot-2']").wait_for()
        assert drill.locator("tr[data-conversation]").count() == 2
        assert "09:00" in page.locator("#drill-title").inner_text()
        assert dialogs == []
    except Exception:
        page.screenshot(path=str(artifacts / "failed-reports.png"), full_page=True)
        raise
    finally:
        context.close()

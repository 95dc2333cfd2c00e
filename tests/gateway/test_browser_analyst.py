"""The analyst's page in headless Chromium (Debian's package, Playwright for Python), driven as
two analysts would: the inbox over a small archive (placeholders, reason filter and search),
one-click decisions, the double-annotation queue, the agreement and settling the disagreement,
the export of a training batch, and the models panel over a small registry (the comparison
report, a gate that refuses, promotion and rollback, whose loads fail here: no assistant runs).
Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import ADMIN, Router, bearer
from tests.router.analysis import seed

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.slow
DESK = {"viewport": {"width": 1400, "height": 1000}}
H = 3_600_000
SAMPLED = "帮我瞅瞅这个月花了多少钱啊"  # the seed's item in the double-annotation sample


def comparison(champion: float, challenger: float) -> dict[str, Any]:
    """One evaluation set's comparison as scripts/evaluate.py's compare() makes it."""

    def measures(f1: float) -> dict[str, Any]:
        per = {"query_balance": {"n": 10, "f1": f1}, "report_fault": {"n": 8, "f1": 0.9}}
        return {"n": 18, "accuracy": f1, "macro_f1": f1, "per_intent": per}

    fixed = {"id": "b-7", "text": "这个月扣了我多少钱", "intent": "query_balance",
             "champion": "nlu_fallback", "challenger": "query_balance"}  # fmt: skip
    return {
        "champion": measures(champion),
        "challenger": measures(challenger),
        "delta": {"accuracy": challenger - champion, "macro_f1": challenger - champion,
                  "per_intent": {"query_balance": challenger - champion, "report_fault": 0.0}},
        "mcnemar": {"method": "exact", "champion_only": 0, "challenger_only": 1, "p": 1.0},
        "fixed": [fixed],
        "broken": [],
    }  # fmt: skip


def registry(root: Path, tmp: Path) -> tuple[str, str, str]:
    """A registry with its champion, a challenger that passed the gate (with its report) and one
    that did not: their ids."""
    from telecom.registry import Registry

    reg = Registry(root)
    files = []
    for i in range(3):
        path = tmp / f"model-{i}.tar.gz"
        path.write_bytes(f"model {i}".encode())  # only ever copied and listed here
        files.append(path)
    champion = reg.ensure_champion(files[0])
    good = reg.add(files[1], {"trained_by": "ana-li"})
    bad = reg.add(files[2], {"trained_by": "ana-li"})
    blind = comparison(0.80, 0.86)
    metrics = {"blind": {"n": 18, "accuracy": 0.86, "macro_f1": 0.86, "per_intent": {}}}
    reg.record_metrics(good, metrics, {"passed": True, "reasons": ["macro-F1 +0.060"]})
    reg.record_metrics(bad, metrics, {"passed": False, "reasons": ["report_fault F1 −5.0"]})
    report = {"champion_id": champion, "challenger_id": good,
              "gate": {"passed": True, "reasons": ["macro-F1 +0.060"]},
              "conversation_tests": {"passed": True, "stories": 12, "failed": [], "returncode": 0},
              "sets": {"blind": blind}}  # fmt: skip
    (reg.folder(good) / "report.json").write_text(json.dumps(report, ensure_ascii=False))
    return champion, good, bad


@pytest.fixture
def analysts(
    start_routers: Callable[..., list[Router]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Router, dict[str, str], Path, tuple[str, str, str]]:
    """A router process on a small archive of the last hours and a small model registry, two
    analysts' tokens, the export folder and the registry's model ids."""
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    seed.fill(url, base=int(time.time() * 1000) - 12 * H)
    out = tmp_path / "annotated"
    models = registry(tmp_path / "registry", tmp_path)
    # the router processes read these from their environment (ROUTER_*)
    monkeypatch.setenv("ROUTER_ARCHIVE_URL", url)
    monkeypatch.setenv("ROUTER_ANNOTATIONS_DIR", str(out))
    monkeypatch.setenv("ROUTER_MODEL_REGISTRY", str(tmp_path / "registry"))
    monkeypatch.setenv("ROUTER_DATA_DIR", str(tmp_path / "router"))
    (router,) = start_routers(1)
    tokens = {}
    for aid, name in (("ana-li", "李分析"), ("ana-wang", "王分析")):
        reply = httpx.put(f"{router.url}/v1/analysts/{aid}", json={"display_name": name},
                          headers=bearer(ADMIN))  # fmt: skip
        assert reply.status_code == 201, reply.text
        tokens[aid] = reply.json()["token"]
    return router, tokens, out, models


def sign_in(page: Any, router: Router, analyst_id: str, token: str) -> None:
    page.goto(f"{router.url}/analyst")
    page.get_by_test_id("analyst-id").fill(analyst_id)
    page.get_by_test_id("analyst-token").fill(token)
    page.get_by_test_id("login").click()
    page.get_by_test_id("analyst-name").filter(has_text=analyst_id).wait_for()


def card(page: Any, text: str) -> Any:
    """The inbox's card whose message holds `text` (the intents' labels are in every card)."""
    items = page.get_by_test_id("inbox").locator("[data-testid=item]")
    return items.filter(has=page.locator(".text", has_text=text))


def test_two_analysts_annotate_agree_settle_and_export(
    browser: Any, analysts: tuple[Router, dict[str, str], Path, Any], artifacts: Path
) -> None:
    router, tokens, out, _ = analysts
    li = browser.new_context(**DESK)
    wang = browser.new_context(**DESK)
    page = li.new_page()
    try:
        sign_in(page, router, "ana-li", tokens["ana-li"])
        items = page.get_by_test_id("inbox").locator("[data-testid=item]")
        items.first.wait_for()
        assert items.count() == 3
        # most useful first: the two fallbacks as one group, the phone number a placeholder
        first = items.first
        expect(first.locator(".text")).to_contain_text("我的号码{phone_number}为什么欠费停机了")
        expect(first.locator(".ph")).to_have_text("{phone_number}")
        expect(first).to_contain_text("相似 2 条")
        assert "****" not in page.get_by_test_id("inbox").inner_text()
        page.screenshot(path=str(artifacts / "analyst-inbox.png"), full_page=True)

        # a reason filter, then a search
        page.get_by_test_id("reason-small_margin").check()
        page.get_by_test_id("apply-filters").click()
        expect(items).to_have_count(1)
        expect(items.first.locator(".text")).to_have_text(SAMPLED)
        page.get_by_test_id("reason-small_margin").uncheck()
        page.get_by_test_id("search").fill("流量包")
        page.get_by_test_id("apply-filters").click()
        expect(items).to_have_count(1)
        page.get_by_test_id("search").fill("")
        page.get_by_test_id("apply-filters").click()
        expect(items).to_have_count(3)

        # one click each: another intent, none of these, confirm (with an entity)
        stopped = card(page, "欠费停机")
        stopped.get_by_test_id("intent-select").select_option("query_balance")
        stopped.get_by_test_id("correct").click()
        expect(stopped.get_by_test_id("item-result")).to_have_text(
            "已记录：更正为 查询话费余额/账单（query_balance）"
        )
        card(page, "流量包").get_by_test_id("none").click()
        expect(card(page, "流量包").get_by_test_id("item-result")).to_have_text("已记录：都不是")
        sampled = card(page, SAMPLED)
        sampled.get_by_test_id("entity-text").fill("这个月")
        sampled.get_by_test_id("entity-name").fill("month")
        sampled.get_by_test_id("add-entity").click()
        expect(sampled.get_by_test_id("entity-chip")).to_have_text("这个月 → month")
        sampled.get_by_test_id("confirm").click()
        expect(sampled.get_by_test_id("item-result")).to_contain_text("已记录：确认")
        page.screenshot(path=str(artifacts / "analyst-annotated.png"), full_page=True)

        # the second analyst gets the sampled item, blind, and disagrees
        other = wang.new_page()
        sign_in(other, router, "ana-wang", tokens["ana-wang"])
        other.get_by_test_id("tab-review").click()
        queued = other.get_by_test_id("review").locator("[data-testid=item]")
        queued.first.wait_for()
        assert queued.count() == 1
        expect(queued.first.locator(".text")).to_have_text(SAMPLED)
        queued.first.get_by_test_id("intent-select").select_option("query_data_usage")
        queued.first.get_by_test_id("correct").click()
        expect(queued.first.get_by_test_id("item-result")).to_contain_text("已记录：更正为")

        # the agreement and the disagreement, settled by the first analyst
        page.get_by_test_id("tab-agreement").click()
        expect(page.get_by_test_id("double-items").locator(".value")).to_have_text("1")
        expect(page.get_by_test_id("agreed").locator(".value")).to_have_text("0")
        row = page.get_by_test_id("disagreements").locator("[data-testid=disagreement]")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("ana-li：确认 查询话费余额/账单（query_balance）")
        expect(row).to_contain_text("ana-wang：更正为 查询剩余流量（query_data_usage）")
        page.screenshot(path=str(artifacts / "analyst-agreement.png"), full_page=True)
        row.get_by_test_id("intent-select").select_option("query_balance")
        row.get_by_test_id("settle").click()
        expect(row).to_have_count(0)
        expect(page.get_by_test_id("agreement-panel").locator("#no-disagreements")).to_be_visible()

        # the accepted annotations become one batch file of training data
        page.get_by_test_id("export").click()
        expect(page.get_by_test_id("export-result")).to_contain_text("已导出 2 条训练样例")
        (batch,) = out.glob("batch-*.yml")
        text = batch.read_text(encoding="utf-8")
        assert "[13800000000](phone_number)" in text and "[这个月](month)" in text
        assert "ana-li" in text and "ana-wang" in text and "****" not in text
        page.get_by_test_id("tab-inbox").click()
        expect(card(page, SAMPLED).get_by_test_id("item-status")).to_have_text("已导出")
    except Exception:
        page.screenshot(path=str(artifacts / "failed-analyst.png"), full_page=True)
        raise
    finally:
        li.close()
        wang.close()


def test_the_models_panel_reports_promotes_and_rolls_back(
    browser: Any, analysts: tuple[Router, dict[str, str], Path, Any], artifacts: Path
) -> None:
    router, tokens, _, (champion, good, bad) = analysts
    context = browser.new_context(**DESK)
    page = context.new_page()
    try:
        sign_in(page, router, "ana-li", tokens["ana-li"])
        page.get_by_test_id("tab-models").click()
        rows = page.get_by_test_id("models").locator("[data-testid=model]")
        expect(rows).to_have_count(3)
        expect(page.locator(f"[data-model={champion}]")).to_have_attribute("data-service", "true")
        # a challenger that did not pass the gate cannot be promoted
        expect(page.locator(f"[data-model={bad}]").get_by_test_id("promote")).to_be_disabled()
        page.locator(f"[data-model={good}]").get_by_test_id("show-report").click()
        report = page.get_by_test_id("model-report")
        expect(report).to_contain_text("McNemar")
        expect(report).to_contain_text("上线门槛：通过")
        expect(report.get_by_test_id("fixed-blind")).to_contain_text("这个月扣了我多少钱")
        expect(report).to_contain_text("+0.060")
        page.screenshot(path=str(artifacts / "analyst-models.png"), full_page=True)

        # promotion moves the service alias; no assistant instance runs here to load it
        page.locator(f"[data-model={good}]").get_by_test_id("promote").click()
        expect(page.get_by_test_id("models-result")).to_contain_text("加载失败")
        expect(page.locator(f"[data-model={good}]")).to_have_attribute("data-service", "true")
        listed = httpx.get(f"{router.url}/v1/models", headers=bearer(tokens["ana-li"])).json()
        assert listed["service"] == good
        assert listed["history"][-1]["by"] == "ana-li"
        page.get_by_test_id("rollback").click()
        expect(page.locator(f"[data-model={champion}]")).to_have_attribute("data-service", "true")
        assert httpx.get(f"{router.url}/v1/models",
                         headers=bearer(ADMIN)).json()["service"] == champion  # fmt: skip
    except Exception:
        page.screenshot(path=str(artifacts / "failed-analyst-models.png"), full_page=True)
        raise
    finally:
        context.close()

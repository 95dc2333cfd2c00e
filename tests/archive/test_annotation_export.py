"""archive/annotation_export.py: accepted annotations become a batch of Rasa NLU data with its
provenance, each item once; none/new_intent are listed only, evaluation texts are withheld,
eval/ is never written; `python -m archive annotations export` does the same."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from archive import annotations as an
from archive.annotation_export import ROOT, held_out_texts
from archive.annotations import sampled
from archive.inbox import group_key, normalise
from telecom import mask
from tests.archive.conftest import rows
from tests.archive.seed_inbox import T0
from tests.archive.test_annotations import seed, texts

NOW = datetime.fromtimestamp(T0 / 1000 + 60, UTC)


def test_export_writes_accepted_annotations_once(archive_engine: sa.Engine, tmp_path: Path) -> None:
    single = texts(False, 5)
    # a masked number: a synthetic one in the file (a phrasing outside the double sample)
    single[0] = next(
        p
        for i in range(50)
        if not sampled(group_key(normalise(mask.text(p := f"帮我看看13912345678的套餐{'吧' * i}"))))
    )
    keys = seed(archive_engine, single + texts(True, 2))
    confirm, correct, none, new, blind, agreed, disputed = keys
    with archive_engine.begin() as conn:
        an.record(conn, confirm, "an1", "confirm", now_ms=T0)
        start = single[1].index("办")
        an.record(
            conn,
            correct,
            "an1",
            "correct",
            intent="change_plan",
            entities=[{"start": start, "end": start + 2, "entity": "service"}],
            now_ms=T0,
        )
        an.record(conn, none, "an2", "none", now_ms=T0)
        an.record(conn, new, "an2", "new_intent", new_intent="plan_refund", now_ms=T0)
        an.record(conn, blind, "an2", "correct", intent="query_balance", now_ms=T0)
        for analyst in ("an1", "an2"):
            an.record(conn, agreed, analyst, "correct", intent="query_balance", now_ms=T0 + 1)
        an.record(conn, disputed, "an1", "correct", intent="roaming", now_ms=T0 + 2)
        an.record(conn, disputed, "an2", "none", now_ms=T0 + 3)
        path = an.export_batch(conn, tmp_path / "annotated", NOW, by="lead", held_out=[single[4]])
    assert path is not None and path.name == "batch-20270115-160100.yml"
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert data["version"] == "3.1"
    examples = {block["intent"]: block["examples"].splitlines() for block in data["nlu"]}
    assert examples == {
        "query_plan": [f"- 帮我看看[13800000000](phone_number){single[0][15:]}"],
        "change_plan": [f"- {single[1][:start]}[办不](service){single[1][start + 2 :]}"],
        "query_balance": [f"- {texts(True, 2)[0]}"],
    }
    assert "13912345678" not in text and "5678" not in text
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert "# analysts: an1, an2" in header
    assert "# none of these (not exported): 1" in header
    assert "# new intents proposed (not exported): plan_refund x1" in header
    assert any(line.startswith("# withheld") and line.endswith(": 1") for line in header)
    assert any(
        line.startswith("# Exported 2027-01-15 16:01:00 China time by lead") for line in header
    )
    marks = rows(
        archive_engine,
        "SELECT key, decision, batch, analyst_id FROM annotations"
        " WHERE decision IN ('export', 'listed', 'withheld')",
    )
    assert sorted((k, d) for k, d, _, _ in marks) == sorted(
        [
            (confirm, "export"),
            (correct, "export"),
            (agreed, "export"),
            (none, "listed"),
            (new, "listed"),
            (blind, "withheld"),
        ]
    )
    assert {(b, who) for _, _, b, who in marks} == {(path.name, "lead")}
    with archive_engine.begin() as conn:
        assert an.export_batch(conn, tmp_path / "annotated", NOW, held_out=[]) is None
        an.settle(conn, disputed, "lead", "roaming", now_ms=T0 + 9)
        with pytest.raises(an.AnnotationConflict):
            an.record(conn, confirm, "an3", "none", now_ms=T0 + 9)  # exported: closed
        second = an.export_batch(conn, tmp_path / "annotated", NOW, held_out=[])
    assert second is not None and second.name == "batch-20270115-160100-2.yml"
    assert yaml.safe_load(second.read_text(encoding="utf-8"))["nlu"] == [
        {"intent": "roaming", "examples": f"- {texts(True, 2)[1]}\n"}
    ]


def test_export_never_writes_into_eval(archive_engine: sa.Engine) -> None:
    with archive_engine.begin() as conn, pytest.raises(an.AnnotationError) as error:
        an.export_batch(conn, ROOT / "eval" / "blind", NOW, held_out=[])
    assert error.value.field == "out"


def test_the_evaluation_sets_are_held_out() -> None:
    held = held_out_texts()
    assert len(held) > 800  # the blind set's 859 messages, and the held-out split's examples


def test_the_cli_exports(archive_url: str, archive_engine: sa.Engine, tmp_path: Path) -> None:
    (key,) = seed(archive_engine, texts(False, 1))
    with archive_engine.begin() as conn:
        an.record(conn, key, "an1", "confirm", now_ms=T0)
    env = {**os.environ, "ARCHIVE_DATABASE_URL": archive_url, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "archive", "annotations", "export", "--out", str(tmp_path)]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (path,) = tmp_path.glob("batch-*.yml")
    assert str(path) in done.stdout
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"][0]["intent"] == "query_plan"
    again = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "nothing to export" in again.stdout

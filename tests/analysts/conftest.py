"""The analysts' end to end test's fixtures (issue 16): a temporary copy of the project's training
inputs (tests/analysts/project.py) — the batch the analysts export goes into the copy's
nlu_data/annotated, and the retraining reads the copy, never the real nlu_data/; a model registry
of the test's own whose champion is a model trained with the small, fast configuration on the
data before the batch (so that the challenger, trained the same way with the batch, is judged
fairly); the whole product started as `make run` starts it (tests/stack.py) with two assistant
instances serving that champion; two analysts issued by the admin; headless Chromium.

One stack and one copy for the directory: they take minutes. Everything of the test's own is
removed afterwards (the copy, the registry and its models); the stack's logs stay in pytest's
temporary folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from telecom.registry import Registry
from tests.analysts.project import FAST_CONFIG, copy_project, run_in_copy
from tests.gateway.conftest import ARTIFACTS, launch_chromium
from tests.stack import ROOT, START_TIMEOUT_S, Stack, running_stack

ANALYSTS = (("ana-zhao", "赵分析"), ("ana-qian", "钱分析"))
TRAIN_TIMEOUT_S = 1800  # one fast training on a busy 2-core machine, generous


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.slow)
            if item.get_closest_marker("timeout") is None:
                # the champion's training, the stack, the challenger's training and evaluation
                item.add_marker(pytest.mark.timeout(START_TIMEOUT_S + 3 * TRAIN_TIMEOUT_S))


@dataclass(frozen=True)
class Workspace:
    """The copy of the training inputs, the test's registry and its champion."""

    project: Path
    registry: Registry
    champion: str
    base: Path

    @property
    def annotated(self) -> Path:
        """Where the router exports the analysts' batches (ROUTER_ANNOTATIONS_DIR)."""
        return self.project / "nlu_data" / "annotated"


def real_batches() -> set[str]:
    """The batch files of the real project (the test must add none)."""
    return {p.name for p in (ROOT / "nlu_data" / "annotated").glob("*")}


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    base = tmp_path_factory.mktemp("analysts")
    before = real_batches()
    try:
        project = copy_project(base / "project")
        registry = Registry(base / "registry")
        log = base / "champion.log"
        done = run_in_copy(
            project,
            [str(Path(__file__).with_name("champion.py")), str(registry.root), str(FAST_CONFIG)],
            log,
            timeout=TRAIN_TIMEOUT_S,
        )
        assert done.returncode == 0, log.read_text(errors="replace")[-4000:]
        champion = registry.service()
        assert champion is not None, "the champion was not registered"
        yield Workspace(project, registry, champion, base)
    finally:
        shutil.rmtree(base / "project", ignore_errors=True)
        shutil.rmtree(base / "registry", ignore_errors=True)
        assert real_batches() == before, "the test wrote into the real nlu_data/annotated"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, workspace: Workspace) -> Iterator[Stack]:
    env = {
        "ASSISTANT_INSTANCES": "2",
        "ASSISTANT_MODEL_REGISTRY": str(workspace.registry.root),
        "ROUTER_ANNOTATIONS_DIR": str(workspace.annotated),
        # the page's retraining reads the copy, with the fast configuration
        "ROUTER_RETRAIN_PROJECT": str(workspace.project),
        "ROUTER_RETRAIN_CONFIG": str(workspace.project / FAST_CONFIG),
    }
    with running_stack(tmp_path_factory.mktemp("analysts-stack"), env=env) as running:
        yield running


@pytest.fixture(scope="session")
def analysts(stack: Stack) -> dict[str, str]:
    """Analyst id → token, issued by the admin (PUT /v1/analysts/{id})."""
    tokens = {}
    for analyst_id, name in ANALYSTS:
        reply = httpx.put(
            f"{stack.router_url}/v1/analysts/{analyst_id}",
            json={"display_name": name},
            headers=stack.bearer("ROUTER_ADMIN_TOKEN"),
            timeout=30,
        )
        assert reply.status_code == 201, reply.text
        tokens[analyst_id] = reply.json()["token"]
    return tokens


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS

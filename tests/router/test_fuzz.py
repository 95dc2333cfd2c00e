"""Schemathesis fuzzing of the OpenAPI against a real uvicorn server: no input yields a 500."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from archive import migrate
from router.app import create_app
from router.embedded_redis import RedisServer, free_port
from router.settings import Settings
from tests.router.conftest import ADMIN, SERVICE, bearer

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]


@pytest.fixture(scope="session")
def fuzz_server(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    archive = f"sqlite:///{tmp_path_factory.mktemp('archive') / 'archive.sqlite3'}"
    migrate.upgrade(archive)  # an empty archive: the supervisor's reports read it
    conf = Settings(
        archive_url=SecretStr(archive),
        redis_url=SecretStr(redis_server.url),
        key_prefix=f"fuzz{uuid.uuid4().hex}:",
        admin_token=SecretStr(ADMIN),
        service_token=SecretStr(SERVICE),
        public_docs=True,  # schemathesis reads /openapi.json
        # the analysts' routes write only into throwaway folders (never models/ or nlu_data/)
        model_registry=tmp_path_factory.mktemp("registry"),
        annotations_dir=tmp_path_factory.mktemp("annotated"),
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(conf, gateway=False), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "router did not start"
        time.sleep(0.05)
    body = {"display_name": "F", "skills": {"billing": 3}, "languages": ["zh"]}
    token = httpx.put(f"{base}/v1/agents/fz", json=body, headers=bearer(ADMIN)).json()["token"]
    yield {"base": base, "agent": token}
    server.should_exit = True
    thread.join(30)


def _token(path: str, tokens: dict[str, Any]) -> str:
    if path.startswith("/v1/offers") or path.endswith(("/complete", "/transfer", "/presence")):
        return str(tokens["agent"])
    if path.startswith("/v1/handoffs"):
        return SERVICE
    if path.endswith("/offers"):
        return str(tokens["agent"])
    return ADMIN


@pytest.mark.timeout(300)
# schemathesis 4.32 draws from `random` inside its strategies, which this hypothesis deprecates
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_no_server_errors(fuzz_server: dict[str, Any]) -> None:
    base = fuzz_server["base"]
    api = schemathesis.openapi.from_url(f"{base}/openapi.json")
    api = api.exclude(path="/v1/agents/{agent_id}/events")  # an endless stream
    api = api.exclude(path="/v1/supervisor/wallboard/events")  # another
    api = api.exclude(path="/v1/models/retrain", method="POST")  # trains a model for minutes
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 16  # with DELETE /v1/agents/{id} and POST /v1/agents/{id}/token
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def call(case: Any) -> None:
            case.call_and_validate(
                base_url=base,
                headers=bearer(_token(case.path, fuzz_server)),
                checks=[not_a_server_error, response_schema_conformance],
            )

        call()

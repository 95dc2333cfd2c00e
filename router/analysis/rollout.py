"""Every assistant instance loads a model, one instance at a time, with Rasa's own HTTP API.

Rasa 3.6's `PUT /model?token=<--auth-token>` with {"model_file": "<path on the instance's
disk>"} loads the model and answers 204 once it serves it (a model that cannot be loaded: an
error status, and the instance keeps its old model). The load runs inside the instance's event
loop, so the instance answers nothing else until it is done: a turn sent to it meanwhile waits.

So the instances are taken one after the other, and while one loads, this router process's
gateway sends its conversations to the others (`Health.hold`; each conversation's next instance
in its own ranking, router/gateway/instances.py) — unless it is the only instance up, whose
turns then wait for the load. The conversations' trackers and locks are shared by the instances
(the durable tracker store, Redis locks), so a conversation goes on on any of them. Another
router process does not know of the hold: its turns to the loading instance wait, or fail over
after its bot timeout with the same message id (never run twice).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from router.gateway.instances import Health

log = logging.getLogger(__name__)

LOADED = 204  # Rasa's answer to a model it now serves


@dataclass(frozen=True)
class Loaded:
    """How one instance took the model: `ok` once it serves it; `status` is Rasa's answer (None:
    no answer); `model_id` Rasa's id of the model it serves now (GET /status); `error` a short
    reason (Rasa's error name, or the kind of connection failure), never a message text."""

    instance: str
    ok: bool
    status: int | None = None
    model_id: str | None = None
    error: str | None = None

    def public(self) -> dict[str, Any]:
        return asdict(self)


def may_hold(instance: str, instances: Sequence[str], health: Health) -> bool:
    """Hold `instance` out of service during its load only while another instance is up: with
    none, holding it would fail every turn, waiting only delays them."""
    return any(other != instance and health.up(other) for other in instances)


def rasa_error(response: httpx.Response) -> str:
    """A short name for an error answer of Rasa ({"reason": "LoadingError", …}), else its
    status."""
    try:
        body = response.json()
    except ValueError:
        body = None
    reason = body.get("reason") if isinstance(body, dict) else None
    if isinstance(reason, str) and reason.isidentifier() and len(reason) <= 64:
        return reason
    return f"status_{response.status_code}"


async def load_one(
    client: httpx.AsyncClient,
    instance: str,
    model_file: Path,
    token: str,
    health: Health | None,
    instances: Sequence[str],
) -> Loaded:
    """`instance` loads `model_file` (PUT /model), held out of service meanwhile when others
    can serve; after, up if it answered (whatever it said), down if it did not."""
    held = health is not None and may_hold(instance, instances, health)
    if held and health is not None:
        health.hold(instance)
    answered = False
    try:
        response = await client.put(
            f"{instance}/model", params={"token": token}, json={"model_file": str(model_file)}
        )
        answered = True
        if response.status_code != LOADED:
            return Loaded(instance, False, response.status_code, error=rasa_error(response))
        status = await client.get(f"{instance}/status", params={"token": token})
        body = status.json() if status.status_code == 200 else {}
        model_id = body.get("model_id") if isinstance(body, dict) else None
        return Loaded(instance, True, LOADED, model_id if isinstance(model_id, str) else None)
    except httpx.HTTPError as error:
        return Loaded(instance, False, error=type(error).__name__)
    except ValueError:  # a /status that is not JSON: loaded all the same
        return Loaded(instance, True, LOADED)
    finally:
        if health is not None and held:
            health.end_hold(instance, answered)
        elif health is not None and not answered:
            health.failed(instance)


async def load_everywhere(
    instances: Sequence[str],
    model_file: Path,
    token: str,
    *,
    health: Health | None = None,
    timeout_s: float = 600.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Loaded]:
    """Every instance loads `model_file`, one at a time (each until Rasa answers or
    `timeout_s`); an instance that fails does not stop the others. `health`: this process's
    gateway's view of the instances, held and released around each load."""
    results = []
    timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))
    async with httpx.AsyncClient(timeout=timeout, transport=transport) as client:
        for instance in instances:
            log.info("router.models.loading instance=%s", instance)
            result = await load_one(client, instance, model_file, token, health, instances)
            log.info(
                "router.models.loaded instance=%s ok=%s status=%s error=%s",
                instance,
                result.ok,
                result.status,
                result.error,
            )
            results.append(result)
    return results

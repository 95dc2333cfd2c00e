"""The model registry's routes (analyst; the admin too): the models, a retraining, promotion and
rollback — the one way models reach the assistant (`python -m scripts.models` calls these).

- GET /v1/models: every model with its metrics and gate, the service alias and its history;
- GET /v1/models/{model_id}: one model, with its comparison report when the retraining wrote one;
- POST /v1/models/retrain: 202, `python -m scripts.retrain` starts (409 retrain_running);
- GET /v1/models/retrain: its progress, whether it runs, the last lines of its output;
- POST /v1/models/{model_id}/promote: the alias moves (409 gate_failed unless its gate passed),
  then every assistant instance loads the model;
- POST /v1/models/rollback: the alias goes back to the model before (409 nothing_to_roll_back),
  then every assistant instance loads that one.

Promotion and rollback answer {service, loaded: [one outcome per instance]} once every instance
has answered (router/analysis/rollout.py: one at a time, the gateway sending conversations to
the others meanwhile); 502 model_load_failed with the same body when an instance did not load it
(the alias has moved: the instance loads the service model when it starts again, or at the next
promotion). One promotion or rollback at a time in a router process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from router import errors
from router.analysis.retraining import PROJECT, Retraining
from router.analysis.rollout import Loaded, load_everywhere
from router.api.deps import Caller
from router.auth import Principal, Role
from router.gateway.bot import RasaRestBot
from router.gateway.instances import Health, parse_urls
from router.settings import Settings
from telecom import registry as kernel

log = logging.getLogger(__name__)

MODEL_ID = r"^m[0-9]{8}-[0-9]{6}-[0-9a-f]{8}$"
REPORTS = ("report.json", "report.md")  # beside meta.json, written by scripts/retrain.py


class ModelList(BaseModel):
    service: str | None
    models: list[dict[str, Any]]
    history: list[dict[str, Any]]


class ModelDetail(BaseModel):
    model: dict[str, Any]
    service: bool
    report: dict[str, Any] | None = None
    report_markdown: str | None = None


class InstanceLoad(BaseModel):
    instance: str
    ok: bool
    status: int | None = None
    model_id: str | None = None
    error: str | None = None


class ServiceChange(BaseModel):
    service: str
    loaded: list[InstanceLoad]


class RetrainStatus(BaseModel):
    progress: dict[str, Any]
    running: bool
    log: list[str]


@dataclass
class ModelOps:
    """The registry and the retraining of this router process (app.state.models)."""

    registry: kernel.Registry
    retraining: Retraining
    changing: asyncio.Lock


def in_project(path: Path) -> Path:
    return path if path.is_absolute() else PROJECT / path


def ops_for(settings: Settings) -> ModelOps:
    registry = kernel.Registry(in_project(settings.model_registry))
    config = settings.retrain_config
    retraining = Retraining(
        folder=(settings.data_dir / "retrain").resolve(),
        python=in_project(settings.retrain_python),
        registry=registry.root,
        config=in_project(config) if config is not None else None,
        project=settings.retrain_project or PROJECT,
    )
    return ModelOps(registry, retraining, asyncio.Lock())


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """app.state.models, built from the settings when the app starts; a retraining this process
    started is stopped with it."""
    ops = ops_for(app.state.runtime.settings)
    app.state.models = ops
    try:
        yield
    finally:
        await asyncio.to_thread(ops.retraining.stop)


router = APIRouter(prefix="/v1/models", tags=["models"], lifespan=lifespan)


def _ops(request: Request) -> ModelOps:
    found: ModelOps = request.app.state.models
    return found


OpsDep = Annotated[ModelOps, Depends(_ops)]
ModelIdPath = Annotated[str, PathParam(pattern=MODEL_ID)]


def who(caller: Principal) -> str:
    """An analyst or the admin (403 otherwise); the name the registry records."""
    caller.require(Role.analyst, Role.admin)
    if caller.role is Role.analyst and caller.analyst_id:
        return caller.analyst_id
    return "admin"


@router.get("", response_model=ModelList)
async def list_models(caller: Caller, ops: OpsDep) -> ModelList:
    who(caller)
    models, aliases = await asyncio.to_thread(
        lambda: (ops.registry.models(), ops.registry.aliases())
    )
    return ModelList(
        service=aliases.get("service"), models=models, history=aliases.get("history", [])
    )


@router.post("/retrain", status_code=202, response_model=RetrainStatus)
async def start_retraining(caller: Caller, ops: OpsDep) -> RetrainStatus:
    """Starts `python -m scripts.retrain` (409 retrain_running while one runs)."""
    by = who(caller)
    await asyncio.to_thread(ops.retraining.start, by, dict(os.environ))
    log.info("router.models.retrain_started by=%s", by)
    return RetrainStatus(**await asyncio.to_thread(ops.retraining.status))


@router.get("/retrain", response_model=RetrainStatus)
async def retraining_status(caller: Caller, ops: OpsDep) -> RetrainStatus:
    who(caller)
    return RetrainStatus(**await asyncio.to_thread(ops.retraining.status))


@router.post("/rollback", response_model=ServiceChange)
async def rollback(caller: Caller, ops: OpsDep, request: Request) -> Any:
    by = who(caller)
    async with ops.changing:
        try:
            model_id = await asyncio.to_thread(ops.registry.rollback, by)
        except kernel.NothingToRollBack:
            raise errors.NothingToRollBack() from None
        except kernel.NoSuchModel:
            raise errors.NoSuchModel() from None
        log.info("router.models.rolled_back model=%s by=%s", model_id, by)
        return await _serve(request, ops, model_id)


@router.get("/{model_id}", response_model=ModelDetail)
async def get_model(model_id: ModelIdPath, caller: Caller, ops: OpsDep) -> ModelDetail:
    who(caller)
    return await asyncio.to_thread(_detail, ops.registry, model_id)


@router.post("/{model_id}/promote", response_model=ServiceChange)
async def promote(model_id: ModelIdPath, caller: Caller, ops: OpsDep, request: Request) -> Any:
    """The alias moves to `model_id` (409 gate_failed unless its gate passed), then every
    assistant instance loads it."""
    by = who(caller)
    async with ops.changing:
        try:
            await asyncio.to_thread(ops.registry.promote, model_id, by)
        except kernel.NoSuchModel:
            raise errors.NoSuchModel() from None
        except kernel.GateFailed:
            raise errors.GateFailed() from None
        log.info("router.models.promoted model=%s by=%s", model_id, by)
        return await _serve(request, ops, model_id)


def _detail(registry: kernel.Registry, model_id: str) -> ModelDetail:
    try:
        meta = registry.get(model_id)
        folder = registry.folder(model_id)
    except kernel.NoSuchModel:
        raise errors.NoSuchModel() from None
    report: dict[str, Any] | None = None
    markdown: str | None = None
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads((folder / REPORTS[0]).read_text(encoding="utf-8"))
        report = loaded if isinstance(loaded, dict) else None
    with contextlib.suppress(OSError):
        markdown = (folder / REPORTS[1]).read_text(encoding="utf-8")
    service = registry.service() == model_id
    return ModelDetail(model=meta, service=service, report=report, report_markdown=markdown)


def instances_of(request: Request) -> tuple[tuple[str, ...], Health | None]:
    """The assistant instances (the gateway's Rasa URLs) and this process's gateway's view of
    their health (None without a gateway)."""
    gateway = getattr(request.app.state, "gateway", None)
    bot = getattr(gateway, "bot", None)
    if isinstance(bot, RasaRestBot):
        return bot.instances, bot.health
    settings: Settings = request.app.state.runtime.settings
    return parse_urls(settings.gateway.rasa_url), None


async def _serve(request: Request, ops: ModelOps, model_id: str) -> Any:
    """Every instance loads the service model `model_id`: 200, or 502 when one did not."""
    settings: Settings = request.app.state.runtime.settings
    instances, health = instances_of(request)
    token = settings.rasa_token.get_secret_value() if settings.rasa_token is not None else ""
    model_file = (await asyncio.to_thread(ops.registry.path, model_id)).resolve()
    loaded = await load_everywhere(
        instances, model_file, token, health=health, timeout_s=settings.model_load_timeout_s
    )
    return answer(model_id, loaded)


def answer(model_id: str, loaded: list[Loaded]) -> Any:
    body = ServiceChange(
        service=model_id, loaded=[InstanceLoad(**result.public()) for result in loaded]
    )
    if all(result.ok for result in loaded):
        return body
    failed = errors.ModelLoadFailed()
    log.error(
        "router.models.load_failed model=%s instances=%s",
        model_id,
        ",".join(r.instance for r in loaded if not r.ok),
    )
    content = {"error": failed.code, **body.model_dump()}
    return JSONResponse(content, status_code=failed.status_code)

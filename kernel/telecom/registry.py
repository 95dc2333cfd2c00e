"""The model registry: every trained assistant model kept with its provenance, and which one is in
service (issue 16). Files only, under one folder (models/registry/ by default):

    <root>/<model_id>/model.tar.gz   the trained Rasa model, never changed once added
    <root>/<model_id>/meta.json      {model_id, created_at, data_hash, config_hash, trained_by,
                                      metrics, gate: {passed, reasons}, promoted_at, promoted_by}
    <root>/aliases.json              {"service": model_id or null,
                                      "history": [{action: promote|rollback, model_id, by, at}]}

A model id is "m<YYYYMMDD-HHMMSS>-<hash8>": when it was created (UTC) and the first 8 hex digits
of the model file's SHA-256. Times are ISO 8601 in UTC ("2026-12-05T10:20:00Z").

Every file is written whole (a temporary file, then os.replace), and a model folder appears in
one rename, so a reader never sees half of anything. Changes that read then write (promote,
rollback, record_metrics) hold an exclusive lock on <root>/.lock, so the router and a retraining
process can use the same registry at once.

Promotion is refused unless the model passed the promotion gate (scripts/evaluate.py). Rollback
undoes the last promotion: the service alias goes back to the model that served before it, and
a second rollback goes one further back (`service_stack`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pathlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "GateFailed",
    "NoSuchModel",
    "NothingToRollBack",
    "Registry",
    "RegistryError",
    "model_id_for",
    "service_stack",
    "write_json",
]

MODEL_FILE = "model.tar.gz"
META_FILE = "meta.json"
ALIASES_FILE = "aliases.json"
LOCK_FILE = ".lock"
META_KEYS = (
    "model_id",
    "created_at",
    "data_hash",
    "config_hash",
    "trained_by",
    "metrics",
    "gate",
    "promoted_at",
    "promoted_by",
)


class RegistryError(Exception):
    """A registry operation that cannot be done."""


class NoSuchModel(RegistryError):
    """No model with that id in the registry."""


class GateFailed(RegistryError):
    """The model did not pass the promotion gate (or was never evaluated)."""


class NothingToRollBack(RegistryError):
    """No model served before the one in service."""


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second."""
    if moment.tzinfo is None:
        raise ValueError("a registry time must be timezone-aware")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def model_id_for(created: datetime, file_sha256: str) -> str:
    """'m<YYYYMMDD-HHMMSS>-<hash8>' for a model created at `created` with that file hash."""
    if created.tzinfo is None:
        raise ValueError("a registry time must be timezone-aware")
    stamp = created.astimezone(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"m{stamp}-{file_sha256[:8]}"


def service_stack(history: Sequence[dict[str, Any]]) -> list[str]:
    """The models that served, oldest first, as the history leaves them: a promotion puts its
    model on top (unless it is already there), a rollback takes the top one off. The last item
    is the service model; the one before it is where a rollback goes."""
    stack: list[str] = []
    for entry in history:
        if entry.get("action") == "promote":
            if not stack or stack[-1] != entry["model_id"]:
                stack.append(str(entry["model_id"]))
        elif entry.get("action") == "rollback" and stack:
            stack.pop()
    return stack


def file_sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: pathlib.Path, value: Any) -> None:
    """Writes `value` as JSON to `path` whole: a temporary file beside it, then os.replace."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # as any file written in place would be (mkstemp makes it private)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(value, handle, ensure_ascii=False, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(timezone.utc)


class Registry:
    """The registry under `root` (created on first write)."""

    def __init__(self, root: pathlib.Path | str) -> None:
        self.root = pathlib.Path(root)

    # --- reading --------------------------------------------------------------------------

    def folder(self, model_id: str) -> pathlib.Path:
        """The model's folder (where its meta and reports live); NoSuchModel when absent."""
        if not model_id or "/" in model_id or model_id.startswith("."):
            raise NoSuchModel(model_id)
        folder = self.root / model_id
        if not (folder / META_FILE).is_file():
            raise NoSuchModel(model_id)
        return folder

    def get(self, model_id: str) -> dict[str, Any]:
        """The model's meta; NoSuchModel when absent."""
        meta: dict[str, Any] = json.loads(
            (self.folder(model_id) / META_FILE).read_text(encoding="utf-8")
        )
        return meta

    def path(self, model_id: str) -> pathlib.Path:
        """The model file of `model_id`."""
        return self.folder(model_id) / MODEL_FILE

    def models(self) -> list[dict[str, Any]]:
        """Every model's meta, newest first."""
        if not self.root.is_dir():
            return []
        found = [
            self.get(folder.name)
            for folder in self.root.iterdir()
            if not folder.name.startswith(".") and (folder / META_FILE).is_file()
        ]
        return sorted(found, key=lambda meta: (meta["created_at"], meta["model_id"]), reverse=True)

    def aliases(self) -> dict[str, Any]:
        """{"service": model_id or None, "history": [...]}."""
        path = self.root / ALIASES_FILE
        if not path.is_file():
            return {"service": None, "history": []}
        aliases: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return aliases

    def service(self) -> str | None:
        """The id of the model in service, or None when nothing was promoted yet."""
        service = self.aliases().get("service")
        return str(service) if service else None

    def service_path(self) -> pathlib.Path | None:
        """The model file in service, or None."""
        service = self.service()
        return self.path(service) if service else None

    # --- changing -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / LOCK_FILE).open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def add(
        self, src_path: pathlib.Path | str, meta: dict[str, Any], now: datetime | None = None
    ) -> str:
        """Copies the model file at `src_path` into the registry with `meta` (data_hash,
        config_hash, trained_by, and anything else worth keeping) and returns its id. The gate
        starts as not passed ("not evaluated") unless `meta` says otherwise. Adding the same file
        twice in the same second returns the first id."""
        src = pathlib.Path(src_path)
        if not src.is_file():
            raise FileNotFoundError(src)
        created = _now(now)
        model_id = model_id_for(created, file_sha256(src))
        if (self.root / model_id / META_FILE).is_file():
            return model_id
        record: dict[str, Any] = {
            "metrics": {},
            "gate": {"passed": False, "reasons": ["not evaluated"]},
            "promoted_at": None,
            "promoted_by": None,
            "data_hash": None,
            "config_hash": None,
            "trained_by": None,
            **meta,
            "model_id": model_id,
            "created_at": iso(created),
        }
        self.root.mkdir(parents=True, exist_ok=True)
        staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{model_id}.", dir=self.root))
        try:
            staging.chmod(0o755)
            shutil.copyfile(src, staging / MODEL_FILE)
            write_json(staging / META_FILE, record)
            os.replace(staging, self.root / model_id)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return model_id

    def record_metrics(self, model_id: str, metrics: dict[str, Any], gate: dict[str, Any]) -> None:
        """Stores the evaluation's metrics and the gate's verdict {passed, reasons}."""
        if not isinstance(gate.get("passed"), bool) or not isinstance(gate.get("reasons"), list):
            raise ValueError("gate must be {passed: bool, reasons: [..]}")
        with self._locked():
            meta = self.get(model_id)
            meta["metrics"] = metrics
            meta["gate"] = {"passed": gate["passed"], "reasons": list(gate["reasons"])}
            write_json(self.folder(model_id) / META_FILE, meta)

    def promote(self, model_id: str, by: str, now: datetime | None = None) -> dict[str, Any]:
        """Puts `model_id` into service; GateFailed unless its gate passed. Returns the aliases."""
        at = iso(_now(now))
        with self._locked():
            meta = self.get(model_id)
            if not meta.get("gate", {}).get("passed"):
                raise GateFailed(model_id)
            meta["promoted_at"], meta["promoted_by"] = at, by
            write_json(self.folder(model_id) / META_FILE, meta)
            return self._move_alias("promote", model_id, by, at)

    def rollback(self, by: str, now: datetime | None = None) -> str:
        """Puts the model that served before the current one back into service and returns its
        id; NothingToRollBack when there is none."""
        at = iso(_now(now))
        with self._locked():
            stack = service_stack(self.aliases()["history"])
            if len(stack) < 2:
                raise NothingToRollBack(self.service() or "")
            previous = stack[-2]
            self.folder(previous)  # NoSuchModel if its folder was removed by hand
            self._move_alias("rollback", previous, by, at)
            return previous

    def _move_alias(self, action: str, model_id: str, by: str, at: str) -> dict[str, Any]:
        aliases = self.aliases()
        history = [*aliases.get("history", []), {"action": action, "model_id": model_id}]
        history[-1].update(by=by, at=at)
        aliases = {"service": model_id, "history": history}
        write_json(self.root / ALIASES_FILE, aliases)
        return aliases

    def ensure_champion(
        self,
        default_model: pathlib.Path | str,
        meta: dict[str, Any] | None = None,
        by: str = "registry",
        now: datetime | None = None,
    ) -> str:
        """When no model is in service yet (an empty registry), registers `default_model` (the
        model `make train` built) as the first service model; returns the service model's id
        either way. Nothing judged it against another model: its gate records that it was
        adopted."""
        with self._locked():
            service = self.service()
            if service is not None:
                return service
            adopted = {
                "trained_by": "make train",
                "gate": {"passed": True, "reasons": ["adopted: the model in service before"]},
                **(meta or {}),
            }
            model_id = self.add(default_model, adopted, now=now)
            at = iso(_now(now))
            record = self.get(model_id)
            record["promoted_at"], record["promoted_by"] = at, by
            write_json(self.folder(model_id) / META_FILE, record)
            self._move_alias("promote", model_id, by, at)
            return model_id

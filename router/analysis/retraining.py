"""The retraining the analysts start from the page: `python -m scripts.retrain` in the
assistant's environment (helper process, its own session), at most one at a time.

Its files are under one folder (the router's data dir, `retrain/`): `progress.json`, which the
script rewrites whole at every step ({state: training|evaluating|done|failed, step, steps,
message, model_id?}), `retrain.log` (its output) and `retrain.pid` (the running one's process
id, created exclusively: a second start while it runs is refused, in any router process on this
machine). The process gets none of the router's secrets: only what it needs to run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from router import errors

# the project's root: the retraining runs there (`-m scripts.retrain`, nlu_data, bot, config.yml)
PROJECT = Path(__file__).resolve().parents[2]
FINISHED = ("done", "failed")
TAIL_LINES = 40
# what the child inherits from the router's environment (never ROUTER_* or ASSISTANT_* values)
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "SQLALCHEMY_SILENCE_UBER_WARNING")


def retrain_command(
    python: Path, progress: Path, registry: Path, config: Path | None, by: str
) -> list[str]:
    """The command line of one retraining (no secret on it)."""
    command = [str(python), "-m", "scripts.retrain", "--progress", str(progress)]
    command += ["--registry", str(registry), "--by", by]
    if config is not None:
        command += ["--config", str(config)]
    return command


def child_env(env: Mapping[str, str], project: Path = PROJECT) -> dict[str, str]:
    """The retraining's environment: a few of the router's variables and the assistant's
    defaults (scripts/services.py assistant_env), with `project` on the path."""
    kept = {name: env[name] for name in PASSED_ENV if name in env}
    return {
        **kept,
        "PYTHONPATH": str(project),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "RASA_TELEMETRY_ENABLED": "false",
    }


def tail(text: str, lines: int = TAIL_LINES) -> list[str]:
    return text.splitlines()[-lines:]


def effective(progress: dict[str, Any] | None, running: bool) -> dict[str, Any]:
    """What to show: the progress as written; `idle` before any retraining; `failed` for one that
    is no longer running but never wrote that it finished (it crashed or was killed)."""
    if progress is None:
        return {"state": "running" if running else "idle"}
    if running or progress.get("state") in FINISHED:
        return progress
    return {**progress, "state": "failed", "message": "the retraining process stopped"}


def _alive(pid: int) -> bool:
    """A process with that id runs (a zombie does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


@dataclass
class Retraining:
    """One router process's handle on the retraining under `folder`."""

    folder: Path
    python: Path
    registry: Path
    config: Path | None = None
    project: Path = PROJECT  # where it runs: the training inputs it reads
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def progress_file(self) -> Path:
        return self.folder / "progress.json"

    @property
    def log_file(self) -> Path:
        return self.folder / "retrain.log"

    @property
    def pid_file(self) -> Path:
        return self.folder / "retrain.pid"

    def running(self) -> bool:
        if self._process is not None and self._process.poll() is None:
            return True
        try:
            pid = int(self.pid_file.read_text().strip() or 0)
        except (OSError, ValueError):
            return False
        return pid > 0 and _alive(pid)

    def start(self, by: str, env: Mapping[str, str]) -> None:
        """Starts a retraining; RetrainRunning while one runs."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.running():
            raise errors.RetrainRunning()
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()  # a stale one: its process is gone
        try:
            claim = os.open(self.pid_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            raise errors.RetrainRunning() from None  # another process started one just now
        try:
            self.progress_file.unlink(missing_ok=True)
            command = retrain_command(
                self.python, self.progress_file, self.registry, self.config, by
            )
            with self.log_file.open("wb") as log:
                self._process = subprocess.Popen(
                    command,
                    cwd=self.project,
                    env=child_env(env, self.project),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            os.write(claim, str(self._process.pid).encode())
        except BaseException:
            os.close(claim)
            self.pid_file.unlink(missing_ok=True)
            raise
        os.close(claim)

    def status(self) -> dict[str, Any]:
        """{progress (effective), running, log: the last lines of its output}."""
        running = self.running()
        try:
            progress = json.loads(self.progress_file.read_text())
        except (OSError, ValueError):
            progress = None
        try:
            log = tail(self.log_file.read_text(errors="replace"))
        except OSError:
            log = []
        shown = effective(progress if isinstance(progress, dict) else None, running)
        return {"progress": shown, "running": running, "log": log}

    def stop(self) -> None:
        """Stops a retraining this process started (the app's shutdown), with what it started
        (`rasa train`, the conversation tests: its own process group)."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self.pid_file.unlink(missing_ok=True)

"""No copies for debug logs that are dropped (fast path `debug_copies`).

Rasa deep-copies states, events and parse data to pass them to `structlogger.debug(...)`, even
when debug logging is off and the call does nothing. In the modules where every use of `copy`
is such an argument (checked against their source when installing, so a Rasa upgrade that uses
copy otherwise is noticed and left alone), the copies are skipped when the configured logger
drops debug events.
"""

from __future__ import annotations

import ast
import inspect
import logging
from collections.abc import Callable
from typing import Any

import structlog

log = logging.getLogger(__name__)

# What a filtering structlog logger has for `debug` when it drops debug events (one function).
_DROPPED = structlog.make_filtering_bound_logger(logging.CRITICAL).debug

# Modules whose every use of `copy` is an argument of a `structlogger.debug(...)` call.
LOG_COPY_MODULES = (
    "rasa.core.processor",
    "rasa.core.policies.memoization",
    "rasa.core.policies.rule_policy",
)


def debug_logged() -> bool:
    """Whether Rasa's structlog logger (configured by Rasa at start-up) keeps debug events."""
    wrapper = structlog.get_config().get("wrapper_class")
    return getattr(wrapper, "debug", None) is not _DROPPED


def log_only_copies(source: str) -> bool:
    """True when every `copy.<name>` in `source` is inside a `structlogger.debug(...)` call."""
    tree = ast.parse(source)
    inside: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "debug"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "structlogger"
        ):
            inside.update(id(n) for n in ast.walk(node))
    uses = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "copy"
    ]
    return all(id(node) in inside for node in uses)


class DebugCopies:
    """Stands in for the `copy` module where copies are made only for debug log events."""

    def __init__(self, enabled: Callable[[], bool]) -> None:
        self._enabled = enabled

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        import copy

        return copy.deepcopy(value, memo) if self._enabled() else value

    def copy(self, value: Any) -> Any:
        import copy

        return copy.copy(value) if self._enabled() else value


def install() -> None:
    import importlib

    shim = DebugCopies(debug_logged)
    for name in LOG_COPY_MODULES:
        module = importlib.import_module(name)
        if not log_only_copies(inspect.getsource(module)):
            log.warning("assistant.fastpaths.debug_copies.left %s copies for more than logs", name)
            continue
        module.copy = shim  # type: ignore[attr-defined]

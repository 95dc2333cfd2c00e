"""Cheaper ways for Rasa 3.6 to do what it does on every message, with the same results.

Profiling a REST turn of the served assistant (cProfile and per-node timers, see the README's
performance section) showed these costs, none of them the work itself:

- **Running the graph.** Every parse and every next-action prediction runs Rasa's graph through
  `dask.get`, which first rebuilds the minimal schema for the targets and then schedules a
  dozen nodes through dask's generic machinery. `SequentialGraphRunner` works the order out
  once per set of targets and calls the same nodes with the same inputs, one after the other.
- **The dialogue history as states and the rule lookup.** Each prediction replayed the whole
  conversation into states several times and checked every rule against it;
  `scripts.dialogue_fastpaths` keeps the replay per tracker and across turns, and looks rules up
  by the conversation's last action.
- **Connections to the action server.** Rasa opened a new client session, so a new TCP
  connection for the action server to accept, for every action call (two or three a turn).
  `install_kept_sessions` keeps one session per endpoint, its connections kept while in use,
  and encodes request bodies (the whole tracker) with ujson.
- **Copies for debug logs.** Rasa deep-copies states, events and parse data to pass them to
  `structlogger.debug(...)`, even when debug logging is off and the call does nothing. Those
  copies are skipped when the configured logger drops debug events.
- **Calling DIET's TensorFlow function.** The polymorphic `tf.function` re-checks its inputs
  against its signature on every call; its one concrete function (the signature is fixed) is
  called directly, with the batch flattened and converted here (`FlatCall`). TensorFlow runs on
  one thread (`TF_THREADS`).
- **Joining sparse features.** Each featurizer's matrix is appended to the previous ones with
  `scipy.sparse.hstack`, built for grids of blocks; `hstack_coo` joins two side by side.

`install()` applies them all; `scripts.rasa_server` calls it before Rasa starts and
`bench.assistant` before it times a parse. tests/scripts/test_rasa_fastpaths.py checks that each
one gives Rasa's answers.
"""

from __future__ import annotations

import ast
import inspect
import logging
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner

from scripts import dialogue_fastpaths

log = logging.getLogger(__name__)


class SequentialGraphRunner(DaskGraphRunner):
    """Rasa's graph runner without dask: the same nodes, called in dependency order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[str, ...], list[tuple[str, tuple[str, ...]]]] = {}

    def plan(self, targets: Iterable[str]) -> list[tuple[str, tuple[str, ...]]]:
        """(node, the names it needs) for every node the targets depend on, dependencies first."""
        key = tuple(targets)
        plan = self._plans.get(key)
        if plan is None:
            nodes = self._graph_schema.nodes
            plan, seen = [], set()

            def visit(name: str) -> None:
                if name in seen or name not in nodes:  # not a node: an input of the run
                    return
                seen.add(name)
                needs = tuple(nodes[name].needs.values())
                for need in needs:
                    visit(need)
                plan.append((name, needs))

            for target in key:
                if target not in nodes:
                    raise GraphRunError(f"Target '{target}' is not a node of the graph.")
                visit(target)
            self._plans[key] = plan
        return plan

    def run(
        self, inputs: dict[str, Any] | None = None, targets: list[str] | None = None
    ) -> dict[str, Any]:
        run_targets = targets if targets else self._graph_schema.target_names
        results: dict[str, tuple[str, Any]] = {}
        for name, value in (inputs or {}).items():
            if name in self._graph_schema.nodes:
                raise GraphRunError(
                    f"Input value '{name}' clashes with a node name. Make sure that none of the "
                    f"input names passed to the `run` method are the same as node names in the "
                    f"graph schema."
                )
            results[name] = (name, value)
        nodes = self._instantiated_nodes
        for name, needs in self.plan(run_targets):
            missing = [need for need in needs if need not in results]
            if missing:
                raise GraphRunError(f"Node '{name}' needs inputs that were not given: {missing}.")
            results[name] = nodes[name](*(results[need] for need in needs))
        return dict(results[target] for target in run_targets)


# What a filtering structlog logger has for `debug` when it drops debug events (one function).
_DROPPED = structlog.make_filtering_bound_logger(logging.CRITICAL).debug


def debug_logged() -> bool:
    """Whether Rasa's structlog logger (configured by Rasa at start-up) keeps debug events."""
    wrapper = structlog.get_config().get("wrapper_class")
    return getattr(wrapper, "debug", None) is not _DROPPED


# Modules whose every use of `copy` is an argument of a `structlogger.debug(...)` call (checked by
# `log_only_copies` against their source, so a Rasa upgrade that uses copy otherwise is noticed).
LOG_COPY_MODULES = (
    "rasa.core.processor",
    "rasa.core.policies.memoization",
    "rasa.core.policies.rule_policy",
)


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


class _DebugCopies:
    """Stands in for the `copy` module where copies are made only for debug log events."""

    def __init__(self, enabled: Callable[[], bool]) -> None:
        self._enabled = enabled

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        import copy

        return copy.deepcopy(value, memo) if self._enabled() else value

    def copy(self, value: Any) -> Any:
        import copy

        return copy.copy(value) if self._enabled() else value


def install_debug_copies_only_when_logged() -> None:
    import importlib

    shim = _DebugCopies(debug_logged)
    for name in LOG_COPY_MODULES:
        module = importlib.import_module(name)
        if not log_only_copies(inspect.getsource(module)):
            log.warning("%s copies for more than debug logs; left as it is", name)
            continue
        module.copy = shim  # type: ignore[attr-defined]


class FlatCall:
    """A concrete TensorFlow function called with its inputs flattened and converted here.

    Calling it with the structured batch makes TensorFlow flatten the batch against the input
    signature, convert each array and check structure and types again on every call (about
    1.5 ms of a parse); here the signature is flattened once and each array converted as
    TensorFlow converts it (`convert_to_tensor` with the spec's dtype as hint). Inputs that do
    not fit the signature exactly go through the structured call, with TensorFlow's errors."""

    def __init__(self, concrete: Any) -> None:
        import numpy as np
        import tensorflow as tf

        self.concrete, self.tf, self.ndarray = concrete, tf, np.ndarray
        specs = tf.nest.flatten(concrete.structured_input_signature, expand_composites=True)
        self.specs = specs if all(isinstance(s, tf.TensorSpec) for s in specs) else None

    def __call__(self, batch_in: Any) -> Any:
        tf, specs = self.tf, self.specs
        values = tf.nest.flatten(((batch_in,), {}), expand_composites=True)
        if (
            specs is not None
            and len(values) == len(specs)
            and all(isinstance(v, self.ndarray) for v in values)
        ):
            tensors = [
                tf.convert_to_tensor(value, dtype_hint=spec.dtype)
                for value, spec in zip(values, specs, strict=True)
            ]
            if all(spec.is_compatible_with(t) for t, spec in zip(tensors, specs, strict=True)):
                return self.concrete._call_flat(tensors, self.concrete.captured_inputs)
        return self.concrete(batch_in)


def install_concrete_tf_predict() -> None:
    from rasa.utils.tensorflow import models

    rasa_predict = models.RasaModel._rasa_predict

    def _rasa_predict(self: Any, batch_in: Any) -> dict[str, Any]:
        concrete = self.__dict__.get("_fastpaths_concrete")
        if concrete is None:
            outputs = rasa_predict(self, batch_in)  # prepares the model, builds the tf.function
            if self._tf_predict_step is not None and not self._run_eagerly:
                # not through setattr: Keras would track it as part of the model
                self.__dict__["_fastpaths_concrete"] = FlatCall(
                    self._tf_predict_step.get_concrete_function()
                )
            return outputs
        outputs = models.tf_utils.sync_to_numpy_or_python_type(concrete(batch_in))
        if models.DIAGNOSTIC_DATA in outputs:
            outputs[models.DIAGNOSTIC_DATA] = self._empty_lists_to_none_in_dict(
                outputs[models.DIAGNOSTIC_DATA]
            )
        return outputs

    models.RasaModel._rasa_predict = _rasa_predict


def hstack_coo(left: Any, right: Any) -> Any:
    """`scipy.sparse.hstack([left, right])` for two matrices with the same rows, as COO.

    scipy's `hstack` goes through `bmat`, which checks and converts each block of a general
    grid several times; two blocks side by side are their entries with the right one's columns
    moved along: ~0.1 instead of ~0.45 ms, five times per parse."""
    import numpy as np
    from scipy.sparse import coo_matrix

    a, b = left.tocoo(), right.tocoo()
    return coo_matrix(
        (
            np.concatenate([a.data, b.data]),
            (np.concatenate([a.row, b.row]), np.concatenate([a.col, b.col + a.shape[1]])),
        ),
        shape=(a.shape[0], a.shape[1] + b.shape[1]),
    )


def install_sparse_hstack() -> None:
    from rasa.shared.nlu.training_data.features import Features

    rasa_combine = Features._combine_sparse_features

    def _combine_sparse_features(self: Features, additional_features: Features) -> None:
        if self.features.shape[0] != additional_features.features.shape[0]:
            rasa_combine(self, additional_features)  # raises Rasa's error
            return
        self.features = hstack_coo(self.features, additional_features.features)
        self._cached_fingerprint = None

    Features._combine_sparse_features = _combine_sparse_features  # type: ignore[method-assign]


# Kept connections to the action server (and any other endpoint Rasa calls): closed by us after
# this long idle, before the action server's Sanic would (5 s), so a kept connection is never one
# the server is closing.
KEEPALIVE_S = 2.0


class _KeptSession:
    """`async with` gives the endpoint's kept session and leaves it open afterwards."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


def json_dumps(value: Any) -> str:
    """JSON for request bodies: ujson (Sanic's own parser on the action server's side), UTF-8
    text as it is. About 2.5 times faster than `json.dumps` on a 10-turn tracker (35 KB)."""
    import ujson

    return ujson.dumps(value, ensure_ascii=False, escape_forward_slashes=False)


def install_kept_sessions() -> None:
    """One client session per endpoint and event loop, kept, instead of a new session (and a new
    TCP connection, and a new connection on the action server) for every action call."""
    import asyncio

    import aiohttp
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

    def session(self: EndpointConfig) -> Any:
        loop = asyncio.get_running_loop()
        kept = self.__dict__.get("_fastpaths_session")
        if kept is None or kept[0] is not loop or kept[1].closed:
            auth = self.basic_auth  # as Rasa's `EndpointConfig.session` sets it up
            kept_session = aiohttp.ClientSession(
                headers=self.headers,
                auth=aiohttp.BasicAuth(auth["username"], auth["password"]) if auth else None,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                json_serialize=json_dumps,
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S),
            )
            kept = self.__dict__["_fastpaths_session"] = (loop, kept_session)
        return _KeptSession(kept[1])

    EndpointConfig.session = session  # type: ignore[method-assign]


# One thread each for TensorFlow's operations and for running them side by side. A parse is a
# few small matrix products: splitting each across both cores cost more than it saved (in-process
# parse p50 13.7–16.8 against 16.4–17.6 ms, interleaved runs), and the cores are better left to
# the other conversations and the action server. An operator's own setting wins.
TF_THREADS = {"TF_INTRA_OP_PARALLELISM_THREADS": "1", "TF_INTER_OP_PARALLELISM_THREADS": "1"}


def single_thread_tf() -> None:
    """Sets the thread counts Rasa applies at start-up (`setup_tf_environment`) unless set."""
    import os

    for name, value in TF_THREADS.items():
        os.environ.setdefault(name, value)


def install_sequential_graph_runner() -> None:
    import rasa.core.processor

    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner  # type: ignore[misc]


def install() -> None:
    """All of them; before the model is loaded (the graph runner is chosen when it loads) and
    before TensorFlow starts (Rasa sets its threads at start-up, from the environment)."""
    single_thread_tf()
    install_sequential_graph_runner()
    dialogue_fastpaths.install()
    install_debug_copies_only_when_logged()
    install_concrete_tf_predict()
    install_sparse_hstack()
    install_kept_sessions()

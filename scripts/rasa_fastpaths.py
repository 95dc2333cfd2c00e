"""Cheaper ways for Rasa 3.6 to do what it does on every message, with the same results.

Profiling a REST turn of the served assistant (cProfile and per-node timers, see the README's
performance section) showed these costs, none of them the work itself:

- **Running the graph.** Every parse and every next-action prediction runs Rasa's graph through
  `dask.get`, which first rebuilds the minimal schema for the targets and then schedules a
  dozen nodes through dask's generic machinery. `SequentialGraphRunner` works the order out
  once per set of targets and calls the same nodes with the same inputs, one after the other.
- **The dialogue history as states.** Each prediction turns the whole conversation into states
  (`Domain.states_for_tracker_history`, a replay of every event), and did so 2–3 times per
  prediction (memoization once, the rule policy for the text and then the intent), 3 predictions
  a turn, so a turn's cost grew with the length of the conversation several times over. Here a
  tracker keeps its replay (`StatesReplay`): the same history is answered again from it, and a
  history that only gained events is replayed from where it stopped. Every caller gets its own
  copy of the states.
- **Copies for debug logs.** Rasa deep-copies states, events and parse data to pass them to
  `structlogger.debug(...)`, even when debug logging is off and the call does nothing. Those
  copies are skipped when the configured logger drops debug events.
- **Calling DIET's TensorFlow function.** The polymorphic `tf.function` re-checks its inputs
  against its signature on every call; its one concrete function (the signature is fixed) is
  called directly. TensorFlow runs on one thread (`TF_THREADS`).
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
from rasa.shared.core.events import ActionExecuted

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


def _states_key(
    omit_unset_slots: bool, ignore_rule_only_turns: bool, rule_only_data: dict[str, Any] | None
) -> tuple[Any, ...]:
    frozen = (
        None
        if rule_only_data is None
        else tuple(sorted((k, tuple(v)) for k, v in rule_only_data.items()))
    )
    return omit_unset_slots, ignore_rule_only_turns, frozen


def _copy_states(states: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A state is {sub-state name: {feature: value}}; callers edit the sub-states in place."""
    return [
        {name: dict(sub) if isinstance(sub, dict) else sub for name, sub in state.items()}
        for state in states
    ]


class StatesReplay:
    """`Domain.states_for_tracker_history` for one tracker and one setting, able to go on.

    Rasa replays the applied events of a history from the start into a fresh tracker and takes
    a state before every action and one at the end. When a tracker only gained events since the
    last replay — its applied events start with exactly the ones replayed — the replay goes on
    from where it stopped. Anything else (a restart, a rewound utterance or action, a form that
    undoes its own steps) changes the applied events earlier on, and the replay starts over.
    The steps are Rasa's own (`Domain`'s methods), in Rasa's order."""

    def __init__(
        self,
        domain: Any,
        tracker: Any,
        omit_unset_slots: bool,
        ignore_rule_only_turns: bool,
        rule_only_data: dict[str, Any] | None,
    ) -> None:
        self.domain = domain
        self.omit_unset_slots = omit_unset_slots
        self.ignore_rule_only_turns = ignore_rule_only_turns
        self.rule_only_data = rule_only_data
        self._start(tracker)

    def _start(self, tracker: Any) -> None:
        self.replayed = tracker.init_copy()
        self.applied: list[Any] = []
        self.states: list[dict[str, Any]] = []
        self.last_ml_action: Any = None
        self.turn_was_hidden = False
        self.answered: tuple[tuple[int, int], list[dict[str, Any]]] | None = None

    def states_for(self, tracker: Any) -> list[dict[str, Any]]:
        events = tracker.events
        # events are only ever added to a tracker: their count and last one name its history
        version = (len(events), id(events[-1]) if events else 0)
        if self.answered is not None and self.answered[0] == version:
            return self.answered[1]
        applied = tracker.applied_events()
        done = len(self.applied)
        if len(applied) < done or any(
            a is not b for a, b in zip(applied, self.applied, strict=False)
        ):
            self._start(tracker)
            done = 0
        for event in applied[done:]:
            if isinstance(event, ActionExecuted):
                self._take(self.states, event.hide_rule_turn)
            self.replayed.update(event)
            self.applied.append(event)
        # the state at the end: taken on a copy of the bookkeeping, the replay goes on later
        states, last_ml, hidden = list(self.states), self.last_ml_action, self.turn_was_hidden
        self._take(states, False)
        self.last_ml_action, self.turn_was_hidden = last_ml, hidden
        self.answered = (version, states)
        return states

    def _take(self, states: list[dict[str, Any]], hide_rule_turn: bool) -> None:
        """One step of `Domain.states_for_tracker_history` on the tracker replayed so far."""
        domain, tr = self.domain, self.replayed
        if self.ignore_rule_only_turns:
            if not self.turn_was_hidden:
                self.last_ml_action = domain._get_prev_action_sub_state(tr)
            if not tr.followup_action and tr.latest_action_name != tr.active_loop_name:
                self.turn_was_hidden = hide_rule_turn
            if self.turn_was_hidden:
                return
        state = domain.get_active_state(tr, omit_unset_slots=self.omit_unset_slots)
        if self.ignore_rule_only_turns:
            domain._remove_rule_only_features(state, self.rule_only_data)
            if states:
                domain._substitute_rule_only_user_input(state, states[-1])
            if self.last_ml_action:
                state["prev_action"] = self.last_ml_action  # rasa's PREVIOUS_ACTION
        states.append(domain._clean_state(state))


_REPLAYS = "_fastpaths_replays"  # the tracker attribute holding its replays, one per setting


def install_states_cache() -> None:
    from rasa.shared.core.domain import Domain

    def states_for_tracker_history(
        self: Domain,
        tracker: Any,
        omit_unset_slots: bool = False,
        ignore_rule_only_turns: bool = False,
        rule_only_data: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        replays = tracker.__dict__.setdefault(_REPLAYS, {})
        key = (id(self), *_states_key(omit_unset_slots, ignore_rule_only_turns, rule_only_data))
        replay = replays.get(key)
        if replay is None:
            replay = StatesReplay(
                self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data
            )
            replays[key] = replay
        return _copy_states(replay.states_for(tracker))

    Domain.states_for_tracker_history = states_for_tracker_history  # type: ignore[method-assign]


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


def install_concrete_tf_predict() -> None:
    from rasa.utils.tensorflow import models

    rasa_predict = models.RasaModel._rasa_predict

    def _rasa_predict(self: Any, batch_in: Any) -> dict[str, Any]:
        concrete = self.__dict__.get("_fastpaths_concrete")
        if concrete is None:
            outputs = rasa_predict(self, batch_in)  # prepares the model, builds the tf.function
            if self._tf_predict_step is not None and not self._run_eagerly:
                # not through setattr: Keras would track it as part of the model
                self.__dict__["_fastpaths_concrete"] = self._tf_predict_step.get_concrete_function()
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
    install_states_cache()
    install_debug_copies_only_when_logged()
    install_concrete_tf_predict()
    install_sparse_hstack()

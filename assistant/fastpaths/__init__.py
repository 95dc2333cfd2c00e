"""Cheaper ways for Rasa to do what it does on every message, with Rasa's own answers.

Profiling a served turn (bench.assistant, py-spy) showed costs that are not the
work itself: a schema re-checked, a graph scheduled through dask, a conversation replayed into
states again and again, a connection opened per action call, copies made for dropped debug
logs… Each fast path below does the same work more cheaply by replacing one piece of Rasa's
internals, and each is tested against Rasa's own answers (tests/assistant/fastpaths/).

`FASTPATHS` is the registry: each entry's name (also the name of the module that installs it)
and the Rasa members it replaces or relies on. They were written against Rasa `RASA_VERSION`
(the one requirements/bot.txt pins). `install()`:

- on any other Rasa version installs nothing and logs one warning line (Rasa then runs as it
  ships, only slower);
- installs the fast paths that ASSISTANT_FASTPATHS selects: `all` (the default, also when
  unset or empty), `none`, or a comma list of names, read left to right from none selected,
  where `all` adds every one, `none` drops every one and `-name` drops one: e.g.
  `all,-kept_sessions` or `graph_runner,rule_index`; an unknown name is an error;
- is idempotent: a fast path already installed in this process is not installed again.

Where Rasa offers an extension point it is used instead (assistant.tracker_store, named in
endpoints.yml). The rule lookup stays a replacement and not a RulePolicy subclass named in
config.yml: Rasa's recipe validator looks for RulePolicy by identity (with a subclass it skips
the check of the rules' settings against the domain and warns at every training that no
RulePolicy is configured), every predicted action would carry the subclass's name instead of
"RulePolicy", and the model would have to be retrained for a lookup that changes no answer.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["FASTPATHS", "RASA_VERSION", "SWITCH", "FastPath", "install", "installed", "selected"]

log = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"
SWITCH = "ASSISTANT_FASTPATHS"


@dataclass(frozen=True)
class FastPath:
    name: str  # assistant.fastpaths.<name>.install() installs it
    replaces: tuple[str, ...]  # the Rasa members it replaces or relies on

    def install(self) -> None:
        importlib.import_module(f"{__name__}.{self.name}").install()


# In the order they are installed. All before the model loads (the graph runner is chosen when
# it loads) and before TensorFlow starts (Rasa sets its threads at start-up, from the environment).
FASTPATHS = (
    FastPath(
        "action_check",
        ("RemoteAction._validate_action_result", "RemoteAction.action_response_format_spec"),
    ),
    FastPath("event_types", ("Event.resolve_by_type",)),
    FastPath("gc_freeze", ("rasa.core.run.load_agent_on_start",)),
    FastPath(
        "tf_threads",
        ("TF_INTRA_OP_PARALLELISM_THREADS", "TF_INTER_OP_PARALLELISM_THREADS"),
    ),
    FastPath(
        "graph_runner",
        (
            "rasa.core.processor.DaskGraphRunner",
            "DaskGraphRunner._graph_schema",
            "DaskGraphRunner._instantiated_nodes",
        ),
    ),
    FastPath(
        "dialogue_states",
        (
            "Domain.states_for_tracker_history",
            "Domain._get_prev_action_sub_state",
            "Domain._remove_rule_only_features",
            "Domain._substitute_rule_only_user_input",
            "Domain._clean_state",
        ),
    ),
    FastPath(
        "kept_replays",
        (
            "InMemoryTrackerStore.store",
            "InMemoryTrackerStore._retrieve",
            "SQLTrackerStore._event_query",
        ),
    ),
    FastPath(
        "rule_index",
        (
            "RulePolicy._get_possible_keys",
            "RulePolicy._rule_key_to_state",
            "RulePolicy._is_rule_applicable",
        ),
    ),
    FastPath(
        "debug_copies",
        ("rasa.core.processor.copy", "rasa.core.policies.memoization.copy", "…rule_policy.copy"),
    ),
    FastPath(
        "tf_predict",
        (
            "RasaModel._rasa_predict",
            "RasaModel._tf_predict_step",
            "RasaModel._run_eagerly",
            "RasaModel._empty_lists_to_none_in_dict",
            "ConcreteFunction._call_flat",
        ),
    ),
    FastPath(
        "sparse_hstack",
        ("Features._combine_sparse_features", "Features._cached_fingerprint"),
    ),
    FastPath(
        "kept_sessions",
        ("EndpointConfig.session", "rasa.core.run.configure_app"),
    ),
)
NAMES = tuple(fastpath.name for fastpath in FASTPATHS)

_installed: list[str] = []  # the names installed in this process, in order


def selected(spec: str | None) -> list[str]:
    """The names an ASSISTANT_FASTPATHS value selects, in registry order (unset: all)."""
    chosen: set[str] = set()
    for item in (part.strip() for part in (spec or "all").split(",")):
        if item == "all":
            chosen = set(NAMES)
        elif item == "none":
            chosen = set()
        elif item.startswith("-") and item[1:] in NAMES:
            chosen.discard(item[1:])
        elif item in NAMES:
            chosen.add(item)
        elif item:
            raise ValueError(
                f"{SWITCH}: unknown fast path {item!r}; known: all, none, {', '.join(NAMES)}"
            )
    return [name for name in NAMES if name in chosen]


def installed() -> list[str]:
    """The fast paths installed in this process, in the order they were."""
    return list(_installed)


def install(env: Mapping[str, str] | None = None) -> list[str]:
    """Installs the selected fast paths not installed yet; returns every installed one. Raises
    ValueError for an unknown name in ASSISTANT_FASTPATHS."""
    import rasa

    names = selected((os.environ if env is None else env).get(SWITCH))
    if rasa.__version__ != RASA_VERSION:
        log.warning(
            "assistant.fastpaths.skipped rasa %s, written against %s: none installed",
            rasa.__version__,
            RASA_VERSION,
        )
        return installed()
    for fastpath in FASTPATHS:
        if fastpath.name in names and fastpath.name not in _installed:
            fastpath.install()
            _installed.append(fastpath.name)
    log.info("assistant.fastpaths.installed %s", ",".join(_installed) or "none")
    return installed()

"""Rasa's graph run without dask (fast path `graph_runner`).

Every parse and every next-action prediction runs Rasa's graph through `dask.get`, which first
rebuilds the minimal schema for the targets and then schedules a dozen nodes through dask's
generic machinery. `SequentialGraphRunner` works the order out once per set of targets and calls
the same nodes with the same inputs, one after the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner


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


def install() -> None:
    """The graph runner is chosen when a model loads: install before it does."""
    import rasa.core.processor

    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner  # type: ignore[misc]

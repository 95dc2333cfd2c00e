"""The dialogue states kept per tracker (fast path `dialogue_states`).

Each next-action prediction reads the conversation as a list of states, one per action
(`Domain.states_for_tracker_history`). Rasa replays every event of the history into a fresh
tracker for each prediction and each policy. Here a tracker keeps its replay (`StatesReplay`):
the same history is answered again from it, and a history that only gained events is replayed
from where it stopped. A rewind (a restart, a reverted utterance or action, a form undoing its
steps) changes the applied events earlier on, and the replay starts over. Every caller gets its
own copy of the states. The tracker store carries a tracker's replays on to the next turn
(fast path `kept_replays`).
"""

from __future__ import annotations

from typing import Any

from rasa.shared.core.events import ActionExecuted


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

    def take_over(self, applied: list[Any]) -> bool:
        """Refer to `applied` (the same events as those replayed, as new objects) from now on;
        False when it is shorter than what was replayed."""
        if len(self.applied) > len(applied):
            return False
        self.applied = applied[: len(self.applied)]
        self.answered = None
        return True

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


REPLAYS = "_fastpaths_replays"  # the tracker attribute holding its replays, one per setting


def install() -> None:
    from rasa.shared.core.domain import Domain

    def states_for_tracker_history(
        self: Domain,
        tracker: Any,
        omit_unset_slots: bool = False,
        ignore_rule_only_turns: bool = False,
        rule_only_data: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        replays = tracker.__dict__.setdefault(REPLAYS, {})
        key = (id(self), *_states_key(omit_unset_slots, ignore_rule_only_turns, rule_only_data))
        replay = replays.get(key)
        if replay is None:
            replay = StatesReplay(
                self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data
            )
            replays[key] = replay
        return _copy_states(replay.states_for(tracker))

    Domain.states_for_tracker_history = states_for_tracker_history  # type: ignore[method-assign]

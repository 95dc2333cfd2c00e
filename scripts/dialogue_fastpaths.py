"""Cheaper dialogue predictions for Rasa 3.6, with Rasa's own answers.

Each next-action prediction reads the conversation as a list of states, one per action, and the
rule policy then looks for the rules that match the end of that list. Profiling a served REST
turn (py-spy at saturation, see the README's performance section) put a third of the Rasa
server's time there. Three things make it cheaper:

- **States kept per tracker** (`StatesReplay`). Rasa replays every event of the history into a
  fresh tracker for each prediction and each policy. Here a tracker keeps its replay: the same
  history is answered again from it, and a history that only gained events is replayed from
  where it stopped. A rewind (a restart, a reverted utterance or action, a form undoing its
  steps) changes the applied events earlier on, and the replay starts over. Every caller gets
  its own copy of the states.
- **Replays kept across turns** (`install_kept_replays`). The in-memory tracker store hands out a
  new tracker each turn, rebuilt from the text it saved, so each turn replayed the whole
  conversation again. When the store gives back exactly the text it saved with a tracker's
  replays (the same string, nothing saved in between), the new tracker takes those replays
  over: its events are that text read back, one for one. Only the most recent conversations
  keep theirs (`KEPT_CONVERSATIONS`).
- **Rules looked up by the last action** (`RuleIndex`). Rasa's rule policy checked every rule
  (182 here) against the last state, then the survivors against each earlier state back to the
  start of the conversation, although no rule is longer than four states. Here only the rules
  whose last state can follow the conversation's last action are checked (a rule naming another
  action could never match), with Rasa's own check, and the walk back stops once every remaining
  rule has been checked over its whole length (Rasa's check says yes to every earlier state).

`install()` applies all three; `scripts.rasa_fastpaths.install` calls it.
tests/scripts/test_dialogue_fastpaths.py compares each with Rasa on the assistant's stories.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from rasa.core.policies.rule_policy import SHOULD_NOT_BE_SET
from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.events import ActionExecuted
from rasa.shared.nlu.constants import ACTION_NAME


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


# The conversations whose replays the in-memory tracker store keeps between turns, most recent
# first: a conversation in progress comes back within minutes; older ones start over (correct,
# only slower) and their memory is freed.
KEPT_CONVERSATIONS = 2000


def _moved_replays(replays: dict[Any, StatesReplay], tracker: Any) -> dict[Any, StatesReplay]:
    """`replays` taken over by `tracker`, whose events are, one for one, the events they replayed
    read back from the store."""
    applied = tracker.applied_events()
    return {key: replay for key, replay in replays.items() if replay.take_over(applied)}


_KEPT = "_fastpaths_kept"  # the tracker store attribute holding the kept replays


def forget_kept_replays(store: Any, sender_id: str) -> None:
    """Drops the replays kept for `sender_id` (its conversation left the store)."""
    store.__dict__.get(_KEPT, {}).pop(sender_id, None)


def install_kept_replays() -> None:
    from rasa.core.tracker_store import InMemoryTrackerStore

    rasa_save = InMemoryTrackerStore.save
    rasa_retrieve = InMemoryTrackerStore._retrieve

    def kept(store: InMemoryTrackerStore) -> OrderedDict[str, tuple[str, int, dict[Any, Any]]]:
        return store.__dict__.setdefault(_KEPT, OrderedDict())

    async def save(self: InMemoryTrackerStore, tracker: Any) -> None:
        await rasa_save(self, tracker)
        entries = kept(self)
        entries.pop(tracker.sender_id, None)
        replays = tracker.__dict__.get(_REPLAYS)
        if replays:
            text = self.store[tracker.sender_id]
            entries[tracker.sender_id] = (text, len(tracker.events), replays)
            while len(entries) > KEPT_CONVERSATIONS:
                entries.popitem(last=False)

    async def _retrieve(
        self: InMemoryTrackerStore, sender_id: str, fetch_all_sessions: bool
    ) -> Any:
        entry = kept(self).pop(sender_id, None)  # the first tracker handed out takes them over
        tracker = await rasa_retrieve(self, sender_id, fetch_all_sessions)
        if (
            tracker is not None
            and entry is not None
            and entry[0] is self.store.get(sender_id)  # exactly the text saved with them
            and entry[1] == len(tracker.events)  # all of it (not just the last session)
        ):
            tracker.__dict__[_REPLAYS] = _moved_replays(entry[2], tracker)
        return tracker

    InMemoryTrackerStore.save = save  # type: ignore[method-assign]
    InMemoryTrackerStore._retrieve = _retrieve  # type: ignore[method-assign]


class RuleIndex:
    """The rules of one lookup table of the rule policy, by the action their last state follows.

    A rule whose last state names a previous action matches a conversation state only when that
    state's previous action has the same name (Rasa's `_does_rule_match_state`, and a state
    without a previous action matches no such rule); every other rule is a candidate always."""

    def __init__(self, policy: Any, lookup: dict[str, Any]) -> None:
        self.lookup, self.size = lookup, len(lookup)
        self.any_action: set[str] = set()
        self.by_action: dict[str, set[str]] = {}
        self.length: dict[str, int] = {}
        for key in lookup:
            states = policy._rule_key_to_state(key)
            self.length[key] = len(states)
            action = _action_name(states[-1]) if states else None
            if action is None:
                self.any_action.add(key)
            else:
                self.by_action.setdefault(action, set()).add(key)

    def candidates(self, state: dict[str, Any]) -> set[str]:
        """Every rule that may match `state` as its last state (and some that do not)."""
        action = _action_name(state)
        if action is None:
            return set(self.any_action)
        return self.any_action | self.by_action.get(action, set())

    def longest(self, keys: set[str]) -> int:
        return max((self.length[key] for key in keys), default=0)


def _action_name(state: dict[str, Any]) -> str | None:
    """The previous action's name a state insists on, if any."""
    name = (state.get(PREVIOUS_ACTION) or {}).get(ACTION_NAME)
    return name if isinstance(name, str) and name and name != SHOULD_NOT_BE_SET else None


def install_rule_index() -> None:
    from rasa.core.policies.rule_policy import RulePolicy

    def rule_index(policy: RulePolicy, lookup: dict[str, Any]) -> RuleIndex:
        indexes = policy.__dict__.setdefault("_fastpaths_rule_index", {})
        index = indexes.get(id(lookup))
        if index is None or index.lookup is not lookup or index.size != len(lookup):
            index = indexes[id(lookup)] = RuleIndex(policy, lookup)
        return index

    def _get_possible_keys(
        self: RulePolicy, lookup: dict[str, Any], states: list[dict[str, Any]]
    ) -> set[str]:
        if not states:
            return set(lookup.keys())
        index = rule_index(self, lookup)
        keys = index.candidates(states[-1])
        for i, state in enumerate(reversed(states)):
            if i >= index.longest(keys):
                break  # Rasa's check says yes to every state further back than a rule is long
            keys = {key for key in keys if self._is_rule_applicable(key, i, state)}
        return keys

    RulePolicy._get_possible_keys = _get_possible_keys  # type: ignore[method-assign]


def install() -> None:
    install_states_cache()
    install_kept_replays()
    install_rule_index()

"""Rules looked up by the conversation's last action (fast path `rule_index`).

Rasa's rule policy checked every rule against the last state of the conversation, then the
survivors against each earlier state back to the start of the conversation, although no rule
is longer than a few states. Here only the rules whose last state can follow the conversation's
last action are checked (a rule naming another action could never match), with Rasa's own
check, and the walk back stops once every remaining rule has been checked over its whole length
(Rasa's check says yes to every earlier state).
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.rule_policy import SHOULD_NOT_BE_SET
from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.nlu.constants import ACTION_NAME


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


def install() -> None:
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

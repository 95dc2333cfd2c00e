"""Dialogue histories as a live conversation makes them, for the dialogue fast paths' tests."""

from __future__ import annotations

from rasa.shared.core.events import ActionExecuted, ActionReverted, Restarted, UserUtteranceReverted

# The settings the policies ask for states with (Rasa's defaults; the rule policy's).
RULE_ONLY = {"slots": ["requested_slot"], "loops": ["verification_form"]}
SETTINGS = [{}, {"ignore_rule_only_turns": True, "rule_only_data": RULE_ONLY}]


def live_events(events: list, rng) -> list:
    """A live conversation's events: some turns hidden by rules, and now and then a rewind."""
    out = []
    for event in events:
        if isinstance(event, ActionExecuted):
            event = ActionExecuted(
                event.action_name,
                event.policy,
                event.confidence,
                action_text=event.action_text,
                hide_rule_turn=rng.random() < 0.3,
            )
        out.append(event)
        roll = rng.random()
        if roll < 0.02:
            out.append(UserUtteranceReverted())
        elif roll < 0.03:
            out.append(ActionReverted())
        elif roll < 0.035:
            out.append(Restarted())
    return out

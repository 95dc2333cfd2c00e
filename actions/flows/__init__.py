"""rasa_sdk actions and form validators, one module per conversation flow.

The classes are thin: they read slots, call plain functions (actions/replies.py,
actions/roaming_quote.py, actions/ticket_triage.py, actions/plans.py) and the subscriber store,
and shape the reply. Importing this package registers every action with the action server.
"""

from actions.flows import (
    billing,
    common,
    data_usage,
    fallback,
    handoff,
    password,
    plans,
    roaming,
    tickets,
    verification,
)

__all__ = [
    "billing",
    "common",
    "data_usage",
    "fallback",
    "handoff",
    "password",
    "plans",
    "roaming",
    "tickets",
    "verification",
]

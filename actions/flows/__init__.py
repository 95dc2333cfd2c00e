"""rasa_sdk actions and form validators, one module per conversation flow.

The classes are thin: they read slots, call plain functions (actions/replies.py,
actions/roaming_quote.py, actions/triage.py, actions/handoff.py, actions/plans.py,
components/triage_rules.py), the subscriber store and the router (actions/router_client.py), and
shape the reply. Importing this package registers every action with the action server.
"""

from actions.flows import (
    billing,
    common,
    data_usage,
    fallback,
    handoff,
    password,
    plans,
    repair,
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
    "repair",
    "roaming",
    "tickets",
    "verification",
]

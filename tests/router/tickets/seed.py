"""Open tickets in the action server's store for the router's ticket tests, as the assistant
would (its conversation and channel in `extra`), at the service's clock. Runs in the bot venv
with the action server's environment:

    .venv-bot/bin/python tests/router/tickets/seed.py '{"kind": "complaint", ...}'

prints {"id": <ticket id>}. One JSON object: kind, category, description, phone, severity,
conversation, channel (the last two may be null); with `outage` (an open outage's id) a fault
report attached to it, as the assistant attaches one in the outage's district.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from actions.flows.common import offset_clock
from actions.settings import load_settings
from actions.store import open_store


def main() -> None:
    spec = json.loads(sys.argv[1])
    now = offset_clock(Path(os.environ["ASSISTANT_CLOCK_OFFSET_FILE"]))()
    store = open_store(load_settings())
    extra = {k: spec[k] for k in ("conversation", "channel") if spec.get(k)}
    if spec.get("outage"):
        attached = store.attach_outage_report(
            spec["outage"], spec.get("description", "家里宽带断了"), spec.get("phone"), now,
            extra=extra,
        )  # fmt: skip
        print(json.dumps({"id": attached.id}))
        return
    ticket = store.create_ticket(
        spec["kind"], spec.get("category", "service"), spec.get("description", "测试工单"),
        spec.get("phone"), now, severity=spec.get("severity"), extra=extra,
    )  # fmt: skip
    print(json.dumps({"id": ticket.id}))


if __name__ == "__main__":
    main()

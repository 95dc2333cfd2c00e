"""Stopping a background loop that reads Redis, when redis-py hid the stop.

Such a loop (the token revocations, the gateway's event consumer, its live fan-out, its queue
positions) is stopped by cancelling its task, and the shutdown awaits it. redis-py may turn that
cancellation into a connection error, or swallow it (Python 3.11's asyncio.timeout(0) in its
reads); a loop that then went on would hang the shutdown. So each such loop checks
`cancelling()` at the top of every turn and in its error handler, and raises CancelledError
itself.
"""

from __future__ import annotations

import asyncio


def cancelling() -> bool:
    """This task was asked to stop, though the CancelledError may not have reached it."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0

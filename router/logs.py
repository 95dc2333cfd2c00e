"""What the router's log lines may say: phone and ID numbers masked, conversation ids hashed.

Log lines name things by stable event names and ids, never by message text (style.md). Two
guards on top of that: `short_hash` is what a log line says instead of a conversation id (the id
is the customer's credential; the hash still lets lines of one conversation be grepped together),
and `install_masking` makes every record of the process — the router's, uvicorn's, a library's —
pass through telecom.mask.text before any handler sees it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from typing import Any

from telecom import mask

_installed = False
# The router's handoff ids (h + 12 digits) and offer ids (o + up to 10) are kept as they are
# (the masker would take h000000000123 for a long digit run); it sees everything else.
_IDENTIFIER = re.compile(r"(?<![A-Za-z0-9])(?:h[0-9]{12}|o[0-9]{1,10})(?![0-9])")


def short_hash(value: str) -> str:
    """12 hex characters of SHA-256: what a log line says instead of a conversation id."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def mask_line(line: str) -> str:
    """`line` with every phone and ID number masked (handoff and offer ids kept)."""
    out: list[str] = []
    start = 0
    for match in _IDENTIFIER.finditer(line):
        out.append(mask.text(line[start : match.start()]))
        out.append(match.group())
        start = match.end()
    out.append(mask.text(line[start:]))
    return "".join(out)


def masked(record: logging.LogRecord) -> logging.LogRecord:
    """`record` with its message formatted and masked (args folded in)."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a bad format: logging reports it when the line is emitted
        return record
    record.msg = mask_line(message)
    record.args = None
    return record


def install_masking() -> Callable[[], None]:
    """Every log record created in this process from now on is masked (idempotent); returns
    what undoes it (tests)."""
    global _installed
    if _installed:
        return lambda: None
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return masked(previous(*args, **kwargs))

    def undo() -> None:
        global _installed
        logging.setLogRecordFactory(previous)
        _installed = False

    logging.setLogRecordFactory(factory)
    _installed = True
    return undo

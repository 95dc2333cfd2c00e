"""redis-py's replies, typed as the gateway receives them.

redis-py annotates each command for every kind of client: bytes or str, RESP2 or RESP3. The
gateway's client shares the router's connection settings (decode_responses=True, RESP2), so a
reply is str where redis-py says bytes | str, and a stream read is a list of [stream, entries].
These helpers only narrow the static type; each returns the reply it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from redis.typing import (
    EncodableT,
    FieldT,
    StreamRangeResponse,
    XReadGroupResponse,
    XReadResponse,
)

Fields = dict[str, str]
# (entry id, fields) of a stream entry
Entry = tuple[str, Fields]
# XAUTOCLAIM's claimed entries: the fields of an entry deleted since it was read are nil
PendingEntry = tuple[str, Fields | None]


def text(reply: bytes | str | None) -> str | None:
    return cast("str | None", reply)


def texts(reply: list[bytes | str | None]) -> list[str | None]:
    return cast("list[str | None]", reply)


def fields(reply: dict[bytes | str, bytes | str]) -> Fields:
    return cast(Fields, reply)


def mapping(values: Mapping[str, str]) -> Mapping[FieldT, EncodableT]:
    """HSET's mapping argument: Mapping is invariant in its key, so str keys need widening."""
    return cast("Mapping[FieldT, EncodableT]", values)


def entries(reply: StreamRangeResponse | None) -> list[Entry]:
    """XRANGE / XREVRANGE."""
    return cast("list[Entry]", reply)


def read_entries(reply: XReadResponse | XReadGroupResponse | None) -> list[Entry]:
    """Every stream's entries in an XREAD / XREADGROUP reply (None: the block timed out)."""
    streams = cast("list[tuple[str, list[Entry]]]", reply or [])
    return [entry for _stream, items in streams for entry in items]


def claimed_entries(reply: list[Any]) -> list[PendingEntry]:
    """The claimed entries of an XAUTOCLAIM reply: [next start id, entries, deleted ids]."""
    return cast("list[PendingEntry]", reply[1])

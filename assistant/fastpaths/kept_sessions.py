"""One kept client session per endpoint (fast path `kept_sessions`).

Rasa opens a new aiohttp client session — so a new TCP connection, for the action server to
accept — for every action call (two or three a turn). Here each endpoint keeps one session per
event loop, its connections kept while in use, and request bodies (the whole tracker) are
encoded with ujson (`json_dumps`).

Rasa itself once shipped a kept session and reverted it after reports of timeouts. This one:
- times out as Rasa's does: the session has Rasa's total timeout (`DEFAULT_REQUEST_TIMEOUT`,
  read when the session is made) and an action call still passes its own; a call that times
  out raises the same `asyncio.TimeoutError`, its connection is dropped, not reused, and the
  next call gets a fresh one, while other calls go on meanwhile
  (tests/assistant/fastpaths/test_kept_sessions.py, against an action server that hangs);
- never reuses a connection the server may be closing: an idle connection is closed by us after
  `KEEPALIVE_S`, before the action server's Sanic closes it (5 s);
- is closed when the server stops (`close_on_stop`, an `after_server_stop` listener added to
  every Sanic app Rasa configures).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)

KEEPALIVE_S = 2.0
_SESSION = "_fastpaths_session"  # the endpoint attribute holding (loop, its kept session)
_open: list[tuple[asyncio.AbstractEventLoop, Any]] = []  # every kept session, until closed


class KeptSession:
    """`async with` gives the endpoint's kept session and leaves it open afterwards."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


def json_dumps(value: Any) -> str:
    """JSON for request bodies: ujson (Sanic's own parser on the action server's side), UTF-8
    text as it is."""
    import ujson

    return ujson.dumps(value, ensure_ascii=False, escape_forward_slashes=False)


def kept_session(endpoint: Any) -> Any:
    """The endpoint's session for the running loop, made as Rasa's `EndpointConfig.session`
    makes one (headers, basic auth, total timeout) when there is none or it was closed."""
    import aiohttp
    from rasa.utils import endpoints

    loop = asyncio.get_running_loop()
    kept = endpoint.__dict__.get(_SESSION)
    if kept is None or kept[0] is not loop or kept[1].closed:
        auth = endpoint.basic_auth
        session = aiohttp.ClientSession(
            headers=endpoint.headers,
            auth=aiohttp.BasicAuth(auth["username"], auth["password"]) if auth else None,
            timeout=aiohttp.ClientTimeout(total=endpoints.DEFAULT_REQUEST_TIMEOUT),
            json_serialize=json_dumps,
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S),
        )
        kept = endpoint.__dict__[_SESSION] = (loop, session)
        _open.append(kept)
    return kept[1]


async def close_kept_sessions() -> int:
    """Closes every kept session of the running loop; returns how many were open."""
    loop = asyncio.get_running_loop()
    mine = [session for owner, session in _open if owner is loop]
    _open[:] = [(owner, s) for owner, s in _open if owner is not loop and not owner.is_closed()]
    for session in mine:
        await session.close()
    return len(mine)


async def close_on_stop(app: Any, loop: Any) -> None:
    """Sanic `after_server_stop` listener."""
    closed = await close_kept_sessions()
    log.info("assistant.fastpaths.kept_sessions.closed %d", closed)


def install() -> None:
    import rasa.core.run
    from rasa.utils.endpoints import EndpointConfig

    def session(self: EndpointConfig) -> Any:
        return KeptSession(kept_session(self))

    rasa_configure_app = rasa.core.run.configure_app

    def configure_app(*args: Any, **kwargs: Any) -> Any:
        app = rasa_configure_app(*args, **kwargs)
        app.register_listener(close_on_stop, "after_server_stop")
        return app

    EndpointConfig.session = session  # type: ignore[method-assign]
    rasa.core.run.configure_app = configure_app

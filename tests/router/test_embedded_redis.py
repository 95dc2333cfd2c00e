"""The embedded redis-server: found without PATH help, AOF in the data folder, shared by processes
started with the same folder."""

from __future__ import annotations

from pathlib import Path

import redis

from router.embedded_redis import find_redis_server, start_or_join


def test_embedded_server_keeps_its_data_in_the_folder_and_is_joined(tmp_path: Path) -> None:
    assert Path(find_redis_server()).name == "redis-server"
    first = start_or_join(tmp_path)
    try:
        assert first.process is not None
        second = start_or_join(tmp_path)  # another router process with the same data folder
        assert (second.port, second.process) == (first.port, None)
        client = redis.Redis.from_url(first.url)
        client.set("router-test:k", "v")
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        client.close()
    finally:
        first.stop()
    assert any(p.name.startswith("appendonly") for p in tmp_path.iterdir())
    again = start_or_join(tmp_path)  # restarted: the AOF brings the data back
    try:
        client = redis.Redis.from_url(again.url)
        assert client.get("router-test:k") == b"v"
        client.close()
    finally:
        again.stop()

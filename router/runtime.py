"""What a running router process holds: built once in the app lifespan."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from router.audit import Audit
from router.engine import Engine
from router.metrics import Metrics
from router.settings import Settings
from router.store import Store


@dataclass
class Runtime:
    settings: Settings
    redis: aioredis.Redis
    engine: Engine
    store: Store
    metrics: Metrics
    audit: Audit

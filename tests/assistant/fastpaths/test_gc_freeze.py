"""assistant.fastpaths.gc_freeze: the model Rasa loads is frozen out of the garbage collector."""

from __future__ import annotations

from assistant.fastpaths import gc_freeze


def test_the_loaded_model_is_frozen_out_of_the_garbage_collector(monkeypatch):
    import asyncio
    import gc

    import rasa.core.run

    loaded = object()

    async def rasa_load(*args, **kwargs):
        return loaded

    monkeypatch.setattr(rasa.core.run, "load_agent_on_start", rasa_load)
    gc_freeze.install()
    try:
        assert asyncio.run(rasa.core.run.load_agent_on_start("model", None)) is loaded
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()

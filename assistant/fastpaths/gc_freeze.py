"""The loaded model frozen out of the garbage collector's sight (fast path `gc_freeze`).

The loaded model is millions of Python objects (TensorFlow, spaCy, the dialogue policies), and
every full collection walked all of them while a customer waited. Once the server has loaded the
model, `gc.freeze()` moves those objects out of the collector's sight; what a turn allocates is
still collected as usual.
"""

from __future__ import annotations

from typing import Any


def freeze_loaded_model() -> None:
    """Moves everything alive now (the loaded model) out of the garbage collector's sight."""
    import gc

    gc.collect()
    gc.freeze()


def install() -> None:
    import rasa.core.run

    rasa_load = rasa.core.run.load_agent_on_start

    async def load_agent_on_start(*args: Any, **kwargs: Any) -> Any:
        agent = await rasa_load(*args, **kwargs)
        freeze_loaded_model()
        return agent

    rasa.core.run.load_agent_on_start = load_agent_on_start  # type: ignore[assignment]

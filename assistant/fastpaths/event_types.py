"""Event classes looked up once by name (fast path `event_types`).

Turning stored events back into objects calls `Event.resolve_by_type`, which walks every subclass
of `Event` for each event of each tracker loaded. Here a name found once is remembered (Rasa's
event classes do not change while the server runs); a name not found still goes through Rasa's
lookup, with its default and its error.
"""

from __future__ import annotations


def install() -> None:
    from rasa.shared.core.events import Event

    rasa_resolve = Event.resolve_by_type
    known: dict[str, type[Event]] = {}

    def resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
        cls = known.get(type_name)
        if cls is None:
            cls = rasa_resolve(type_name, default)
            if cls is not None and cls is not default:
                known[type_name] = cls
        return cls

    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]

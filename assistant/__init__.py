"""The assistant's extensions of Rasa 3.6 (Python 3.10 environment).

- `assistant.server`: the Rasa server's entry point (`python -m assistant.server run …`): Rasa's
  command line with safer defaults and the fast paths installed.
- `assistant.fastpaths`: cheaper ways for Rasa to do what it does on every message, each a
  named, switchable replacement of a Rasa internal, installed only on the Rasa version they
  were written against.
- `assistant.tracker_store`: the tracker stores named in endpoints files: durable and shared by
  the instances (SQLite or PostgreSQL), or in memory; conversations expire.
- `assistant.gateway_channel`: the input channel named in credentials.yml (the router's gateway;
  a retried turn is answered once).

Rasa's own extension points (endpoints.yml, credentials.yml) are used where Rasa has one; what
can only be done by replacing Rasa's internals lives in `assistant.fastpaths`.
"""

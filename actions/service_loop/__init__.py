"""The ticket service (issue 18): the /v1 routes the router calls on the action server (api.py),
and its pure parts — request bodies (bodies.py), JSON views (views.py), the texts customers and
supervisors read (notices.py), the deadline watcher's decisions (watch.py) and feedback tokens
(links.py). Importing the package imports nothing else (the store imports the pure modules)."""

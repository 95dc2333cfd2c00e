"""The customer gateway: customers talk to the router over WebSocket or REST; their turns go to
the assistant while the bot owns the conversation, and to the assigned agent after a handoff.

Mounted on the router app by `router.gateway.mount.install` (router/app.py's create_app). Its
settings are the router's (`Settings.gateway`, router/gateway/settings.py), its keys are in the
router's table (router/keys.py, "gw:…") and its changes to Redis are the engine's scripts
(router/chat_scripts.py). This file imports nothing, so that router/settings.py can import the
gateway's settings without the rest of the gateway.
"""

"""The voice channel of the customer gateway: phone calls through a voice gateway's transcripts
(the voice contract, docs/contracts.md; api.py), Jambonz's webhooks over it (jambonz.py)."""

"""This test run's secrets, generated once (one module, so every importer gets the same values;
tests never use a published value, which check_secret refuses)."""

from telecom.secrets import new_secret

PEPPER = new_secret()
IDENTITY_SECRET = new_secret()

"""Analysts: their records and token hashes in Redis (router/keys.py `analyst`, `analysts`),
issued and revoked by the admin (router/analysis/api.py), in the staff store (router/staff.py:
checked on every request, no cache). What a deleted analyst annotated stays in the archive
under its id.
"""

from __future__ import annotations

from router import errors
from router.keys import Keys
from router.models import AnalystPublic
from router.staff import StaffRole, StaffStore


def analyst_public(analyst_id: str, fields: dict[str, str]) -> AnalystPublic:
    return AnalystPublic(
        analyst_id=analyst_id,
        display_name=fields.get("display_name", ""),
        created_ms=int(fields.get("created_ms") or 0),
    )


class Analysts(StaffStore[AnalystPublic]):
    role = StaffRole(Keys.analyst, Keys.analysts, analyst_public, errors.NoSuchAnalyst)

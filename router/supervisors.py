"""Supervisors: their records and token hashes in Redis (router/keys.py `supervisor`,
`supervisors`), issued, rotated and revoked by the admin (router/api/supervisors.py), in the
staff store (router/staff.py: checked on every request, no cache). Supervisors make few
requests; the wallboard's stream checks again before each push.
"""

from __future__ import annotations

from router import errors
from router.keys import Keys
from router.models import SupervisorPublic
from router.staff import StaffRole, StaffStore


def supervisor_public(supervisor_id: str, fields: dict[str, str]) -> SupervisorPublic:
    return SupervisorPublic(
        supervisor_id=supervisor_id,
        display_name=fields.get("display_name", ""),
        created_ms=int(fields.get("created_ms") or 0),
    )


class Supervisors(StaffStore[SupervisorPublic]):
    role = StaffRole(Keys.supervisor, Keys.supervisors, supervisor_public, errors.NoSuchSupervisor)

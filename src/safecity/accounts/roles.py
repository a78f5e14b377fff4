"""The roles a user can hold (their permissions are the API's table, `safecity.api.permissions`)."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    INVESTIGATOR = "investigator"
    AUDITOR = "auditor"
    ADMIN = "admin"
    FIELD_UNIT = "field-unit"
    NATIONAL_VIEWER = "national-viewer"  # federation: aggregates and redacted summaries of every city
    NATIONAL_OPERATOR = "national-operator"  # ... and may ask a city for an incident's redacted media

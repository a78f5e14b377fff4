"""Built-in catalogues: incident types with their SOP checklists, and public report categories.

An incident copies its type's checklist when it is created, so a later change to the catalogue never
rewrites what an operator ticked on an old incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from safecity.operations.domain import Severity


@dataclass(frozen=True, slots=True)
class ChecklistStep:
    id: str
    text: str


@dataclass(frozen=True, slots=True)
class IncidentType:
    id: str
    name: str
    default_priority: Severity
    checklist: tuple[ChecklistStep, ...]


def _steps(*pairs: tuple[str, str]) -> tuple[ChecklistStep, ...]:
    return tuple(ChecklistStep(i, text) for i, text in pairs)


_TYPES = (
    IncidentType("crowding", "Crowding", Severity.HIGH, _steps(
        ("confirm", "Confirm the crowd on camera and estimate its size and trend"),
        ("steward", "Inform the venue or event stewards"),
        ("routes", "Open alternative routes or meter access to the area"),
        ("unit", "Send a unit to manage the flow on site"),
        ("monitor", "Monitor until occupancy is back below the threshold"),
    )),
    IncidentType("lost_person", "Lost person", Severity.HIGH, _steps(
        ("describe", "Record a description: age, clothing, language, last seen where and when"),
        ("cameras", "Review cameras around the last known location"),
        ("broadcast", "Alert field units and tourism staff with the description"),
        ("points", "Check meeting points and information desks"),
        ("police", "Notify the police at once if the person is a minor or vulnerable"),
        ("reunite", "Reunite and confirm identity with the reporting person"),
    )),
    IncidentType("theft", "Theft", Severity.MEDIUM, _steps(
        ("victim", "Make sure the victim is safe and reachable"),
        ("details", "Record what was taken, when and where"),
        ("review", "Review nearby cameras for the time window"),
        ("statement", "Send a unit to take a statement"),
        ("reference", "Give the victim the police report reference"),
    )),
    IncidentType("medical", "Medical emergency", Severity.CRITICAL, _steps(
        ("ems", "Call emergency medical services (112)"),
        ("first_aid", "Send the nearest unit trained in first aid"),
        ("access", "Keep the access route clear for the ambulance"),
        ("handover", "Hand over to the paramedics"),
        ("outcome", "Record the outcome"),
    )),
    IncidentType("public_disorder", "Public disorder", Severity.HIGH, _steps(
        ("assess", "Assess numbers and any weapons on camera"),
        ("units", "Send at least two units"),
        ("bystanders", "Keep bystanders away"),
        ("backup", "Request police backup if it escalates"),
        ("evidence", "Record evidence references (events, clips)"),
    )),
    IncidentType("suspicious_object", "Suspicious object", Severity.CRITICAL, _steps(
        ("no_touch", "Tell everyone on site not to touch or move the object"),
        ("cordon", "Set up a cordon of at least 100 m"),
        ("police", "Notify the police and bomb disposal"),
        ("evacuate", "Evacuate people near the object"),
        ("watch", "Keep a camera on the object"),
        ("all_clear", "Confirm the all-clear before reopening"),
    )),
    IncidentType("other", "Other", Severity.MEDIUM, _steps(
        ("assess", "Assess the situation"),
        ("act", "Send a unit or inform the competent service if needed"),
        ("outcome", "Record the outcome"),
    )),
)  # fmt: skip

INCIDENT_TYPES: MappingProxyType[str, IncidentType] = MappingProxyType({t.id: t for t in _TYPES})

# Public report category -> the incident type a triaged report becomes.
REPORT_CATEGORIES: MappingProxyType[str, str] = MappingProxyType(
    {
        "theft": "theft",
        "lost_person": "lost_person",
        "medical": "medical",
        "harassment": "public_disorder",
        "public_disorder": "public_disorder",
        "suspicious_object": "suspicious_object",
        "crowding": "crowding",
        "vandalism": "other",
        "hazard": "other",
        "other": "other",
    }
)

# Event kind -> the incident type an incident opened from such an alert defaults to.
KIND_TO_INCIDENT_TYPE: MappingProxyType[str, str] = MappingProxyType(
    {"crowding": "crowding", "loitering": "other", "camera_dark": "other"}
)


def incident_type(type_id: str) -> IncidentType:
    try:
        return INCIDENT_TYPES[type_id]
    except KeyError:
        raise ValueError(f"unknown incident type {type_id!r}; one of {', '.join(INCIDENT_TYPES)}") from None

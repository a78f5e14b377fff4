"""Rules turn tracks into events: line crossings, zone occupancy, crowding, loitering."""

from safecity.rules.engine import CameraRules, RuleHit

__all__ = ["CameraRules", "RuleHit"]

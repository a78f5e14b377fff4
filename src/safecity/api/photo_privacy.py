"""Uploaded photos (public reports, field-unit messages) stored without faces or plates: the redactor the
upload routes blur their stored copy with (DESIGN: stored pictures have faces and plates blurred unless a
privileged, audited request asks otherwise)."""

from __future__ import annotations

from safecity.app import App
from safecity.media.face_redaction import default_redactor
from safecity.media.plate_redaction import PhotoPlateRedactor, RedactorChain, default_plate_redactor
from safecity.media.redaction import Redactor


def photo_redactor(node: App) -> Redactor:
    """Faces (the node's face redactor), then plates anywhere in the photo (`plates.redact`, the default).
    Both fail closed: without their model the whole photo is obscured."""
    faces: Redactor = node.biometrics.redactor if node.biometrics is not None else default_redactor()
    plates = node.factory.plates if node.factory is not None else None
    if plates is not None:
        masker = plates.photo_redactor()
    elif node.settings.plates.redact:
        masker = PhotoPlateRedactor(default_plate_redactor())
    else:
        masker = None
    return RedactorChain(faces, masker) if masker is not None else faces

"""Field types shared by the settings and the API schemas of operations.

Bounded on purpose: ids fit a 32-bit database integer, free text has no NUL (PostgreSQL refuses it in
text columns), identifiers follow the camera id pattern; a request outside these bounds is a 422, never a
database error.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
DbId = Annotated[int, Field(ge=1, le=2_147_483_647)]
Ident = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$", description="An id (camera, zone...)")
]
Lat = Annotated[float, Field(ge=-90, le=90, description="WGS84 latitude")]
Lon = Annotated[float, Field(ge=-180, le=180, description="WGS84 longitude")]

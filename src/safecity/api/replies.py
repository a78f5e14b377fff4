"""JSON answers of the busiest read routes, serialised by the endpoint itself.

FastAPI serialises a sync endpoint's return value in two steps: it validates it against the route's
`response_model` on a worker thread (one more thread hop per request, for a value that is already that
model), then dumps it with the response field's `TypeAdapter.dump_json`. `json_reply` does the second step
alone, with the same serializer and options (`by_alias`, nothing excluded), so the bytes are the same; the
route keeps its `response_model` for the OpenAPI schema. Under 200 operators each thread hop cost more CPU
than the work it carried (docs/performance.md, "API load").

The session is committed first (when given): the read transaction ends in the endpoint's own thread, so the
session's end needs no thread of its own (`deps.get_session`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import Response
from pydantic import BaseModel, TypeAdapter
from sqlalchemy.orm import Session


@cache
def adapter(tp: type[BaseModel]) -> TypeAdapter[Any]:
    """One adapter per response model (building one compiles a serializer)."""
    return TypeAdapter(tp)


def json_reply(value: BaseModel, db: Session | None = None) -> Response:
    """`value` (of the route's `response_model`) as FastAPI would send it."""
    body = adapter(type(value)).dump_json(value, by_alias=True)
    if db is not None:
        db.commit()
    return Response(body, media_type="application/json")

"""Error responses: every 4xx/5xx body is JSON `{"detail": "<reason>"}` (422 adds `errors`)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


def _where(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body",)] if isinstance(loc, list | tuple) else []
    return ".".join(parts) or "request"


def _validation_detail(errors: list[Any]) -> str:
    first = errors[0] if errors else {}
    where = _where(first.get("loc", ()))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"


def _jsonable_errors(errors: list[Any]) -> list[dict[str, Any]]:
    return [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": e.get("type")}
        for e in errors
    ]


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    body = {"detail": _validation_detail(errors), "errors": _jsonable_errors(errors)}
    return JSONResponse(body, status_code=422)


async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
    # a number larger than the database's 64-bit integers (an id in a path, a query bound) is bad input;
    # SQLite raises OverflowError, PostgreSQL a DataError ("out of range")
    return JSONResponse({"detail": "a number in the request is out of range"}, status_code=422)


async def _statement_error(request: Request, exc: Exception) -> JSONResponse:
    # SQLAlchemy wraps what a bind parameter's conversion raised: a date at the edge of the calendar
    # (0001-01-01T00:00:00+14:00 is before year 1 in UTC) overflows when converted to UTC
    assert isinstance(exc, StatementError)
    if isinstance(exc.orig, OverflowError | ValueError):
        return JSONResponse({"detail": "a date or number in the request is out of range"}, status_code=422)
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "internal error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DataError, _out_of_range)
    app.add_exception_handler(StatementError, _statement_error)
    app.add_exception_handler(Exception, _unexpected)

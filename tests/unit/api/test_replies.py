"""`json_reply` (the busiest read routes serialise their own answer) sends the bytes and content type that
FastAPI's own serialisation of the route's `response_model` sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from fastapi import FastAPI, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from safecity.api.replies import json_reply


class Item(BaseModel):
    id: int
    name: str
    at: datetime
    score: float | None
    kind: str = Field(alias="type")


class Page(BaseModel):
    items: list[Item]
    total: int


PAGE = Page(
    items=[
        Item(id=1, name="Bahnhofstraße ☂", at=datetime(2026, 12, 4, 23, 1, 2, 345678, UTC), score=0.1,
             type="a"),
        Item(id=2, name='quote " and \\ slash', at=datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2))),
             score=None, type="b"),
        Item(id=3, name="", at=datetime(2026, 1, 1, 0, 0, 0, 1, UTC), score=1e-7, type="c"),
    ],
    total=3,
)  # fmt: skip


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/fastapi", response_model=Page)
    def by_fastapi() -> Page:
        return PAGE

    @app.get("/reply", response_model=Page)
    def by_reply() -> Response:
        return json_reply(PAGE)

    return app


def test_json_reply_sends_what_fastapi_sends() -> None:
    client = TestClient(_app())
    mine, reference = client.get("/reply"), client.get("/fastapi")
    assert mine.status_code == reference.status_code == 200
    assert mine.content == reference.content
    assert mine.headers["content-type"] == reference.headers["content-type"]
    assert mine.headers["content-length"] == reference.headers["content-length"]
    assert b'"type":"a"' in client.get("/reply").content  # by alias, as FastAPI does


def test_the_schema_still_comes_from_the_response_model() -> None:
    paths = TestClient(_app()).get("/openapi.json").json()["paths"]
    ok = "200"
    assert paths["/reply"]["get"]["responses"][ok] == paths["/fastapi"]["get"]["responses"][ok]

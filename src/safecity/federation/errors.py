"""Errors of federation services; each declares the HTTP status the API answers with."""

from __future__ import annotations


class FederationError(Exception):
    http_status = 400


class NotFound(FederationError):
    http_status = 404


class Conflict(FederationError):
    http_status = 409

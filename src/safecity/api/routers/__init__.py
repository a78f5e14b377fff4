"""API routers by domain. Every module here with a module-level `router: fastapi.APIRouter` is mounted by
`create_api`, under `PREFIX` (module attribute, default "/api"), in module-name order. Optional module
hooks: `on_start(node: App) -> None` and `on_stop(node: App) -> None`, called in the service's lifespan
(after the camera workers start, before they stop).

A router's routes must depend on `safecity.api.deps.require(...)` (tests/unit/api checks every route);
public routes exist only under `/api/public/` (plus login and `/healthz`).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from fastapi import APIRouter


def discover() -> list[ModuleType]:
    """The router modules of this package, imported, in name order."""
    modules = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if isinstance(getattr(module, "router", None), APIRouter):
            modules.append(module)
    return modules

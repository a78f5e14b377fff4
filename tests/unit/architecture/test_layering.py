"""Imports run one way: api/cli -> app (composition) -> runtime/cluster -> domains -> infrastructure ->
types/config (docs/architecture.md). An AST walk over src/safecity finds every import, lazy and
TYPE_CHECKING ones included, and checks it against the rules below; the last tests run the same checker
on synthetic packages to show that a wrong-way import is caught."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import safecity

SRC = Path(safecity.__file__).resolve().parent
DOMAINS = ("accounts", "operations", "biometrics", "recording", "analytics", "governance")
INFRASTRUCTURE = ("bus", "store", "media", "ingest", "vision", "rules")
BASE = ("types", "config")
SETTINGS_MODULE = re.compile(r"\.(\w+_)?config$")  # a package's settings section: plain pydantic


@dataclass(frozen=True)
class Rule:
    why: str
    importers: tuple[str, ...]  # packages under safecity (a module or a package prefix)
    forbidden: tuple[str, ...]
    exempt: tuple[str, ...] = ()  # importer modules the rule does not apply to (with the reason in `why`)

    def applies(self, module: str) -> bool:
        return _under(module, self.importers) and not _under(module, self.exempt)

    def refuses(self, target: str) -> bool:
        return _under(target, self.forbidden) and not SETTINGS_MODULE.search(target)


RULES = (
    Rule(
        "only the entry points (api, cli, the composition root app.py) may import the API or the CLI",
        importers=("safecity",),
        forbidden=("api", "cli"),
        exempt=("api", "cli", "app"),
    ),
    Rule(
        "infrastructure and base never import a domain, the runtime or the composition root; the migrations "
        "may read every package's models (they are the schema) and config the settings sections",
        importers=INFRASTRUCTURE + BASE,
        forbidden=(*DOMAINS, "pipeline", "runtime", "cluster", "app"),
        exempt=("store.migrations",),
    ),
    Rule(
        "domains receive narrow dependencies: they never import the runtime, the cluster or the node (App)",
        importers=DOMAINS,
        forbidden=("runtime", "cluster", "app"),
    ),
    Rule(
        "the camera runtime and the pipeline are built by the composition root, never the reverse",
        importers=("runtime", "pipeline", "cluster"),
        forbidden=("app",),
        exempt=("cluster.commands",),  # an entry point (`safecity consume`), like the CLI
    ),
)


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    name = module.removeprefix("safecity").removeprefix(".")
    return any(p == "safecity" or name == p or name.startswith(p + ".") for p in prefixes)


def module_name(root: Path, path: Path) -> str:
    parts = ["safecity", *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(root: Path, name: str) -> bool:
    rel = Path(*name.split(".")[1:])
    return (root / rel).with_suffix(".py").is_file() or (root / rel / "__init__.py").is_file()


def imports(root: Path, path: Path) -> set[str]:
    """Every safecity module `path` imports (absolute and relative; lazy and TYPE_CHECKING ones too)."""
    me = module_name(root, path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            # `from safecity import api`: the name is a module when a file or package of that name exists
            found.update(f"{base}.{a.name}" for a in node.names if _is_module(root, f"{base}.{a.name}"))
    return {m for m in found if m == "safecity" or m.startswith("safecity.")}


def violations(root: Path) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        if "node_modules" in path.parts:
            continue
        me = module_name(root, path)
        for target in sorted(imports(root, path)):
            if target.split(".")[:2] == me.split(".")[:2]:
                continue  # within one package
            for rule in RULES:
                if rule.applies(me) and rule.refuses(target):
                    out.append(f"{me} imports {target}: {rule.why}")
    return out


def test_the_source_tree_follows_the_layers() -> None:
    assert violations(SRC) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "safecity"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    ("module", "source", "rule"),
    [
        ("operations/bad.py", "from safecity.api.deps import Principal\n", "entry points"),
        ("config/bad.py", "def f():\n    import safecity.api.settings\n", "entry points"),  # lazy
        ("accounts/bad.py", "from ..api import permissions\n", "entry points"),  # relative
        ("store/migrations/versions/bad.py", "from safecity.api import camera_store\n", "entry points"),
        ("bus/bad.py", "from safecity.operations.engine import AlertEngine\n", "infrastructure"),
        ("media/bad.py", "from safecity.runtime.camera import CameraFactory\n", "infrastructure"),
        (
            "recording/bad.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from safecity.app import App\n",
            "narrow dependencies",
        ),
        ("cluster/worker.py", "from safecity.app import build_app\n", "composition root"),
    ],
)
def test_a_wrong_way_import_is_caught(tmp_path: Path, module: str, source: str, rule: str) -> None:
    root = _tree(tmp_path, {"__init__.py": "", module: source})
    found = violations(root)
    assert len(found) == 1 and rule in found[0], found


def test_allowed_imports_pass(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "api/routes.py": "from safecity.operations import engine\nfrom safecity.app import App\n",
            "operations/engine.py": "from safecity.store.models import Base\nfrom safecity.bus import base\n",
            "config/models.py": "from safecity.operations.config import OperationsConfig\n",
            "store/migrations/env.py": "import safecity.operations.models\n",
            "runtime/camera.py": "from safecity.biometrics.runtime import Biometrics\n",
        },
    )
    assert violations(root) == []

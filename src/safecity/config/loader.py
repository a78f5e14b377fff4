"""Load the YAML settings file; a validation error names the key path and the line it is on."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from safecity.config.models import Settings


class ConfigError(Exception):
    """A settings file that cannot be used; `problems` has one line per bad key."""

    def __init__(self, path: Path | str, problems: Sequence[str]) -> None:
        self.path = str(path)
        self.problems = list(problems)
        super().__init__(f"{self.path}: invalid configuration\n" + "\n".join(f"  {p}" for p in self.problems))


def _node_for(root: yaml.Node | None, loc: Sequence[int | str]) -> yaml.Node | None:
    """Walk the composed YAML tree along a pydantic error location; stop at the deepest existing node."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(part)), None)
            if child is None:
                return node
            node = child
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


def _key_path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def _nul_paths(data: Any, loc: tuple[int | str, ...] = ()) -> list[tuple[int | str, ...]]:
    if isinstance(data, str):
        return [loc] if "\x00" in data else []
    if isinstance(data, dict):
        out = [(*loc, str(k)) for k in data if isinstance(k, str) and "\x00" in k]
        return out + [p for k, v in data.items() for p in _nul_paths(v, (*loc, str(k)))]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _nul_paths(v, (*loc, i))]
    return []


def _where(root: yaml.Node | None, loc: Sequence[int | str]) -> str:
    node = _node_for(root, loc)
    line = f"line {node.start_mark.line + 1}: " if node is not None else ""
    return f"{line}{_key_path(loc)}: "


def parse_settings(text: str, source: Path | str = "<string>") -> Settings:
    try:
        root = yaml.compose(text)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError(source, [f"{where}not valid YAML: {getattr(exc, 'problem', exc)}"]) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, ["line 1: the file must be a mapping of settings"])
    nul = _nul_paths(data)
    if nul:  # no path, URL or name may hold a NUL (found by fuzzing: paths raised deep inside)
        raise ConfigError(source, [_where(root, loc) + "contains a NUL character" for loc in nul])
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [p for p in err["loc"] if isinstance(p, int | str)]
            node = _node_for(root, loc)
            line = f"line {node.start_mark.line + 1}: " if node is not None else ""
            problems.append(f"{line}{_key_path(loc)}: {err['msg']}")
        raise ConfigError(source, problems) from exc


def load_settings(path: Path | str) -> Settings:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(p, [f"cannot read: {exc.strerror or exc}"]) from exc
    settings = parse_settings(text, p)
    try:
        return _resolve_relative(settings, p.parent)
    except (OSError, ValueError) as exc:  # a path the file system cannot take
        raise ConfigError(p, [f"a path in the file cannot be used: {exc}"]) from exc


def _resolve_relative(settings: Settings, base: Path) -> Settings:
    """Relative paths in a file are relative to that file, as its reader expects."""
    storage = settings.storage
    storage = storage.model_copy(
        update={
            "data_dir": (base / storage.data_dir).resolve(),
            "media_dir": (base / storage.media_dir).resolve() if storage.media_dir else None,
        }
    )
    models = settings.models
    if models.cache_dir is not None:
        models = models.model_copy(update={"cache_dir": (base / models.cache_dir).resolve()})
    cams = []
    for cam in settings.cameras:
        src = cam.source
        if "://" not in src and not Path(src).is_absolute():
            src = str((base / src).resolve())
        cams.append(cam.model_copy(update={"source": src}))
    return settings.model_copy(update={"cameras": tuple(cams), "storage": storage, "models": models})

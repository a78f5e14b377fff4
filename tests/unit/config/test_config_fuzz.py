"""Property-based fuzzing of the settings loader (hypothesis): whatever the file holds, loading it gives
Settings or a ConfigError that names where the problem is, never another exception (a traceback)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safecity.config import Settings
from safecity.config.loader import ConfigError, load_settings, parse_settings

FUZZ = settings(max_examples=300, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))  # fmt: skip

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["\x00", "../../etc/passwd", "~", "-1", "1e999", "nan", "rtsp://", "a\x00b", "1" * 400]),
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def _key_paths(model: type[Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every settings key path, from the pydantic models (sections and their fields)."""
    out = []
    for name, field in model.model_fields.items():
        path = (*prefix, name)
        out.append(path)
        annotation = field.annotation
        if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
            out.extend(_key_paths(annotation, path))
    return out


KEY_PATHS = _key_paths(Settings)


def _set(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    node = doc
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value
    return doc


def _load(text: str) -> Settings | ConfigError:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "settings.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            return load_settings(path)
        except ConfigError as exc:
            assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
            return exc


@given(text=st.text(max_size=400))
@FUZZ
def test_any_text(text: str) -> None:
    _load(text)


@given(changes=st.lists(st.tuples(st.sampled_from(KEY_PATHS), VALUES), min_size=1, max_size=4))
@FUZZ
def test_any_value_at_any_key(changes: list[tuple[tuple[str, ...], Any]]) -> None:
    doc: dict[str, Any] = {"storage": {"data_dir": "var"}}
    for path, value in changes:
        _set(doc, path, value)
    result = _load(yaml.safe_dump(doc, allow_unicode=True))
    if isinstance(result, ConfigError):  # the reason names a key that was given
        given_keys = {part for path, _ in changes for part in path}
        assert any(key in str(result) for key in given_keys) or "line" in str(result), str(result)


@given(doc=st.dictionaries(st.text(max_size=12), VALUES, max_size=5))
@FUZZ
def test_unknown_sections_and_junk(doc: dict[str, Any]) -> None:
    _load(yaml.safe_dump(doc, allow_unicode=True))


def test_known_bad_inputs_name_the_key() -> None:
    cases = {
        'storage: {data_dir: "a\\0b"}\n': "storage.data_dir",
        'cameras: [{id: c, source: "x\\0y"}]\n': "cameras[0].source",
        "api: {port: 99999}\n": "api.port",
        "bus: {password: p}\n": "bus",
        "- a list\n": "mapping",
        "storage: [1, 2]\n": "storage",
        "\t: bad yaml": "YAML",
    }
    for text, key in cases.items():
        result = _load(text)
        assert isinstance(result, ConfigError), text
        assert key in str(result), (text, str(result))
    parse_settings("{}")  # the empty mapping is the embedded default

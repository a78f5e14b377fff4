from pathlib import Path

import pytest

from safecity.config import ConfigError, load_settings, parse_settings

GOOD = """
storage:
  data_dir: data
cameras:
  - id: cam1
    source: clips/a.mp4
    fps: 5
    lines:
      - {id: l1, start: [0, 10], end: [100, 10], in_name: north, out_name: south}
    zones:
      - id: z1
        polygon: [[0, 0], [10, 0], [10, 10]]
        crowding: {threshold: 3}
        loitering: {after_s: 30}
  - id: cam2
    source: rtsp://127.0.0.1:8554/cam
"""


def test_good_file_loads_and_resolves_relative_paths(tmp_path: Path) -> None:
    f = tmp_path / "safecity.yaml"
    f.write_text(GOOD)
    s = load_settings(f)
    assert s.cameras[0].source == str(tmp_path / "clips/a.mp4")
    assert s.cameras[1].source == "rtsp://127.0.0.1:8554/cam"
    assert s.storage.data_dir == tmp_path / "data"
    assert s.storage.resolved_database_url == f"sqlite:///{tmp_path / 'data' / 'safecity.db'}"
    assert s.cameras[0].zones[0].crowding is not None and s.cameras[0].zones[0].crowding.threshold == 3


def test_unknown_key_is_named_with_its_line() -> None:
    text = GOOD.replace("    fps: 5\n", "    fps: 5\n    fsp: 7\n")
    with pytest.raises(ConfigError) as err:
        parse_settings(text, "x.yaml")
    assert err.value.problems == ["line 8: cameras[0].fsp: Extra inputs are not permitted"]


def test_bad_value_is_named_with_its_line() -> None:
    text = GOOD.replace("crowding: {threshold: 3}", "crowding: {threshold: 0}")
    with pytest.raises(ConfigError) as err:
        parse_settings(text)
    (problem,) = err.value.problems
    assert problem.startswith("line 13: cameras[0].zones[0].crowding.threshold:")


def test_duplicate_ids_and_degenerate_line_are_refused() -> None:
    with pytest.raises(ConfigError, match="camera ids must be unique: a"):
        parse_settings("cameras: [{id: a, source: x}, {id: a, source: y}]")
    with pytest.raises(ConfigError, match="two different points"):
        parse_settings("cameras: [{id: a, source: x, lines: [{id: l, start: [1, 1], end: [1, 1]}]}]")


def test_unknown_class_and_broken_yaml() -> None:
    with pytest.raises(ConfigError, match=r"classes\[0\]"):
        parse_settings("classes: [unicorn]")
    with pytest.raises(ConfigError, match=r"line [0-9]+: not valid YAML"):
        parse_settings("cameras:\n  - id: [a\n    source: x\n  bad: ]\n")


def test_missing_file_is_reported_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml"):
        load_settings(tmp_path / "nope.yaml")


def test_shipped_demo_config_is_valid() -> None:
    s = load_settings(Path(__file__).resolve().parents[3] / "config" / "pets2009.yaml")
    assert s.cameras[0].lines and s.cameras[0].zones

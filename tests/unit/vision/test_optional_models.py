"""Optional models (installed only with `safecity models install --with NAME`): naming and hints."""

from __future__ import annotations

from pathlib import Path

import pytest

from safecity.vision.models import (
    MODELS,
    ModelInstallError,
    ModelNotInstalledError,
    install_models,
    model_path,
)


def test_centernet_is_optional_and_nanodet_is_not() -> None:
    optional = {spec.name: spec.optional for spec in MODELS}
    assert optional == {"nanodet-m-416": False, "centernet-512": True}


def test_an_unknown_extra_is_refused_before_anything_is_fetched(tmp_path: Path) -> None:
    with pytest.raises(ModelInstallError, match=r"unknown model yolo-x.*centernet-512"):
        install_models(tmp_path, extra=["yolo-x"])
    assert not (tmp_path / "manifest.json").exists()


def test_a_missing_optional_model_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(ModelNotInstalledError, match=r"install --with centernet-512"):
        model_path(tmp_path, "centernet-512")
    with pytest.raises(ModelNotInstalledError, match=r"run `safecity models install`$"):
        model_path(tmp_path, "nanodet-m-416")


def test_cli_refuses_an_unknown_optional_model_before_fetching(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from safecity.cli import app

    result = CliRunner().invoke(app, ["models", "install", "--cache-dir", str(tmp_path), "--with", "yolo-x"])
    assert result.exit_code == 2
    assert "optional models are centernet-512" in result.output
    assert not any(tmp_path.iterdir())

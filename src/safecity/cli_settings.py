"""The `--config` option shared by the `safecity` sub-commands, and loading settings from it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from safecity.config import ConfigError, Settings, load_settings

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Settings YAML (default: embedded defaults)")
]


def settings_from_option(config: Path | None) -> Settings:
    """`config` loaded (embedded defaults when None); an invalid file exits with status 2 and its error."""
    if config is None:
        return Settings()
    try:
        return load_settings(config)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc

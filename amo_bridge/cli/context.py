"""What every command shares: the env file, the validated settings, logging and the store."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import click

from amo_bridge.config import Settings, load_settings
from amo_bridge.errors import ConfigError, ConfigProblem
from amo_bridge.logs import setup_logging
from amo_bridge.store import Store

CONFIG_EXIT_CODE = 2


def fail_config(error: ConfigError) -> NoReturn:
    click.echo(f"amo-bridge: {error}", err=True)
    sys.exit(CONFIG_EXIT_CODE)


@dataclass
class AppContext:
    env_file: Path
    env_file_explicit: bool

    @functools.cached_property
    def settings(self) -> Settings:
        """The validated settings; on a bad value, print every problem and exit with status 2."""
        try:
            return load_settings(env_file=self.env_file, env_file_required=self.env_file_explicit)
        except ConfigError as error:
            fail_config(error)

    def require(self, problems: list[ConfigProblem]) -> None:
        """Exit with status 2 if a command's required settings are missing."""
        if problems:
            fail_config(ConfigError(problems))

    def setup_logging(self) -> None:
        setup_logging(self.settings.log.level, self.settings.log.format)

    def open_store(self, *, migrate: bool = True) -> Store:
        """The store named by ``DATABASE_URL``, upgraded to the newest schema unless told not to."""
        store = Store(self.settings.store.database_url)
        if migrate:
            store.upgrade()
        return store


pass_app = click.make_pass_decorator(AppContext)

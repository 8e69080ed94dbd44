"""WSGI entry point for production: ``gunicorn 'webhooks.wsgi:app'``.

Reads the configuration like the ``amo-bridge`` command (environment, then ``.env`` or the file
named by ``AMO_BRIDGE_ENV_FILE``), refuses to start without ``WEBHOOK_SECRET``, migrates the store
(safe from several processes at once) and builds the app.
"""

from __future__ import annotations

import os
from pathlib import Path

from amo_bridge.config import load_settings
from amo_bridge.errors import ConfigError
from amo_bridge.logs import setup_logging
from amo_bridge.store import Store
from webhooks.app import create_app

_env_file = os.environ.get("AMO_BRIDGE_ENV_FILE")
settings = load_settings(env_file=Path(_env_file or ".env"), env_file_required=bool(_env_file))
if settings.webhooks.serve_problems():
    raise ConfigError(settings.webhooks.serve_problems())
setup_logging(settings.log.level, settings.log.format)
store = Store(settings.store.database_url)
store.upgrade()
app = create_app(settings, store)

"""Configuration: the environment and an env file, read once into a frozen, validated object."""

from amo_bridge.config.loader import known_variables, load_settings, section_types
from amo_bridge.config.settings import (
    AmoSettings,
    LogSettings,
    Settings,
    StoreSettings,
    WebhookSettings,
    WorkerSettings,
)

__all__ = [
    "AmoSettings",
    "LogSettings",
    "Settings",
    "StoreSettings",
    "WebhookSettings",
    "WorkerSettings",
    "known_variables",
    "load_settings",
    "section_types",
]

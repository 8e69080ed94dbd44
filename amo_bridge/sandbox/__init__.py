"""A faithful local amoCRM: API v4, OAuth, webhooks out, limits and faults, a seeded account and a
scenario of a working day. It stands alone: none of amo-bridge's business logic is imported here, so
that it can disagree with it. See docs/sandbox.md."""

from amo_bridge.sandbox.admin import SandboxAdmin
from amo_bridge.sandbox.app import create_app, sandbox_of
from amo_bridge.sandbox.core import Sandbox, SandboxConfig
from amo_bridge.sandbox.server import SandboxServer

__all__ = ["Sandbox", "SandboxAdmin", "SandboxConfig", "SandboxServer", "create_app", "sandbox_of"]

"""amo-bridge: automation backend for amoCRM."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("amo-bridge")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

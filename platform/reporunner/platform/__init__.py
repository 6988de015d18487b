"""reporunner.platform: settings, database, engine, worker, API, CLI and embedded services."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("reporunner")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"

__all__ = ["__version__"]

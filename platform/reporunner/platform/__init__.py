"""reporunner.platform: settings, database, engine, worker, API, CLI and embedded services."""

import os
from importlib.metadata import PackageNotFoundError, version

# litellm fetches its price map from GitHub when first imported (and retries in a background
# thread) unless told to use the bundled copy; a self-hosted platform must not call out on its
# own. Set LITELLM_LOCAL_MODEL_COST_MAP=False to let it fetch.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

try:
    __version__ = version("reporunner")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"

__all__ = ["__version__"]

"""Wheel build hook: ship the built web app inside the package (no Node needed to install).

``web/dist`` (Vite's output, built by ``make web``) goes to ``reporunner/platform/web_dist`` in
the wheel, where the API looks first. A wheel built without it still works (API only) and the
build says so; editable installs serve ``web/dist`` of the checkout directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class WebDistBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        dist = Path(self.root) / "web" / "dist"
        if (dist / "index.html").is_file():
            build_data["force_include"][str(dist)] = "reporunner/platform/web_dist"
        else:
            self.app.display_warning(
                "web/dist is not built: this wheel serves the API only (run `make web` first)"
            )

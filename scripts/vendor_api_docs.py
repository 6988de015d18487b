"""Refresh the vendored Swagger UI that ``/docs`` serves (no CDN at run time).

Usage::

    python scripts/vendor_api_docs.py            # the version pinned in VENDORED.json
    python scripts/vendor_api_docs.py 5.36.0     # another version of swagger-ui-dist

It asks npm for the ``swagger-ui-dist`` package (``npm pack``, the ordinary client), copies
the bundle, its stylesheet and licence into
``platform/reporunner/platform/api/docs_assets/`` and records the version and each file's
subresource-integrity hash (sha384) in ``VENDORED.json``. The page computes the same hashes
from the files it serves; ``tests/security/test_api_docs_assets.py`` checks that they agree.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[1] / "platform/reporunner/platform/api/docs_assets"
PACKAGE = "swagger-ui-dist"
FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE")


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def main(argv: list[str]) -> int:
    manifest_path = ASSETS / "VENDORED.json"
    pinned = json.loads(manifest_path.read_text())["version"] if manifest_path.exists() else None
    version = argv[0] if argv else pinned
    if not version:
        print("name a version: python scripts/vendor_api_docs.py 5.36.0", file=sys.stderr)
        return 2
    npm = shutil.which("npm")
    if npm is None:
        print("npm is not on PATH (Node >= 20 brings it)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [npm, "pack", f"{PACKAGE}@{version}", "--silent"],
            cwd=tmp,
            check=True,
            capture_output=True,
            text=True,
        )
        tarball = Path(tmp) / out.stdout.strip().splitlines()[-1]
        with tarfile.open(tarball) as tar:
            blobs = {}
            for name in FILES:
                member = tar.extractfile(f"package/{name}")
                if member is None:
                    raise SystemExit(f"{PACKAGE}@{version} has no {name}")
                blobs[name] = member.read()
    ASSETS.mkdir(parents=True, exist_ok=True)
    for name, data in blobs.items():
        (ASSETS / name).write_bytes(data)
    manifest = {
        "package": PACKAGE,
        "version": version,
        "integrity": {name: sri(blobs[name]) for name in FILES if name != "LICENSE"},
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"vendored {PACKAGE}@{version} into {ASSETS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

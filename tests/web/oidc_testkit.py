"""A real OpenID Provider for the SSO tests: ``tests/web/oidc/provider.mjs`` runs panva's
certified ``oidc-provider`` (npm) on a local port with one confidential test client.

The test makes the provider's signing key (RS256), so it can also craft tokens with it. ``npm
ci`` runs in ``tests/web/oidc`` when its ``node_modules`` is missing; without ``node``/``npm``
the tests skip.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import RSAKey
from web_testkit import free_port

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
CLIENT_ID = "reporunner-test"


@dataclass
class LocalProvider:
    """A running provider: its issuer, the test client and the provider's own signing key."""

    issuer: str
    client_id: str
    client_secret: str
    key: RSAKey
    output: list[str] = field(default_factory=list)

    def next_id_token(self, mode: str) -> None:
        """The next token response carries a tampered ID token (``audience`` or
        ``signature``); see provider.mjs."""
        req = urllib.request.Request(
            f"{self.issuer}/__test/next-id-token",
            data=json.dumps({"mode": mode}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as res:
            assert res.status == 204


def ensure_installed() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm are not on PATH: the SSO tests need the oidc-provider package")
    if not (OIDC_DIR / "node_modules" / ".package-lock.json").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=OIDC_DIR, check=True, timeout=600
        )


@contextmanager
def running_provider(redirect_uris: list[str]) -> Iterator[LocalProvider]:
    """Start the provider for one confidential client; stop it afterwards."""
    ensure_installed()
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})
    client: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "client_secret": secrets.token_urlsafe(24),
        "redirect_uris": redirect_uris,
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
    }
    env = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENTS": json.dumps([client]),
        "OIDC_JWKS": json.dumps({"keys": [key.as_dict(private=True)]}),
    }
    proc = subprocess.Popen(
        ["node", "provider.mjs"],
        cwd=OIDC_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            lines.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while True:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the OpenID provider did not start:\n" + "".join(output))
            try:
                if lines.get(timeout=0.5).startswith("listening"):
                    break
            except queue.Empty:
                continue
        yield LocalProvider(issuer, CLIENT_ID, client["client_secret"], key, output)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        reader.join(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()

"""Misleading SSRF refusals (#18: "the SSRF error tells users to ask for an allow-list that only
exists for MCP"). Every refusal of the URL guard and of the credential host guard names only
operator settings that exist, and says what each one covers."""

from __future__ import annotations

import re

import httpx
import pytest

from reporunner.nodes.errors import SSRFBlockedError
from reporunner.nodes.hostguard import HostGuard
from reporunner.nodes.ssrf import SSRFPolicy, check_url
from reporunner.platform.settings import Settings

SETTINGS = {f"REPORUNNER_{name.upper()}" for name in Settings.model_fields}


def _named(message: str) -> set[str]:
    return set(re.findall(r"REPORUNNER_[A-Z_]+", message))


async def test_refusals_name_only_settings_that_exist() -> None:
    messages = []
    for url in ("http://127.0.0.1/", "http://169.254.169.254/latest", "http://[::1]:8000/"):
        with pytest.raises(SSRFBlockedError) as refused:
            check_url(SSRFPolicy(), httpx.URL(url))
        messages.append(str(refused.value))
    with pytest.raises(SSRFBlockedError) as refused:
        await HostGuard().addresses("127.0.0.1", 5432)
    messages.append(str(refused.value))
    for message in messages:
        named = _named(message)
        assert named, message  # it says what the operator can do
        assert named <= SETTINGS, (named - SETTINGS, message)
    url_refusal, credential_refusal = messages[0], messages[-1]
    assert "MCP" in url_refusal
    assert "model servers" in url_refusal
    assert _named(credential_refusal) == {"REPORUNNER_CREDENTIAL_ALLOW_HOSTS"}

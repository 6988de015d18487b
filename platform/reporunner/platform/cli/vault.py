"""``reporunner rotate-key``: re-encrypt every credential (and every sealed sign-in secret:
TOTP secrets, SSO client secrets) with the current master key."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from reporunner.platform.db.session import create_engine, session_factory
from reporunner.platform.services import embedded_services
from reporunner.platform.settings import Settings, load_settings
from reporunner.platform.signin.totp import rotate_totp_secrets
from reporunner.platform.sso.providers import rotate_provider_secrets
from reporunner.platform.vault import keyring_from_settings, rotate_all


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "rotate-key",
        help="re-encrypt every credential with REPORUNNER_SECRET_KEY "
        "(old keys in REPORUNNER_OLD_SECRET_KEYS)",
    )
    p.set_defaults(handler=cmd_rotate_key)


def cmd_rotate_key(args: argparse.Namespace) -> int:
    settings = load_settings()
    keyring = keyring_from_settings(settings)
    with embedded_services(settings) as resolved:
        count = asyncio.run(_rotate(resolved, keyring))
    print(f"re-encrypted {count} secret(s) with key {keyring.current.key_id}")
    return 0


async def _rotate(settings: Settings, keyring: Any) -> int:
    assert settings.database_url is not None
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session, session.begin():
            return (
                await rotate_all(session, keyring)
                + await rotate_totp_secrets(session, keyring)
                + await rotate_provider_secrets(session, keyring)
            )
    finally:
        await engine.dispose()

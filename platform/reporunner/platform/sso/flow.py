"""A sign-in through an OpenID provider: :func:`start_sign_in` and :func:`finish_sign_in`.

``start`` makes a ``state`` (also set as the ``rr_sso`` cookie of this browser), a ``nonce``
and a PKCE verifier, keeps them in Redis for ``REPORUNNER_SSO_STATE_TTL_SECONDS`` under the
state's hash, and sends the browser to the provider. ``finish`` takes them back exactly once
(a replayed callback finds nothing), checks the state against the cookie (a callback another
site pushed into this browser carries no cookie of ours), redeems the code with the verifier,
checks the ID token and then finds the user: by the provider's subject when they signed in
before, else by a verified e-mail address, else creates them just in time. A role claim mapped
by the provider's rules sets their roles in the named workspaces.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, cast

import httpx
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.errors import NotFoundError
from reporunner.platform.auth.principal import ROLES, Role
from reporunner.platform.db.models import (
    AuditLog,
    Membership,
    OidcIdentity,
    OidcProvider,
    User,
    Workspace,
)
from reporunner.platform.sso.errors import SsoNoWorkspace, SsoRefused, SsoStateInvalid
from reporunner.platform.sso.protocol import (
    authorization_url,
    discover,
    exchange_code,
    fetch_json,
    verify_id_token,
)
from reporunner.platform.sso.providers import client_secret
from reporunner.platform.sso.schemas import SsoSettings
from reporunner.platform.vault import Keyring

__all__ = ["SSO_COOKIE", "SignedIn", "enabled_provider", "finish_sign_in", "start_sign_in"]

SSO_COOKIE = "rr_sso"
_KEY = "reporunner:sso:state:"


def _state_key(state: str) -> str:
    return _KEY + hashlib.sha256(state.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedIn:
    user_id: uuid.UUID
    workspace_id: uuid.UUID
    next: str


async def enabled_provider(session: AsyncSession, slug: str) -> OidcProvider:
    row = await session.scalar(
        select(OidcProvider).where(OidcProvider.slug == slug, OidcProvider.enabled.is_(True))
    )
    if row is None:
        raise NotFoundError(f"no SSO provider '{slug}' is enabled on this instance")
    return row


async def start_sign_in(
    session: AsyncSession,
    redis: Redis,
    transport: httpx.AsyncBaseTransport,
    *,
    slug: str,
    redirect_uri: str,
    next_path: str,
    ttl: int,
) -> tuple[str, str]:
    """The provider's authorization URL and the state (for the ``rr_sso`` cookie)."""
    provider = await enabled_provider(session, slug)
    discovery = await discover(transport, provider.issuer)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(48)
    entry = {
        "provider_id": str(provider.id), "nonce": nonce, "verifier": verifier,
        "next": next_path, "redirect_uri": redirect_uri,
    }  # fmt: skip
    await redis.set(_state_key(state), json.dumps(entry), ex=ttl)
    url = authorization_url(
        discovery, client_id=provider.client_id, scopes=provider.scopes,
        redirect_uri=redirect_uri, state=state, nonce=nonce, code_verifier=verifier,
    )  # fmt: skip
    return url, state


async def _take_state(redis: Redis, state: str) -> dict[str, Any]:
    """The entry of ``state``, deleted in the same step (a second callback finds nothing)."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.get(_state_key(state))
        pipe.delete(_state_key(state))
        raw, _deleted = await pipe.execute()
    if raw is None:
        raise SsoStateInvalid(
            "state: this sign-in is unknown, expired or was finished already; start it again"
        )
    entry: dict[str, Any] = json.loads(raw)
    return entry


async def _claims(
    transport: httpx.AsyncBaseTransport,
    provider: OidcProvider,
    keyring: Keyring,
    entry: dict[str, Any],
    code: str,
) -> dict[str, Any]:
    discovery = await discover(transport, provider.issuer)
    token = await exchange_code(
        transport, discovery, client_id=provider.client_id,
        client_secret=client_secret(keyring, provider), code=code,
        code_verifier=entry["verifier"], redirect_uri=entry["redirect_uri"],
    )  # fmt: skip
    jwks = await fetch_json(transport, discovery.jwks_uri)
    claims = verify_id_token(
        token["id_token"], jwks, issuer=provider.issuer, client_id=provider.client_id,
        nonce=entry["nonce"],
    )  # fmt: skip
    if "email" not in claims and discovery.userinfo_endpoint and token.get("access_token"):
        info = await fetch_json(
            transport, discovery.userinfo_endpoint,
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )  # fmt: skip
        if isinstance(info, dict) and info.get("sub") == claims["sub"]:
            claims = {**info, **claims}
    return claims


def _audit(
    workspace_id: uuid.UUID, user_id: uuid.UUID, action: str, data: dict[str, Any]
) -> AuditLog:
    return AuditLog(
        workspace_id=workspace_id, actor_user_id=user_id, action=action, target_type="user",
        target_id=str(user_id), data=data,
    )  # fmt: skip


async def _user(
    session: AsyncSession, provider: OidcProvider, claims: dict[str, Any]
) -> tuple[User, bool]:
    """The user the claims name (and whether they were created now)."""
    subject = str(claims["sub"])[:255]
    user = await session.scalar(
        select(User)
        .join(OidcIdentity, OidcIdentity.user_id == User.id)
        .where(OidcIdentity.provider_id == provider.id, OidcIdentity.subject == subject)
    )
    if user is not None:
        return user, False
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or claims.get("email_verified") is not True:
        raise SsoRefused(
            "the provider vouches for no verified e-mail address of this user (email and "
            "email_verified claims), so they cannot be matched to an account"
        )
    email = email.strip().lower()
    user = await session.scalar(select(User).where(func.lower(User.email) == email))
    created = user is None
    if user is None:
        name = claims.get("name") if isinstance(claims.get("name"), str) else None
        user = User(email=email, name=(name or email.split("@")[0])[:200])
        session.add(user)
        await session.flush()
    session.add(OidcIdentity(provider_id=provider.id, subject=subject, user_id=user.id))
    await session.flush()
    return user, created


def _claim_values(claims: dict[str, Any], claim: str | None) -> set[str]:
    if claim is None:
        return set()
    value = claims.get(claim)
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {v for v in value if isinstance(v, str)}
    return set()


async def _map_roles(
    session: AsyncSession, user: User, rules: SsoSettings, claims: dict[str, Any], ip: str
) -> None:
    """Set the user's role in every workspace a matching rule names (highest rule wins);
    owners keep their role (owners are managed in the app, never by a claim)."""
    values = _claim_values(claims, rules.role_claim)
    wanted: dict[str, Role] = {}
    for rule in rules.role_rules:
        if rule.claim_value in values:
            best = wanted.get(rule.workspace)
            if best is None or ROLES.index(rule.role) > ROLES.index(best):
                wanted[rule.workspace] = rule.role
    has_any = await session.scalar(select(Membership.id).where(Membership.user_id == user.id))
    if not wanted and has_any is None and rules.default_workspace:
        wanted[rules.default_workspace] = rules.default_role
    for slug, role in sorted(wanted.items()):
        ws = await session.scalar(select(Workspace.id).where(Workspace.slug == slug))
        if ws is None:
            continue  # a rule naming a workspace that is gone grants nothing
        member = await session.scalar(
            select(Membership).where(Membership.workspace_id == ws, Membership.user_id == user.id)
        )
        if member is not None and member.role in (role, "owner"):
            continue  # an owner stays owner: a claim never demotes the workspace's owners
        if member is None:
            session.add(Membership(workspace_id=ws, user_id=user.id, role=role))
        else:
            member.role = role
        session.add(_audit(ws, user.id, "sso.role_mapped", {"role": role, "ip": ip}))
    await session.flush()


async def finish_sign_in(
    session: AsyncSession,
    redis: Redis,
    transport: httpx.AsyncBaseTransport,
    keyring: Keyring,
    *,
    slug: str,
    code: str | None,
    state: str | None,
    cookie_state: str | None,
    ip: str,
) -> SignedIn:
    """Check the provider's answer and find (or create) the user.

    Raises:
        SsoStateInvalid: ``state`` is missing, not this browser's, used or expired (400).
        SsoRefused: the code or the ID token does not prove who the user is (401).
        SsoNoWorkspace: no workspace takes the user (403).
    """
    if (
        not state
        or not cookie_state
        or not hmac.compare_digest(
            state.encode("utf-8", "surrogatepass"), cookie_state.encode("utf-8", "surrogatepass")
        )
    ):
        raise SsoStateInvalid(
            "state: the callback's state is not the one this browser's sign-in started with; "
            "start the sign-in again"
        )
    entry = await _take_state(redis, state)
    provider = await enabled_provider(session, slug)
    if entry.get("provider_id") != str(provider.id):
        raise SsoStateInvalid("state: this sign-in was started with another provider")
    if not code:
        raise SsoRefused("code: the provider sent no authorization code")
    claims = await _claims(transport, provider, keyring, entry, code)
    user, created = await _user(session, provider, claims)
    rules = SsoSettings.model_validate(provider.settings)
    await _map_roles(session, user, rules, claims, ip)
    workspace_id = await session.scalar(
        select(Membership.workspace_id)
        .where(Membership.user_id == user.id)
        .order_by(Membership.created_at, Membership.id)
        .limit(1)
    )
    if workspace_id is None:
        raise SsoNoWorkspace(
            f"{user.email} signed in with {provider.name}, but no workspace takes them: ask an "
            "admin to add them, or to map their role claim to a workspace"
        )
    data = {"provider": provider.slug, "ip": ip}
    if created:
        created_data = {**data, "email": user.email}
        session.add(_audit(workspace_id, user.id, "sso.user_created", created_data))
    session.add(_audit(workspace_id, user.id, "sso.signed_in", data))
    await session.flush()
    return SignedIn(user.id, workspace_id, cast(str, entry.get("next") or "/"))

"""The OpenID Connect protocol steps: discovery, the authorization URL (PKCE, ``state``,
``nonce``), the code exchange and the ID token check.

Every request goes through the SSRF guard (:func:`reporunner.platform.network.oidc_transport`):
the issuer, and every endpoint its discovery document names, must be public unless the operator
allow-listed the host (``REPORUNNER_OIDC_ALLOW_HOSTS``). ``authlib`` builds the authorization
URL and the token request (PKCE S256), sent with httpx over that transport (authlib's own httpx
client is built on a fork of httpx that cannot take our transport); ``joserfc`` (authlib's JOSE
library) checks the ID token: its signature against the provider's JWKS, issuer, audience
(and ``azp`` when there are several audiences), expiry, issue time and nonce.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from reporunner.nodes.errors import SSRFBlockedError
from reporunner.platform.sso.errors import SsoProviderUnavailable, SsoRefused

__all__ = [
    "ID_TOKEN_ALGORITHMS",
    "Discovery",
    "authorization_url",
    "discover",
    "exchange_code",
    "fetch_json",
    "verify_id_token",
]

ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]
"""Asymmetric only: an ``HS256`` token would be "signed" with the client secret, and ``none``
with nothing."""
LEEWAY_SECONDS = 60
TIMEOUT = httpx.Timeout(10.0)


@dataclass(frozen=True, slots=True)
class Discovery:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None


async def fetch_json(transport: httpx.AsyncBaseTransport, url: str, **kwargs: Any) -> Any:
    """GET ``url`` through ``transport`` and parse JSON; 502 for anything else."""
    async with httpx.AsyncClient(transport=transport, timeout=TIMEOUT, trust_env=False) as http:
        try:
            response = await http.get(url, **kwargs)
        except SSRFBlockedError:
            raise
        except httpx.HTTPError as err:
            raise SsoProviderUnavailable(f"{url} cannot be reached: {err}") from None
    if response.status_code != 200:
        raise SsoProviderUnavailable(f"{url} answered {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise SsoProviderUnavailable(f"{url} did not answer JSON") from None


async def discover(transport: httpx.AsyncBaseTransport, issuer: str) -> Discovery:
    """The provider's discovery document, checked (its ``issuer`` must be ours exactly)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    doc = await fetch_json(transport, url)
    if not isinstance(doc, dict):
        raise SsoProviderUnavailable(f"{url} is not a discovery document")
    if doc.get("issuer") != issuer:
        raise SsoProviderUnavailable(
            f"the discovery document names the issuer {doc.get('issuer')!r}, not {issuer!r}; "
            "configure the provider with exactly the issuer it names"
        )
    missing = [
        k
        for k in ("authorization_endpoint", "token_endpoint", "jwks_uri")
        if not isinstance(doc.get(k), str) or not doc[k].startswith(("https://", "http://"))
    ]
    if missing:
        raise SsoProviderUnavailable(f"the discovery document lacks {', '.join(missing)}")
    userinfo = doc.get("userinfo_endpoint")
    return Discovery(
        issuer=issuer,
        authorization_endpoint=doc["authorization_endpoint"],
        token_endpoint=doc["token_endpoint"],
        jwks_uri=doc["jwks_uri"],
        userinfo_endpoint=userinfo if isinstance(userinfo, str) else None,
    )


def authorization_url(
    discovery: Discovery,
    *,
    client_id: str,
    scopes: str,
    redirect_uri: str,
    state: str,
    nonce: str,
    code_verifier: str,
) -> str:
    """The provider's authorization URL: code flow, PKCE S256, our ``state`` and ``nonce``."""
    url = prepare_grant_uri(
        discovery.authorization_endpoint, client_id, "code", redirect_uri=redirect_uri,
        scope=scopes, state=state, nonce=nonce,
        code_challenge=create_s256_code_challenge(code_verifier), code_challenge_method="S256",
    )  # fmt: skip
    return str(url)


async def exchange_code(
    transport: httpx.AsyncBaseTransport,
    discovery: Discovery,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    code_verifier: str,
    redirect_uri: str,
) -> dict[str, Any]:
    """Redeem the authorization code at the token endpoint (client secret by HTTP Basic, as
    RFC 6749 2.3.1 asks every provider to accept, and the PKCE verifier).

    Raises:
        SsoRefused: the provider refused the code (unknown, expired, used or not ours).
        SsoProviderUnavailable: the token endpoint cannot be reached or answers nonsense.
    """
    body = prepare_token_request(
        "authorization_code", code=code, redirect_uri=redirect_uri, code_verifier=code_verifier
    )
    auth = httpx.BasicAuth(quote(client_id, safe=""), quote(client_secret, safe=""))
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    async with httpx.AsyncClient(transport=transport, timeout=TIMEOUT, trust_env=False) as http:
        try:
            response = await http.post(
                discovery.token_endpoint, content=body, headers=headers, auth=auth
            )
        except httpx.HTTPError as err:
            raise SsoProviderUnavailable(f"the token endpoint cannot be reached: {err}") from None
    try:
        token = response.json()
    except ValueError:
        raise SsoProviderUnavailable("the token endpoint did not answer JSON") from None
    if not isinstance(token, dict):
        raise SsoProviderUnavailable("the token endpoint did not answer a JSON object")
    if response.status_code != 200 or "error" in token:
        error = str(token.get("error", response.status_code))[:100]
        raise SsoRefused(
            f"the provider refused the authorization code ({error}): it is unknown, expired or "
            "was used already; sign in again"
        )
    if not isinstance(token.get("id_token"), str):
        raise SsoRefused("the provider answered no ID token (is 'openid' among the scopes?)")
    return token


def verify_id_token(
    id_token: str,
    jwks: Any,
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    now: float | None = None,
) -> dict[str, Any]:
    """The ID token's claims, once its signature and claims are right.

    Raises:
        SsoRefused: a bad signature or key, another issuer or audience, expired, or a nonce
            that is not the one this sign-in sent.
    """
    try:
        keys = KeySet.import_key_set(jwks)
        token = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS)
    except (JoseError, ValueError, TypeError, KeyError) as err:
        raise SsoRefused(f"the ID token's signature does not verify: {err}") from None
    claims = dict(token.claims)
    registry = JWTClaimsRegistry(
        now=int(now if now is not None else time.time()),
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as err:
        raise SsoRefused(f"the ID token is not for this sign-in: {err}") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise SsoRefused("the ID token has several audiences and another authorized party")
    return claims

"""``/auth/totp``: the caller's own two-factor authentication (TOTP).

Enrol (a secret shown once as a QR code and as text), confirm with a code (answers the
recovery codes, shown once), look at the status, turn it off with a code. Wrong codes count as
failed sign-ins of the account, like wrong passwords (429 when too many).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.errors import ValidationFailed
from reporunner.platform import signin
from reporunner.platform.api.routes.signin import AUTH_BODY_LIMIT, json_only
from reporunner.platform.auth import Principal
from reporunner.platform.auth.requests import client_ip
from reporunner.platform.auth.throttle import SignInThrottle
from reporunner.platform.resources import Resources
from reporunner.platform.signin import (
    TotpConfirm,
    TotpConfirmed,
    TotpDisable,
    TotpEnrolment,
    TotpStatus,
)

__all__ = ["TotpController", "route_handlers"]


async def _throttle(
    request: Request[Any, Any, Any],
    transaction: AsyncSession,
    resources: Resources,
    principal: Principal,
) -> SignInThrottle:
    settings = resources.settings
    email = await signin.email_of(transaction, principal.user_id)
    throttle = SignInThrottle(resources.redis, settings, email, client_ip(request, settings))
    await throttle.check()
    return throttle


class TotpController(Controller):
    path = "/auth/totp"
    tags = ["sign-in"]  # noqa: RUF012
    request_max_body_size = AUTH_BODY_LIMIT

    @get("/", summary="Your two-factor authentication: on or off, recovery codes left")
    async def status(
        self,
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> TotpStatus:
        required = resources.settings.totp_required
        return await signin.totp_status(transaction, principal.user_id, required)

    @post(
        "/enrol", status_code=200,
        summary="Start setting up two-factor authentication (the secret is shown this once)",
    )  # fmt: skip
    async def enrol(
        self,
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> TotpEnrolment:
        """409 when it is on already; a new enrolment replaces one never confirmed."""
        return await signin.start_enrolment(transaction, principal, resources.keyring)

    @post(
        "/confirm", status_code=200, guards=[json_only],
        summary="Turn two-factor authentication on with a code (answers the recovery codes)",
    )  # fmt: skip
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[TotpConfirm],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> TotpConfirmed:
        """422 naming ``code`` when it is wrong (counted as a failed sign-in)."""
        throttle = await _throttle(request, transaction, resources, principal)
        try:
            codes = await signin.confirm_enrolment(
                transaction, principal, resources.keyring, data.code
            )
        except ValidationFailed:
            await throttle.failed()
            raise
        return TotpConfirmed(recovery_codes=codes)

    @post(
        "/disable", status_code=204, guards=[json_only],
        summary="Turn two-factor authentication off (a current code or a recovery code)",
    )  # fmt: skip
    async def disable(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[TotpDisable],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> None:
        """422 naming ``code`` when it is wrong (counted as a failed sign-in); 404 when off."""
        throttle = await _throttle(request, transaction, resources, principal)
        try:
            await signin.disable_totp(transaction, principal, resources.keyring, data.code)
        except ValidationFailed:
            await throttle.failed()
            raise

    @post(
        "/recovery-codes", status_code=200, guards=[json_only],
        summary="New recovery codes (shown once; the old ones stop working)",
    )  # fmt: skip
    async def recovery_codes(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[TotpDisable],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> TotpConfirmed:
        """A current code (or a recovery code) proves the device: 422 naming ``code`` when
        wrong (counted as a failed sign-in); 404 when TOTP is off."""
        throttle = await _throttle(request, transaction, resources, principal)
        try:
            codes = await signin.regenerate_recovery_codes(
                transaction, principal, resources.keyring, data.code
            )
        except ValidationFailed:
            await throttle.failed()
            raise
        return TotpConfirmed(recovery_codes=codes)


route_handlers = [TotpController]

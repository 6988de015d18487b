"""The TOTP second factor of password accounts (RFC 6238 via ``pyotp``).

Enrolment is two steps: :func:`start_enrolment` seals a fresh secret (shown once, as a QR code
and as text) and :func:`confirm_enrolment` turns it on when the user types a code from their
authenticator app, answering ten recovery codes (shown once, stored hashed). A sign-in with
the right password then needs a code (:func:`check_second_factor`): one of the time steps
around now, never one at or before the last accepted step, so a code seen over someone's
shoulder cannot be replayed, even within its 30 seconds. A recovery code works once.

The route owns the transaction; these functions lock the user's TOTP row so that two requests
racing with the same code cannot both pass.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
import time
import uuid
from datetime import UTC, datetime

import pyotp
import segno
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.errors import ConflictError, NotFoundError, Problem, ValidationFailed
from reporunner.platform.auth import Principal
from reporunner.platform.db.models import RecoveryCode, TotpSecret, User
from reporunner.platform.identity.audit import audit_entry
from reporunner.platform.signin.errors import SecondFactorRequired, WrongSecondFactor
from reporunner.platform.signin.schemas import TotpEnrolment, TotpStatus
from reporunner.platform.vault import Keyring, Sealed

__all__ = [
    "ISSUER",
    "RECOVERY_CODES",
    "check_second_factor",
    "confirm_enrolment",
    "disable_totp",
    "has_totp",
    "regenerate_recovery_codes",
    "rotate_totp_secrets",
    "start_enrolment",
    "totp_status",
]

ISSUER = "reporunner"
RECOVERY_CODES = 10
STEP = 30
WINDOW = 1
"""Steps either side of now that still count (clock drift of the phone)."""


def _aad(user_id: uuid.UUID) -> str:
    return f"totp:{user_id}"


def _hash_recovery(code: str) -> str:
    normal = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(f"reporunner-recovery:{normal}".encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()  # 80 bits
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


async def _row(session: AsyncSession, user_id: uuid.UUID, *, lock: bool) -> TotpSecret | None:
    query = select(TotpSecret).where(TotpSecret.user_id == user_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


def _secret(keyring: Keyring, row: TotpSecret) -> str:
    plain = keyring.open(Sealed(row.key_id, row.nonce, row.ciphertext), _aad(row.user_id))
    return plain.decode()


async def has_totp(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """Whether the user has a confirmed second factor."""
    found = await session.scalar(
        select(TotpSecret.user_id).where(
            TotpSecret.user_id == user_id, TotpSecret.enabled_at.is_not(None)
        )
    )
    return found is not None


async def totp_status(session: AsyncSession, user_id: uuid.UUID, required: bool) -> TotpStatus:
    row = await _row(session, user_id, lock=False)
    left = await session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )
    enabled = row is not None and row.enabled_at is not None
    return TotpStatus(
        enabled=enabled,
        enabled_at=row.enabled_at if row is not None else None,
        recovery_codes_left=int(left or 0) if enabled else 0,
        required=required,
    )


def _qr_svg(uri: str) -> str:
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=5, border=2, xmldecl=False)
    return out.getvalue().decode()


async def start_enrolment(
    session: AsyncSession, principal: Principal, keyring: Keyring
) -> TotpEnrolment:
    """A fresh secret for the caller (replacing an unconfirmed one), shown this once.

    Raises:
        ConflictError: the second factor is on already (turn it off first).
    """
    user = await session.get(User, principal.user_id)
    if user is None:
        raise NotFoundError("your user no longer exists")
    row = await _row(session, user.id, lock=True)
    if row is not None and row.enabled_at is not None:
        raise ConflictError(
            "two-factor authentication is already on; turn it off first to enrol a new device"
        )
    secret = pyotp.random_base32()
    sealed = keyring.seal(secret.encode(), _aad(user.id))
    if row is None:
        row = TotpSecret(user_id=user.id, last_step=0)
        session.add(row)
    row.key_id, row.nonce, row.ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
    row.last_step = 0
    await session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return TotpEnrolment(secret=secret, otpauth_uri=uri, qr_svg=_qr_svg(uri))


def _matching_step(secret: str, code: str, last_step: int, now: float) -> int | None:
    """The time step whose code is ``code``, newer than ``last_step``; None when none is."""
    totp = pyotp.TOTP(secret)
    current = int(now) // STEP
    found = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code) and step > last_step:
            found = step
    return found


def _code_problem(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", [Problem(f"/{field}", "wrong_code", message)])


async def confirm_enrolment(
    session: AsyncSession, principal: Principal, keyring: Keyring, code: str
) -> list[str]:
    """Turn the second factor on with a code from the app; the recovery codes (shown once).

    Raises:
        NotFoundError: no enrolment was started. ConflictError: it is on already.
        ValidationFailed: the code is wrong (422 on ``/code``).
    """
    row = await _row(session, principal.user_id, lock=True)
    if row is None:
        raise NotFoundError("start an enrolment first: POST /auth/totp/enrol")
    if row.enabled_at is not None:
        raise ConflictError("two-factor authentication is already on")
    step = _matching_step(_secret(keyring, row), code, row.last_step, time.time())
    if step is None:
        raise _code_problem("code", "the code is wrong; type the current code of your app")
    row.enabled_at = datetime.now(UTC)
    row.last_step = step
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == principal.user_id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    session.add_all(
        RecoveryCode(user_id=principal.user_id, code_hash=_hash_recovery(c)) for c in codes
    )
    session.add(audit_entry(principal, "totp.enabled", "user", principal.user_id))
    await session.flush()
    return codes


async def check_second_factor(
    session: AsyncSession,
    keyring: Keyring,
    user_id: uuid.UUID,
    *,
    code: str | None,
    recovery_code: str | None,
    now: float | None = None,
) -> str | None:
    """Check the second factor of a sign-in whose password was right.

    Returns None when the user has no second factor, ``"totp"`` or ``"recovery_code"`` for
    the one that passed (the caller audits it).

    Raises:
        SecondFactorRequired: neither a code nor a recovery code was given.
        WrongSecondFactor: the code is wrong or was used already, or the recovery code is
            unknown or used.
    """
    row = await _row(session, user_id, lock=True)
    if row is None or row.enabled_at is None:
        return None
    if recovery_code:
        used = await session.scalar(
            update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user_id,
                RecoveryCode.code_hash == _hash_recovery(recovery_code),
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=datetime.now(UTC))
            .returning(RecoveryCode.id)
        )
        if used is None:
            raise WrongSecondFactor("wrong or already used recovery code")
        return "recovery_code"
    if not code:
        raise SecondFactorRequired(
            "this account has two-factor authentication: send totp_code (or recovery_code) "
            "with the password"
        )
    step = _matching_step(_secret(keyring, row), code, row.last_step, now or time.time())
    if step is None:
        raise WrongSecondFactor("wrong or already used authentication code")
    row.last_step = step
    await session.flush()
    return "totp"


async def _prove_device(
    session: AsyncSession, principal: Principal, keyring: Keyring, code: str
) -> TotpSecret:
    """The caller's enabled TOTP row, once ``code`` (a current code or a recovery code)
    passed; 404 when TOTP is off, 422 on ``/code`` when the code is wrong."""
    row = await _row(session, principal.user_id, lock=True)
    if row is None or row.enabled_at is None:
        raise NotFoundError("two-factor authentication is not on")
    try:
        digits = code.isdigit()
        await check_second_factor(
            session, keyring, principal.user_id,
            code=code if digits else None, recovery_code=None if digits else code,
        )  # fmt: skip
    except WrongSecondFactor:
        raise _code_problem("code", "the code is wrong or was used already") from None
    return row


def _new_codes(user_id: uuid.UUID) -> tuple[list[str], list[RecoveryCode]]:
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    return codes, [RecoveryCode(user_id=user_id, code_hash=_hash_recovery(c)) for c in codes]


async def regenerate_recovery_codes(
    session: AsyncSession, principal: Principal, keyring: Keyring, code: str
) -> list[str]:
    """Ten new recovery codes (shown once); the old ones stop working.

    Raises:
        NotFoundError: TOTP is not on. ValidationFailed: the code is wrong (422 on ``/code``).
    """
    await _prove_device(session, principal, keyring, code)
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == principal.user_id))
    codes, rows = _new_codes(principal.user_id)
    session.add_all(rows)
    session.add(audit_entry(principal, "totp.recovery_codes_renewed", "user", principal.user_id))
    await session.flush()
    return codes


async def disable_totp(
    session: AsyncSession, principal: Principal, keyring: Keyring, code: str
) -> None:
    """Turn the second factor off (a current code or a recovery code proves the device).

    Raises:
        NotFoundError: it is not on. ValidationFailed: the code is wrong (422 on ``/code``).
    """
    row = await _prove_device(session, principal, keyring, code)
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == principal.user_id))
    await session.delete(row)
    session.add(audit_entry(principal, "totp.disabled", "user", principal.user_id))
    await session.flush()


async def rotate_totp_secrets(session: AsyncSession, keyring: Keyring) -> int:
    """Re-seal every TOTP secret not sealed with the current key (``reporunner rotate-key``)."""
    rows = (
        await session.scalars(
            select(TotpSecret).where(TotpSecret.key_id != keyring.current.key_id).with_for_update()
        )
    ).all()
    for row in rows:
        sealed = keyring.seal(_secret(keyring, row).encode(), _aad(row.user_id))
        row.key_id, row.nonce, row.ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
    await session.flush()
    return len(rows)

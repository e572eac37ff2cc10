"""The second factor (issue 4 § 1): TOTP with an authenticator app, backup codes, recovery.

Every account that logs in on the web must prove a second factor before it reaches anything but
the login, this step and the set-up page (config.middleware.SecondFactorMiddleware). Only the demo
mode (``DEMO_MODE``, set by ``make run``) lets a person without a second factor in; whoever has
set one up is asked for it there too.

- Set-up (``mfa_enrol_start`` / ``mfa_enrol_confirm``): a new, unconfirmed TOTP device whose key
  the page shows as a QR code; a correct code confirms it, replaces an earlier app, and issues ten
  backup codes shown once.
- First set-up needs only the password (there is no factor yet); replacing an app needs a verified
  session, so a stolen password never adds a device to an account that has one.
- Recovery (``mfa_reset``): an office lead or an administrator removes the factors of a person who
  lost them and receives one recovery code, valid for ``MFA_RECOVERY_HOURS``, to hand over after
  checking who is asking. The code verifies the login and allows nothing but setting up a new app.
- API tokens are a credential of their own: issued by a lead, shown once (agencies.services).
"""

import base64
import datetime
import logging
import secrets

import segno
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext
from django_otp import devices_for_user
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import BackupCode, BackupCodeDevice
from .services import admin_log_change, person_sessions_end

logger = logging.getLogger(__name__)

BACKUP_CODE_COUNT = 10
# No 0/o, 1/l/i: codes are typed from paper.
CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
CODE_LENGTH = 10  # 31^10 ≈ 8·10^14: not guessable within the throttling
TOTP_DEVICE_NAME = "Authenticator-App"


def normalise_code(code: str) -> str:
    return "".join(ch for ch in str(code).lower() if ch.isalnum())


def code_digest(code: str) -> str:
    """The stored form of a backup or recovery code: HMAC-SHA256 keyed with the server secret."""
    return salted_hmac("agencies.mfa.backup-code", normalise_code(code), algorithm="sha256").hexdigest()


def _new_code() -> str:
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{code[:5]}-{code[5:]}"


def _codes_device(user, purpose: str, count: int, expires_at=None) -> list[str]:
    """New codes on the person's device of ``purpose`` (the device stays, so a session verified
    with it stays verified); the earlier codes are gone."""
    device, _created = BackupCodeDevice.objects.update_or_create(
        user=user,
        purpose=purpose,
        defaults={"name": str(BackupCodeDevice.Purpose(purpose).label), "expires_at": expires_at, "confirmed": True},
    )
    device.codes.all().delete()
    codes = [_new_code() for _ in range(count)]
    BackupCode.objects.bulk_create(BackupCode(device=device, digest=code_digest(code)) for code in codes)
    return codes


@transaction.atomic
def backup_codes_issue(*, user) -> list[str]:
    """Ten new backup codes for ``user``; earlier ones stop working. The codes are returned to be
    shown once — only their digests are stored."""
    codes = _codes_device(user, BackupCodeDevice.Purpose.BACKUP, BACKUP_CODE_COUNT)
    logger.info("backup codes issued for person %s", user.pk)
    return codes


def backup_codes_left(user) -> int:
    return BackupCode.objects.filter(device__user=user, device__purpose=BackupCodeDevice.Purpose.BACKUP).count()


def totp_device(user) -> TOTPDevice | None:
    """The person's confirmed authenticator app, if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-id").first()


def mfa_enrol_start(*, user) -> TOTPDevice:
    """The unconfirmed TOTP device of a set-up in progress (the same one on every reload, so that a
    code from the app scanned a minute ago still fits)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


@transaction.atomic
def mfa_enrol_confirm(*, user, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the set-up if ``code`` is the app's current code: the new app replaces any earlier
    one and any recovery code, and ten backup codes are issued (returned, to be shown once).
    ``None`` if the code is wrong (the attempt counts for the throttling)."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user, confirmed=False)
    if not device.verify_token(normalise_code(code)):
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    BackupCodeDevice.objects.filter(user=user, purpose=BackupCodeDevice.Purpose.RECOVERY).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    logger.info("authenticator app set up for person %s", user.pk)
    return backup_codes_issue(user=user)


def mfa_verify(*, user, code: str):
    """The confirmed device of ``user`` that accepts ``code`` — the app's current code, an unused
    backup code or a valid recovery code — or ``None``. Every device counts a failure, so wrong
    guesses slow down exponentially (django-otp throttling)."""
    code = normalise_code(code)
    if not code:
        return None
    with transaction.atomic():
        for device in devices_for_user(user, for_verify=True):
            if isinstance(device, TOTPDevice) and not code.isdigit():
                continue  # a backup code is not a wrong app code
            if device.verify_token(code):
                return device
    return None


def log_attempt(request, user, device, *, step: str) -> None:
    """One line in the application log per second-factor attempt (an authentication decision): the
    person's id, the kind of factor, the request id and the address — never the code."""
    kind = type(device).__name__ if device is not None else "-"
    if isinstance(device, BackupCodeDevice):
        kind = f"{kind}/{device.purpose}"
    args = (step, user.pk, kind, getattr(request, "request_id", "-"), request.META.get("REMOTE_ADDR", "-"))
    if device is None:
        logger.warning("second factor refused (%s) for person %s [%s] request %s from %s", *args)
    else:
        logger.info("second factor accepted (%s) for person %s [%s] request %s from %s", *args)


def mfa_throttled_until(user):
    """When the next attempt is allowed after repeated wrong codes, or ``None`` if it is now."""
    until = None
    for device in devices_for_user(user):
        allowed, info = device.verify_is_allowed()
        if not allowed and info and info.get("locked_until"):
            until = max(until, info["locked_until"]) if until else info["locked_until"]
    return until


def is_recovery_login(user) -> bool:
    """The session was verified with a recovery code: nothing but setting up an app is allowed."""
    device = getattr(user, "otp_device", None)
    return isinstance(device, BackupCodeDevice) and device.purpose == BackupCodeDevice.Purpose.RECOVERY


@transaction.atomic
def mfa_reset(*, user, by) -> str:
    """Remove every second factor of ``user``, end their sessions (their API token stays: it is not
    a login) and return one recovery code, valid for ``MFA_RECOVERY_HOURS``. Recorded in the admin
    log (who reset whose factor, no code)."""
    for device in devices_for_user(user, confirmed=None):
        device.delete()
    expires_at = timezone.now() + datetime.timedelta(hours=settings.MFA_RECOVERY_HOURS)
    (code,) = _codes_device(user, BackupCodeDevice.Purpose.RECOVERY, 1, expires_at=expires_at)
    person_sessions_end(user=user, revoke_token=False)
    admin_log_change(by=by, obj=user, message=gettext("Second factor reset; recovery code issued"))
    logger.info("second factor of person %s reset by person %s", user.pk, by.pk)
    return code


@transaction.atomic
def password_reset_by_lead(*, user, by) -> str:
    """A forgotten password, at night (issue 16 § 5): the person's lead sets a one-time password after
    checking who is asking, and hands it over like the recovery code; it replaces the old password at
    once (every session has ended with the reset of the second factor that comes with it). Recorded in
    the admin log and the server log (who reset whose password, never the password)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    password = "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))
    user.set_password(password)
    user.save(update_fields=["password"])
    person_sessions_end(user=user, revoke_token=False)
    admin_log_change(by=by, obj=user, message=gettext("Password reset by the lead; one-time password issued"))
    logger.info("password of person %s reset by person %s", user.pk, by.pk)
    return password


def totp_qr_data_uri(device: TOTPDevice) -> str:
    """The device's otpauth:// address as an SVG QR code in a data: URI (allowed by the CSP's
    img-src; nothing leaves the server)."""
    return segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)


def totp_secret_text(device: TOTPDevice) -> str:
    """The key in base32, in groups of four, for typing it into an app by hand."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))

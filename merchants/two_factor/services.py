"""The rules of the second factor. Views, the console and the commands call these.

A person has at most one confirmed TOTP device ("Authenticator app") and, from
the moment it is confirmed, one static device holding ten recovery codes,
each deleted when used (django-otp's StaticDevice). django-otp throttles every
device after a wrong code (exponential back-off); the login page also counts
wrong codes as failed logins for django-axes (see views.verify).

Nothing here logs or returns a TOTP key except `enrolment_secret` and
`enrolment_qr_data_uri`, which only the enrolment page shows, before the
device is confirmed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth import login as auth_login
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.views.decorators.debug import sensitive_variables
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from merchants.models import EnrolmentLink, User

APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
RECOVERY_CODE_COUNT = 10
# Lower-case base32 without look-alikes' ambiguity beyond what base32 already removes.
_RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_RECOVERY_LENGTH = 10  # 50 bits each; shown as xxxxx-xxxxx
RECOVERY_DIGEST_SALT = "merchants.two_factor.recovery-code"

# Between the password and the code: the person is not logged in yet.
PENDING_SESSION_KEY = "two_factor_pending"
PENDING_MAX_AGE_SECONDS = 5 * 60


class SecondFactorError(Exception):
    """A request the rules refuse; the message is for people."""


def has_second_factor(user: User) -> bool:
    """True once the person has confirmed an authenticator app."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user).count()


# --- enrolment ----------------------------------------------------------------------


def enrolment_device(user: User) -> TOTPDevice:
    """The unconfirmed device this person is enrolling (the same one on every
    reload, so the QR code they scanned stays valid)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)
    return device


def enrolment_secret(device: TOTPDevice) -> str:
    """The key in base32, in groups of four, for typing into an app by hand."""
    text = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def enrolment_qr_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// URL as an SVG QR code in a data: URI (the CSP allows
    `img-src data:`; nothing inline runs)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@transaction.atomic
def enrolment_confirm(device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm `device` with a current code from the app. Returns the new
    recovery codes (to show once), or None if the code is wrong."""
    device = TOTPDevice.objects.select_for_update().filter(pk=device.pk, confirmed=False).first()
    if device is None or not device.verify_token(normalise(code)):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user_id=device.user_id).exclude(pk=device.pk).delete()
    return recovery_codes_replace(device.user)


def _random_recovery_code() -> str:
    return "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))


def recovery_code_display(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


@sensitive_variables("code", "secret")
def recovery_code_digest(code: str, *, secret: str | None = None) -> str:
    """What is stored of a recovery code (issue 28, item 14): a keyed digest,
    never the code. A code is only ever compared, never shown again, so a
    digest is enough, and unlike an encrypted value it cannot be turned back
    into the code by anyone holding the keys.

    HMAC-SHA256 under SECRET_KEY (`secret`: one of SECRET_KEY_FALLBACKS), cut
    to the 16 characters django-otp's StaticToken column holds (64 bits). A
    code has 50 random bits: with the database but not SECRET_KEY, no guess
    can be checked offline."""
    return salted_hmac(RECOVERY_DIGEST_SALT, code, secret=secret, algorithm="sha256").hexdigest()[:16]


def _recovery_code_candidates(code: str) -> list[str]:
    """The code's digest under SECRET_KEY and each fallback, so codes stored
    before SECRET_KEY was rotated still work."""
    return [recovery_code_digest(code, secret=key) for key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]]


@transaction.atomic
def recovery_codes_replace(user: User) -> list[str]:
    """Ten new recovery codes, shown once (only their digests are stored); the old ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [_random_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=recovery_code_digest(code)) for code in codes)
    return [recovery_code_display(code) for code in codes]


# --- verification -------------------------------------------------------------------


def normalise(code: str) -> str:
    """What people type: spaces, dashes and capitals do not matter."""
    return "".join(code.split()).replace("-", "").lower()


@dataclass(frozen=True)
class Verification:
    device: TOTPDevice | StaticDevice | None
    throttled: bool = False

    @property
    def used_recovery_code(self) -> bool:
        return isinstance(self.device, StaticDevice)


def _stored_form(device: TOTPDevice | StaticDevice, code: str) -> str:
    """What `device.verify_token` compares: the code itself for the app, its
    stored digest for a recovery code (under SECRET_KEY or a fallback)."""
    if not isinstance(device, StaticDevice):
        return code
    candidates = _recovery_code_candidates(code)
    stored = device.token_set.filter(token__in=candidates).values_list("token", flat=True).first()
    return stored or candidates[0]


def code_verify(user: User, code: str) -> Verification:
    """Check a code from the app (6 digits) or a recovery code (used up on
    success) against this person's confirmed devices. A device that is in its
    back-off after wrong codes refuses every code, right or wrong."""
    code = normalise(code)
    model = TOTPDevice if (len(code) == 6 and code.isdigit()) else StaticDevice
    throttled = False
    with transaction.atomic():
        for device in model.objects.select_for_update().filter(user=user, confirmed=True):
            allowed, _ = device.verify_is_allowed()
            if not allowed:
                throttled = True
                continue
            if device.verify_token(_stored_form(device, code)):
                return Verification(device)
    return Verification(None, throttled=throttled)


# --- the login in two steps -----------------------------------------------------------


def pending_login_start(request: HttpRequest, user: User) -> None:
    """The password was right; the person has a device: remember them (not
    logged in) until they give a code."""
    request.session.cycle_key()
    request.session[PENDING_SESSION_KEY] = {
        "user": user.pk,
        "backend": getattr(user, "backend", "django.contrib.auth.backends.ModelBackend"),
        "since": time.time(),
    }


def pending_user(request: HttpRequest) -> User | None:
    pending = request.session.get(PENDING_SESSION_KEY)
    if not isinstance(pending, dict):
        return None
    if time.time() - float(pending.get("since", 0)) > PENDING_MAX_AGE_SECONDS:
        request.session.pop(PENDING_SESSION_KEY, None)
        return None
    return User.objects.filter(pk=pending.get("user"), is_active=True).first()


def login_complete(request: HttpRequest, user: User, device) -> None:
    """Log the person in (if they were pending) and mark the session verified by `device`."""
    pending = request.session.pop(PENDING_SESSION_KEY, None)
    if not request.user.is_authenticated or request.user.pk != user.pk:
        auth_login(request, user, backend=(pending or {}).get("backend"))
    otp_login(request, device)


# --- losing a device ------------------------------------------------------------------


@transaction.atomic
def second_factor_reset(user: User) -> int:
    """Remove every device and recovery code of `user`; staff enrol again at
    their next visit to the console. Returns how many devices were removed."""
    removed = 0
    for model in (TOTPDevice, StaticDevice):
        _, per_model = model.objects.filter(user=user).delete()
        removed += per_model.get(model._meta.label, 0)
    return removed


# --- the enrolment link after a reset (staff) -------------------------------------------

ENROLMENT_LINK_SESSION_KEY = "two_factor_enrolment_link"


def _link_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def enrolment_link_issue(*, user: User, by: User) -> tuple[str, datetime]:
    """A new one-time enrolment link for `user` (any earlier unused one stops
    working): its URL, for `by` to hand over, and when it expires. Only a
    digest of its token is stored; the URL is built from PUBLIC_BASE_URL."""
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    expires_at = now + timedelta(minutes=settings.SECOND_FACTOR_ENROLMENT_LINK_MINUTES)
    with transaction.atomic():
        EnrolmentLink.objects.filter(user=user, used_at=None).update(used_at=now, expires_at=now)
        EnrolmentLink.objects.create(
            user=user, created_by=by, token_digest=_link_digest(token), created_at=now, expires_at=expires_at
        )
    path = reverse("two_factor_enrol_link", args=[token])
    return f"{settings.PUBLIC_BASE_URL}{path}", expires_at


def enrolment_needs_link(user: User) -> bool:
    """Staff whose second factor a colleague reset enrol only through the link
    they were given (`enrolment_link_claim`), never with their password alone."""
    return bool(
        user.is_staff
        and not has_second_factor(user)
        and EnrolmentLink.objects.filter(user=user).exists()
    )


def enrolment_link_claim(request: HttpRequest, *, token: str) -> bool:
    """Use the link (once: a conditional update claims it) for the person
    logged in on `request`, who must be the one it was made for, before it
    expires. True: this session may now enrol a device."""
    claimed = EnrolmentLink.objects.filter(
        token_digest=_link_digest(token), user=request.user, used_at=None, expires_at__gt=timezone.now()
    ).update(used_at=timezone.now())
    if claimed != 1:
        return False
    request.session[ENROLMENT_LINK_SESSION_KEY] = request.user.pk
    return True


def enrolment_allowed(request: HttpRequest) -> bool:
    """Whether the logged-in person may enrol a device in this session."""
    user = request.user
    return not enrolment_needs_link(user) or request.session.get(ENROLMENT_LINK_SESSION_KEY) == user.pk


def second_factor_turn_off(user: User, code: str) -> None:
    """A merchant turns their second factor off, proving it with a code. Staff cannot."""
    if user.is_staff:
        raise SecondFactorError("Violet staff always sign in with a second factor.")
    if not code_verify(user, code).device:
        raise SecondFactorError("That code is not right. Nothing was changed.")
    second_factor_reset(user)

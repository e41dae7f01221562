"""The login's wider limits (issue 28, item 7), beside django-axes' narrow one.

Three counts of wrong passwords (and wrong codes at the second step), each
with its own limit and window:

- one account from one client address: django-axes, AXES_FAILURE_LIMIT (5),
  locked for AXES_COOLOFF_TIME (15 minutes); unchanged;
- one account from anywhere: LOGIN_FAILURES_PER_ACCOUNT (10) in
  LOGIN_FAILURES_PER_ACCOUNT_WINDOW_SECONDS (15 minutes), so guesses spread
  over many addresses stop too (17 guesses from four addresses used to leave
  a fifth address free to log in);
- one client address against any accounts: LOGIN_FAILURES_PER_ADDRESS (30) in
  LOGIN_FAILURES_PER_ADDRESS_WINDOW_SECONDS (an hour), so one address trying
  a password on many accounts stops.

The windows slide (config.throttle): a lock lifts by itself once the oldest
failures leave the window; refused tries are not counted, so waiting is
always enough.

A lock on an account is a way to keep its owner out, for anyone who knows the
address (ten wrong passwords every fifteen minutes would do). So the two wide
locks do not apply to a browser that has logged in to that account before, or
that reset its password by e-mail: it carries a signed cookie naming the
account (OWASP's "device cookies"). The owner at their own browser never sees
the lock; on a new one they are told to reset their password, which lets that
browser in at once. The cookie opens no door by itself: the password (and the
second factor) are asked as always, and django-axes' per-address limit still
counts. Every address counts, whether or not it has an account, so a lock says
nothing about one; the account is keyed by a digest (no address in the cache).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

from config import throttle

from .identity import canonical_email

KNOWN_BROWSER_SALT = "merchants.login-known-browser"
KNOWN_BROWSER_MAX_ACCOUNTS = 5


@dataclass(frozen=True)
class LoginLock:
    """Why a login is refused before its password is looked at, and for how long."""

    per_account: bool
    retry_after_seconds: int

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after_seconds / 60))


def _account_digest(email: str) -> str:
    return salted_hmac("merchants.login-account", canonical_email(email), algorithm="sha256").hexdigest()[:32]


def _limits(email: str, client_address: str) -> list[tuple[bool, str, int, int]]:
    return [
        (
            True,
            f"login-failures:account:{_account_digest(email)}",
            settings.LOGIN_FAILURES_PER_ACCOUNT,
            settings.LOGIN_FAILURES_PER_ACCOUNT_WINDOW_SECONDS,
        ),
        (
            False,
            f"login-failures:address:{client_address}",
            settings.LOGIN_FAILURES_PER_ADDRESS,
            settings.LOGIN_FAILURES_PER_ADDRESS_WINDOW_SECONDS,
        ),
    ]


def login_lock(*, email: str, client_address: str, known_browser: bool) -> LoginLock | None:
    """The lock that refuses this login now, or None. Counts nothing.

    `known_browser`: the request carries this account's known-browser cookie
    (`browser_known`); such a browser is held by neither wide lock."""
    if known_browser:
        return None
    for per_account, key, limit, window in _limits(email, client_address):
        wait = throttle.retry_after(key, limit=limit, window_seconds=window)
        if wait > 0:
            return LoginLock(per_account=per_account, retry_after_seconds=wait)
    return None


def login_failure_record(*, email: str, client_address: str) -> None:
    """Count one wrong password (or code) for this account and this client address."""
    for _, key, limit, window in _limits(email, client_address):
        throttle.allow(key, limit=limit, window_seconds=window)


# --- the known-browser cookie ---------------------------------------------------------


def _cookie_accounts(request: HttpRequest) -> list[str]:
    raw = request.COOKIES.get(settings.LOGIN_KNOWN_BROWSER_COOKIE_NAME)
    if not raw:
        return []
    try:
        value = signing.loads(
            raw, salt=KNOWN_BROWSER_SALT, max_age=settings.LOGIN_KNOWN_BROWSER_DAYS * 24 * 60 * 60
        )
    except signing.BadSignature:
        return []
    if not isinstance(value, list):
        return []
    return [digest for digest in value if isinstance(digest, str)]


def browser_known(request: HttpRequest, email: str) -> bool:
    """Whether this browser logged in to (or reset the password of) this account lately."""
    return _account_digest(email) in _cookie_accounts(request)


def browser_remember(request: HttpRequest, response: HttpResponse, email: str) -> HttpResponse:
    """Mark this browser as known to this account (after a login, or a password
    reset by e-mail), keeping the last few accounts it knows."""
    digest = _account_digest(email)
    accounts = [d for d in _cookie_accounts(request) if d != digest] + [digest]
    response.set_cookie(
        settings.LOGIN_KNOWN_BROWSER_COOKIE_NAME,
        signing.dumps(accounts[-KNOWN_BROWSER_MAX_ACCOUNTS:], salt=KNOWN_BROWSER_SALT, compress=True),
        max_age=settings.LOGIN_KNOWN_BROWSER_DAYS * 24 * 60 * 60,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
        path="/",
    )
    return response

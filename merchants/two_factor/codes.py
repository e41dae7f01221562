"""The current code of a TOTP device, as an authenticator app would show it.
Used by the development-only `demo_otp_code` command and by tests. The seed
is read from its encrypted row (SecondFactorKey), never from django-otp's
clear column."""

import time

from django_otp.oath import TOTP

from merchants.models import SecondFactorKey


def current_code(device, at: float | None = None) -> str:
    bin_key = SecondFactorKey.objects.get(device_id=device.pk).bin_key
    totp = TOTP(bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


def seconds_left(device, at: float | None = None) -> int:
    now = time.time() if at is None else at
    return int(device.step - ((now - device.t0) % device.step))

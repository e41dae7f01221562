"""The demo tenants `manage.py seed_demo` creates, so a newcomer can log in at once.

These passwords are public, and so is the demo staff login's TOTP key (its
second factor: `manage.py demo_otp_code staff@violet.test` prints the current
code): the commands refuse to run in production.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from .models import Membership, Merchant, SecondFactorKey, User

# The demo staff login's authenticator key (hex, 20 bytes). Public: a
# development-only value, like the demo passwords.
DEMO_TOTP_KEY = "76696f6c65742d64656d6f2d6f6e6c792d303031"
DEMO_TOTP_DEVICE_NAME = "Demo authenticator (development only)"


@dataclass(frozen=True)
class DemoPerson:
    email: str
    password: str
    merchant: str | None  # None: Violet staff (admin)
    role: str


DEMO_PEOPLE = (
    DemoPerson("alice@acme.test", "acme-alice-demo", "Acme", Membership.Role.OWNER),
    DemoPerson("bob@acme.test", "acme-bob-demo", "Acme", Membership.Role.MEMBER),
    DemoPerson("charlie@globex.test", "globex-charlie-demo", "Globex", Membership.Role.OWNER),
    DemoPerson("staff@violet.test", "violet-staff-demo", None, "staff"),
)


@transaction.atomic
def seed_demo() -> list[DemoPerson]:
    """Create (or reset) the demo people and merchants. Running it twice changes nothing."""
    for person in DEMO_PEOPLE:
        user = User.objects.filter(email=person.email).first()
        if user is None:
            user = User(email=person.email)
        user.set_password(person.password)
        user.email_verified_at = user.email_verified_at or timezone.now()
        user.is_staff = user.is_superuser = person.merchant is None
        user.save()
        if person.merchant:
            merchant, _ = Merchant.objects.get_or_create(
                slug=person.merchant.lower(), defaults={"name": person.merchant}
            )
            Membership.objects.update_or_create(merchant=merchant, user=user, defaults={"role": person.role})
        else:
            _demo_second_factor(user)
    return list(DEMO_PEOPLE)


def _demo_second_factor(user: User) -> None:
    """Give the demo staff login a known authenticator, so `make run` needs no phone."""
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from merchants.two_factor.services import device_create

    StaticDevice.objects.filter(user=user).delete()
    TOTPDevice.objects.filter(user=user).delete()
    device_create(user, name=DEMO_TOTP_DEVICE_NAME, confirmed=True, seed=DEMO_TOTP_KEY)


def is_demo_device(device) -> bool:
    if device.name != DEMO_TOTP_DEVICE_NAME:
        return False
    key = SecondFactorKey.objects.filter(device_id=device.pk).first()  # encrypted: compared once decrypted
    return key is not None and key.seed == DEMO_TOTP_KEY

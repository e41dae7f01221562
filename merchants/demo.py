"""The demo tenants `manage.py seed_demo` creates, so a newcomer can log in at once.

These passwords are public: the command refuses to run in production.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from .models import Membership, Merchant, User


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
    return list(DEMO_PEOPLE)

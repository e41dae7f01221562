"""Shared fixtures. As in healthchecks: alice owns Acme, bob is her teammate
(a member of Acme), charlie owns Globex and must never see Acme's things.
Staff: `support` and `operations` (the groups the migrations make), and
`enrolled()` for a second factor set up the way a person does it."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from merchants.models import Membership, Merchant, User
from stores.models import Credential, Store
from stores.status import StoreStatus

PASSWORD = "correct-horse-battery-staple"

# Shaped like real BigCommerce values (FACTS.md): 31-char token, 64-hex secret.
ACME_TOKEN = "t0k3nacme9x8w7v6u5s4r3q2p1o0n9m"
ACME_SECRET = "5e1f0c2d9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d"
ACME_CLIENT_ID = "c1i3ntacme0a9b8c7d6e5f4g3h2i1j0"


@pytest.fixture
def acme(db) -> Merchant:
    return Merchant.objects.create(name="Acme", slug="acme")


@pytest.fixture
def globex(db) -> Merchant:
    return Merchant.objects.create(name="Globex", slug="globex")


def _person(email: str, merchant: Merchant, role: str) -> User:
    # People who have been around: their address is confirmed.
    user = User.objects.create_user(email=email, password=PASSWORD, email_verified_at=timezone.now())
    Membership.objects.create(merchant=merchant, user=user, role=role)
    return user


@pytest.fixture
def alice(acme) -> User:
    return _person("alice@acme.test", acme, Membership.Role.OWNER)


@pytest.fixture
def bob(acme) -> User:
    return _person("bob@acme.test", acme, Membership.Role.MEMBER)


@pytest.fixture
def charlie(globex) -> User:
    return _person("charlie@globex.test", globex, Membership.Role.OWNER)


def client_for(user: User) -> Client:
    """A client logged in as `user`. Staff also get a real, confirmed TOTP
    device, and the session is marked verified by it exactly as a correct code
    would (django_otp.login): the console refuses sessions without it.
    tests/merchants/test_two_factor.py goes through the code step for real."""
    client = Client()
    client.force_login(user)
    if user.is_staff:
        verify_second_factor(client, user)
    return client


@pytest.fixture
def admin_client(admin_user) -> Client:
    """pytest-django's `admin_client`, with the second factor the console wants."""
    return client_for(admin_user)


def verify_second_factor(client: Client, user: User):
    """Give `user` a confirmed TOTP device (if they have none) and mark the
    client's session verified by it; returns the device."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from merchants.two_factor.services import device_create

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = device_create(user, name="Test authenticator", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def enrolled(user: User):
    """Set up a second factor as a person does (enrolment, then a code from the
    app): the confirmed TOTP device and the recovery codes shown once."""
    from merchants.two_factor import services
    from merchants.two_factor.codes import current_code

    device = services.enrolment_device(user)
    codes = services.enrolment_confirm(device, current_code(device))
    assert codes is not None
    device.refresh_from_db()
    return device, codes


@pytest.fixture
def staff_groups(db) -> dict[str, Group]:
    """The Support and Operations groups the data migrations made (made again
    if a transactional test flushed them)."""
    if Group.objects.filter(name__in=["Support", "Operations"]).count() != 2:
        importlib.import_module("stores.migrations.0002_staff_groups").create_staff_groups(django_apps, None)
        importlib.import_module("merchants.migrations.0002_second_factor").grant(django_apps, None)
        importlib.import_module("stores.migrations.0006_store_merchant_since_and_move_permission").grant_move(
            django_apps, None
        )
        importlib.import_module("stores.migrations.0014_incident_and_reference_permissions").grant(django_apps, None)
    return {group.name: group for group in Group.objects.filter(name__in=["Support", "Operations"])}


def staff_member(email: str, group: Group | None = None, **extra) -> User:
    user = User.objects.create_user(email=email, password=PASSWORD, is_staff=True, **extra)
    if group is not None:
        user.groups.add(group)
    return user


@pytest.fixture
def support(staff_groups) -> User:
    return staff_member("support@violet.test", staff_groups["Support"])


@pytest.fixture
def operations(staff_groups) -> User:
    return staff_member("ops@violet.test", staff_groups["Operations"])


@pytest.fixture
def acme_store(acme) -> Store:
    store = Store.objects.create(
        merchant=acme,
        store_hash="acme123",
        name="Acme Outfitters",
        domain="acme.example",
        plan_name="Plus",
        status=StoreStatus.CONNECTED,
        credentials_version=1,  # it has credentials (stores.models.Store.credentials_version)
    )
    credential = Credential(store=store)
    credential.set_values(client_id=ACME_CLIENT_ID, client_secret=ACME_SECRET, access_token=ACME_TOKEN)
    credential.save()
    return store


@pytest.fixture
def globex_store(globex) -> Store:
    return Store.objects.create(
        merchant=globex, store_hash="globex9", name="Globex Gadgets", status=StoreStatus.CONNECTED
    )


def pytest_configure(config):
    from django.conf import settings

    # Hashing passwords the production way costs ~0.3 s each; tests need none of it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tasks queued by tests on the embedded transport go to a queue of their
    # own, not to the one `make run`'s worker reads.
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        import tempfile

        queue = tempfile.mkdtemp(prefix="violet-test-queue-")
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
            **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            "data_folder_in": queue,
            "data_folder_out": queue,
            "control_folder": queue,
        }


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache: every test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _confirm_at_once(settings):
    """A definitive answer is confirmed by a second one `STORE_CONFIRM_AFTER_SECONDS`
    later. Tests that record two checks in a row mean "a minute apart"; the
    tests about that wait set it back (tests/stores/test_lifecycle.py tests
    the rule itself with its real default)."""
    settings.STORE_CONFIRM_AFTER_SECONDS = 0


@pytest.fixture(autouse=True)
def _api_responses_match_the_openapi_document(monkeypatch):
    """Every /api/v1/ response any test gets is checked against the OpenAPI
    document (tests/openapi_contract.py): drift fails the test that saw it."""
    from tests.openapi_contract import check_response

    original = Client.request

    def request(self, **request):
        response = original(self, **request)
        check_response(request.get("REQUEST_METHOD", "GET"), request.get("PATH_INFO", ""), response)
        return response

    monkeypatch.setattr(Client, "request", request)

"""TOTP seeds are encrypted under FERNET_KEYS (issue 28, item 14, its second
half): django-otp's clear `key` column holds a placeholder no code verifies
against, the encrypted column holds no seed in clear, an app set up before the
migration still works after it (and the migration reverses), a new key first
in FERNET_KEYS still reads the seeds, `rotate_credentials` moves them, and
enrol → log in with a code works end to end."""

from __future__ import annotations

import base64
import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.crypto import UndecryptableCredential, fernet_keys
from merchants.models import SEED_PLACEHOLDER, SecondFactor, SecondFactorKey, User
from merchants.two_factor import services
from merchants.two_factor.codes import current_code
from stores import rotation
from tests.conftest import PASSWORD, enrolled
from tests.merchants.test_two_factor import code_step, later, password_step

OLD_KEY = "old-key-for-tests"
NEW_KEY = "new-key-for-tests"
# RFC 6238's test seed ("12345678901234567890"), as django-otp's column holds it.
KNOWN_SEED = "3132333435363738393031323334353637383930"

BEFORE = [("merchants", "0007_recovery_codes_to_digests"), ("otp_totp", "0003_add_timestamps")]
AFTER = [("merchants", "0008_totp_seeds_encrypted")]


@pytest.fixture
def person(db) -> User:
    return User.objects.create_user(email="dana@acme.test", password=PASSWORD)


def raw_device_key(device_id: int) -> str:
    table = connection.ops.quote_name(TOTPDevice._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {connection.ops.quote_name('key')} FROM {table} WHERE id = %s", [device_id])  # noqa: S608
        return cursor.fetchone()[0]


def raw_seed_column(device_id: int) -> bytes:
    table = connection.ops.quote_name(SecondFactorKey._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT seed FROM {table} WHERE device_id = %s", [device_id])  # noqa: S608
        return bytes(cursor.fetchone()[0])


def seed_forms(seed_hex: str) -> list[bytes]:
    """The seed as hex (either case) and as base32, as bytes: none may be in a raw column."""
    b32 = base64.b32encode(bytes.fromhex(seed_hex)).rstrip(b"=")
    return [seed_hex.lower().encode(), seed_hex.upper().encode(), b32, bytes.fromhex(seed_hex)]


def test_the_device_column_holds_a_placeholder_and_the_encrypted_column_no_seed(person):
    device, _ = enrolled(person)
    seed = SecondFactorKey.objects.get(device=device).seed
    assert len(bytes.fromhex(seed)) == 20  # django-otp's 20 random bytes, in hex

    assert raw_device_key(device.pk) == SEED_PLACEHOLDER
    stored = raw_seed_column(device.pk)
    for form in seed_forms(seed):
        assert form not in stored
    # A Fernet token under FERNET_KEYS' first key (the derivation of config.crypto).
    assert Fernet(fernet_keys()[0]).decrypt(stored) == seed.encode()


def test_the_placeholder_never_verifies_a_code(person):
    """django-otp's own model reads the clear column: the placeholder is not
    hex, so it raises instead of checking codes made from a guessable key."""
    device, _ = enrolled(person)
    with later(31):
        code = current_code(device)
        with pytest.raises(ValueError, match="hexadecimal|Odd-length"):
            TOTPDevice.objects.get(pk=device.pk).verify_token(code)
        assert services.code_verify(person, code).device == device  # read through SecondFactor


def test_every_way_the_project_makes_a_device_encrypts_its_seed(person):
    made = services.device_create(person, name="phone", confirmed=True)
    given = services.device_create(person, name="given", confirmed=False, seed=KNOWN_SEED)
    pending = services.enrolment_device(User.objects.create_user(email="eve@acme.test", password=PASSWORD))
    for device in (made, given, pending):
        assert raw_device_key(device.pk) == SEED_PLACEHOLDER
    assert SecondFactorKey.objects.get(device=given).seed == KNOWN_SEED
    assert KNOWN_SEED.encode() not in raw_seed_column(given.pk)
    # The enrolment page's secret and QR code come from the encrypted seed.
    assert services.enrolment_secret(given).replace(" ", "") == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" in SecondFactor.objects.get(pk=given.pk).config_url


def test_a_device_deleted_takes_its_key_with_it(person):
    device, _ = enrolled(person)
    services.second_factor_reset(person)
    assert not SecondFactorKey.objects.filter(device_id=device.pk).exists()


def test_a_new_key_first_still_reads_seeds_and_rotation_moves_them(person):
    assert SecondFactorKey in dict(rotation.encrypted_tables())
    with override_settings(FERNET_KEYS=[OLD_KEY]):
        device, _ = enrolled(person)
    before = raw_seed_column(device.pk)

    with override_settings(FERNET_KEYS=[NEW_KEY, OLD_KEY]), later(31):
        assert services.code_verify(person, current_code(device)).device == device
        call_command("rotate_credentials", stdout=io.StringIO())
    after = raw_seed_column(device.pk)
    assert after != before
    assert Fernet(fernet_keys_for([NEW_KEY])[0]).decrypt(after) == Fernet(fernet_keys_for([OLD_KEY])[0]).decrypt(before)

    with override_settings(FERNET_KEYS=[NEW_KEY]), later(61):  # the old key removed
        assert services.code_verify(person, current_code(device)).device == device
    with override_settings(FERNET_KEYS=[OLD_KEY]), pytest.raises(UndecryptableCredential):
        SecondFactorKey.objects.get(device=device)


def fernet_keys_for(keys: list[str]) -> list[bytes]:
    with override_settings(FERNET_KEYS=keys):
        return fernet_keys()


def test_enrol_then_log_in_with_a_code_end_to_end(person):
    client = Client()
    client.force_login(person)
    page = client.get(reverse("two_factor_enrol"))
    assert page.status_code == 200
    device = SecondFactor.objects.get(user=person, confirmed=False)
    assert services.enrolment_secret(device) in page.content.decode()
    assert client.post(reverse("two_factor_enrol"), {"code": current_code(device)}).status_code == 200
    assert raw_device_key(device.pk) == SEED_PLACEHOLDER

    fresh = Client()
    assert password_step(fresh, person.email)["Location"].startswith(reverse("two_factor_verify"))
    assert "_auth_user_id" not in fresh.session
    with later(31):
        done = code_step(fresh, current_code(device))
        assert done.status_code == 302
        assert fresh.session["_auth_user_id"] == str(person.pk)
        assert fresh.get(reverse("two_factor_account")).status_code == 200  # a verified session


@pytest.mark.django_db(transaction=True)
def test_an_app_set_up_before_the_migration_still_works_after_it_and_the_migration_reverses():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    user = apps.get_model("merchants", "User").objects.create(email="old@acme.test")
    device = apps.get_model("otp_totp", "TOTPDevice").objects.create(
        user_id=user.pk, name="Authenticator app", confirmed=True, key=KNOWN_SEED
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    assert raw_device_key(device.pk) == SEED_PLACEHOLDER
    assert KNOWN_SEED.encode() not in raw_seed_column(device.pk)

    executor.loader.build_graph()
    executor.migrate(BEFORE)  # the reverse puts the seed back in the clear column
    assert raw_device_key(device.pk) == KNOWN_SEED

    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert raw_device_key(device.pk) == SEED_PLACEHOLDER
    person = User.objects.get(email="old@acme.test")
    with later(0):
        # The code an app set up with this seed shows now, computed from the seed itself.
        totp = TOTP(bytes.fromhex(KNOWN_SEED), 30, 0, 6, 0)
        assert services.code_verify(person, f"{totp.token():06d}").device.pk == device.pk

"""Recovery codes are stored as keyed digests, never in clear (issue 28,
item 14): the raw column holds no code, codes noted before the change still
work after its migration, and a rotated SECRET_KEY (the old one in
SECRET_KEY_FALLBACKS) still accepts them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_otp.plugins.otp_static.models import StaticToken

from merchants.models import User
from merchants.two_factor import services
from tests.conftest import PASSWORD
from tests.merchants.test_two_factor import later

BEFORE = [("merchants", "0006_second_factor_enrolment_link"), ("otp_static", "0003_add_timestamps")]
AFTER = [("merchants", "0007_recovery_codes_to_digests")]


@pytest.fixture
def person(db) -> User:
    return User.objects.create_user(email="dana@acme.test", password=PASSWORD)


def raw_tokens() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT token FROM {StaticToken._meta.db_table}")
        return [row[0] for row in cursor.fetchall()]


def test_the_raw_column_holds_no_recovery_code(person):
    codes = services.recovery_codes_replace(person)
    stored = raw_tokens()
    assert len(stored) == 10
    for code in codes:
        plain = code.replace("-", "")
        assert all(plain not in value and plain[:5] not in value for value in stored)
    assert services.code_verify(person, codes[0]).used_recovery_code


def test_a_wrong_code_is_still_refused_and_a_used_one_is_gone(person):
    codes = services.recovery_codes_replace(person)
    assert services.code_verify(person, "aaaaa-bbbbb").device is None
    with later(5):  # past django-otp's back-off after the wrong code
        assert services.code_verify(person, codes[1]).device is not None
    assert services.recovery_codes_left(person) == 9


def test_codes_survive_a_secret_key_rotation_with_the_old_key_as_a_fallback(person, settings):
    codes = services.recovery_codes_replace(person)
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "a-brand-new-secret-key-" + "x" * 40
    settings.SECRET_KEY_FALLBACKS = [old]
    assert services.code_verify(person, codes[2]).device is not None
    settings.SECRET_KEY_FALLBACKS = []
    # With the old key gone, old codes no longer match (the app's codes still would).
    assert services.code_verify(person, codes[3]).device is None


@pytest.mark.django_db(transaction=True)
def test_codes_noted_before_the_migration_still_work_after_it():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    user = apps.get_model("merchants", "User").objects.create(email="old@acme.test")
    device = apps.get_model("otp_static", "StaticDevice").objects.create(user_id=user.pk, name="Recovery codes")
    apps.get_model("otp_static", "StaticToken").objects.create(device=device, token="abcdefghij")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    assert "abcdefghij" not in raw_tokens()
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    person = User.objects.get(email="old@acme.test")
    assert services.code_verify(person, "ABCDE-FGHIJ").used_recovery_code
    assert services.recovery_codes_left(person) == 0

"""Credentials are encrypted at rest, rotate without loss, and fail loudly."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from config.crypto import UndecryptableCredential
from stores.models import Credential
from tests.conftest import ACME_CLIENT_ID, ACME_SECRET, ACME_TOKEN

OLD_KEY = "old-key-for-tests"
NEW_KEY = "new-key-for-tests"


def raw_columns(store_id: int) -> dict[str, bytes]:
    table = connection.ops.quote_name(Credential._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT client_id, client_secret, access_token FROM {table} WHERE store_id = %s",
            [store_id],
        )
        row = cursor.fetchone()
    return dict(zip(("client_id", "client_secret", "access_token"), (bytes(v) for v in row), strict=True))


def test_raw_columns_hold_no_plaintext(acme_store):
    raw = raw_columns(acme_store.pk)
    for name, plaintext in (
        ("client_id", ACME_CLIENT_ID),
        ("client_secret", ACME_SECRET),
        ("access_token", ACME_TOKEN),
    ):
        assert plaintext.encode() not in raw[name]
        assert plaintext[:8].encode() not in raw[name]
        assert raw[name].startswith(b"gAAAA")  # a Fernet token


def test_values_round_trip_and_fingerprints(acme_store):
    credential = Credential.objects.get(store=acme_store)
    assert credential.access_token == ACME_TOKEN
    assert credential.client_secret == ACME_SECRET
    assert credential.client_id == ACME_CLIENT_ID
    assert credential.access_token_last4 == ACME_TOKEN[-4:]
    assert ACME_TOKEN not in repr(credential) and ACME_TOKEN not in str(credential)


def test_wrong_key_fails_loudly_never_returns_ciphertext(acme_store):
    with override_settings(FERNET_KEYS=["a-key-that-never-encrypted-anything"]):
        with pytest.raises(UndecryptableCredential, match="FERNET_KEYS"):
            Credential.objects.get(store=acme_store)


def test_fingerprints_only_never_decrypts(acme_store):
    with override_settings(FERNET_KEYS=["a-key-that-never-encrypted-anything"]):
        credential = Credential.objects.fingerprints_only().get(store=acme_store)
        assert credential.access_token_last4 == ACME_TOKEN[-4:]


def test_rotation_old_key_to_new_key_then_old_key_removed(acme_store, globex_store, capsys):
    with override_settings(FERNET_KEYS=[OLD_KEY]):
        for store in (acme_store, globex_store):
            Credential.objects.filter(store=store).delete()
            credential = Credential(store=store)
            credential.set_values(
                client_id=f"id-{store.pk}", client_secret=f"secret-{store.pk}", access_token=f"token-{store.pk}"
            )
            credential.save()
    before = {store.pk: raw_columns(store.pk) for store in (acme_store, globex_store)}

    with override_settings(FERNET_KEYS=[NEW_KEY, OLD_KEY]):
        call_command("rotate_credentials")
        assert "Re-encrypted 2 rows" in capsys.readouterr().out
        call_command("rotate_credentials")  # idempotent: nothing left to move
        assert "Re-encrypted 0 rows under the first key; 2 were already current" in capsys.readouterr().out

    for store in (acme_store, globex_store):
        assert raw_columns(store.pk)["access_token"] != before[store.pk]["access_token"]
    with override_settings(FERNET_KEYS=[NEW_KEY]):
        for store in (acme_store, globex_store):
            credential = Credential.objects.get(store=store)
            assert credential.access_token == f"token-{store.pk}"
            assert credential.client_secret == f"secret-{store.pk}"
            assert credential.client_id == f"id-{store.pk}"
    with override_settings(FERNET_KEYS=[OLD_KEY]):
        with pytest.raises(UndecryptableCredential):
            Credential.objects.get(store=acme_store)


def test_rotation_interrupted_midway_resumes_without_loss(acme_store, globex_store, monkeypatch):
    from stores import rotation

    with override_settings(FERNET_KEYS=[OLD_KEY]):
        for store in (acme_store, globex_store):
            Credential.objects.filter(store=store).delete()
            credential = Credential(store=store)
            credential.set_values(client_id="id", client_secret="secret", access_token=f"token-{store.pk}")
            credential.save()

    real_rotate_rows = rotation._rotate_rows
    calls = {"n": 0}

    def crash_on_second_transaction(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed midway")
        return real_rotate_rows(*args, **kwargs)

    with override_settings(FERNET_KEYS=[NEW_KEY, OLD_KEY]):
        monkeypatch.setattr(rotation, "_rotate_rows", crash_on_second_transaction)
        with pytest.raises(KeyboardInterrupt):
            rotation.rotate_credentials(batch_size=1)
        monkeypatch.setattr(rotation, "_rotate_rows", real_rotate_rows)
        result = rotation.rotate_credentials(batch_size=1)
        assert (result.moved, result.already_current) == (1, 1)

    with override_settings(FERNET_KEYS=[NEW_KEY]):
        tokens = sorted(c.access_token for c in Credential.objects.all())
    assert tokens == sorted(f"token-{s.pk}" for s in (acme_store, globex_store))


def test_rotation_leaves_a_credential_replaced_meanwhile_alone(acme_store):
    from stores import rotation

    with override_settings(FERNET_KEYS=[OLD_KEY]):
        credential = Credential.objects.fingerprints_only().get(store=acme_store)
        credential.set_values(client_id="old-id", client_secret="old-secret", access_token="old-token")
        credential.save()
    stale = raw_columns(acme_store.pk)  # what the rotation read

    with override_settings(FERNET_KEYS=[NEW_KEY, OLD_KEY]):
        # The merchant replaces the credentials before the rotation writes.
        credential = Credential.objects.get(store=acme_store)
        credential.set_values(client_id="new-id", client_secret="new-secret", access_token="new-token")
        credential.save()
        table = connection.ops.quote_name(Credential._meta.db_table)
        quoted = [connection.ops.quote_name(c) for c in Credential.SECRET_FIELDS]
        result = rotation.RotationResult()
        rotation._rotate_rows(table, quoted, [(credential.pk, list(stale.values()))], result, pk="id")
        assert (result.moved, result.changed_meanwhile) == (0, 1)
        assert Credential.objects.get(store=acme_store).access_token == "new-token"


def test_one_transaction_of_rows_moves_those_unchanged_and_leaves_one_replaced_meanwhile(acme_store, globex_store):
    from stores import rotation

    with override_settings(FERNET_KEYS=[OLD_KEY]):
        for store in (acme_store, globex_store):
            Credential.objects.filter(store=store).delete()
            credential = Credential(store=store)
            credential.set_values(client_id="id", client_secret="secret", access_token=f"old-{store.pk}")
            credential.save()
    read = {store.pk: raw_columns(store.pk) for store in (acme_store, globex_store)}
    with override_settings(FERNET_KEYS=[NEW_KEY, OLD_KEY]):
        replaced = Credential.objects.get(store=globex_store)
        replaced.set_values(client_id="new-id", client_secret="new-secret", access_token="new-token")
        replaced.save()
        table = connection.ops.quote_name(Credential._meta.db_table)
        quoted = [connection.ops.quote_name(c) for c in Credential.SECRET_FIELDS]
        rows = [
            (Credential.objects.get(store=store).pk, list(read[store.pk].values()))
            for store in (acme_store, globex_store)
        ]
        result = rotation.RotationResult()
        rotation._rotate_rows(table, quoted, rows, result, pk="id")
        assert (result.moved, result.changed_meanwhile) == (1, 1)
        assert Credential.objects.get(store=globex_store).access_token == "new-token"
    with override_settings(FERNET_KEYS=[NEW_KEY]):
        assert Credential.objects.get(store=acme_store).access_token == f"old-{acme_store.pk}"


def test_rotation_covers_every_encrypted_value(acme_store, alice):
    from connect.models import CredentialDraft
    from notifications.models import WebhookEndpoint

    with override_settings(FERNET_KEYS=[OLD_KEY]):
        endpoint = WebhookEndpoint.objects.create(name="core", url="https://hooks.violet.test/")
        secret = WebhookEndpoint.objects.get().secret
        CredentialDraft.objects.create(
            merchant=acme_store.merchant, user=alice, access_token="kept-token", expires_at=CredentialDraft.new_expiry()
        )
        Credential.objects.filter(store=acme_store).delete()
    with override_settings(FERNET_KEYS=[NEW_KEY, OLD_KEY]):
        call_command("rotate_credentials", stdout=__import__("io").StringIO())
    with override_settings(FERNET_KEYS=[NEW_KEY]):
        assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret
        assert CredentialDraft.objects.get().access_token == "kept-token"


def test_rotation_rotates_around_an_undecryptable_row_names_it_and_exits_non_zero(acme_store, globex_store, capsys):
    from django.core.management.base import CommandError

    from stores.models import Store

    third = Store.objects.create(merchant=acme_store.merchant, store_hash="third3", status="connected")
    stores = (acme_store, globex_store, third)
    for store, key in zip(stores, [OLD_KEY, "a-key-since-lost", OLD_KEY], strict=True):
        with override_settings(FERNET_KEYS=[key]):
            Credential.objects.filter(store=store).delete()
            credential = Credential(store=store)
            credential.set_values(client_id="id", client_secret="secret", access_token=f"token-{store.pk}")
            credential.save()
    bad = Credential.objects.fingerprints_only().get(store=globex_store)
    bad_raw = raw_columns(globex_store.pk)

    with override_settings(FERNET_KEYS=[NEW_KEY, OLD_KEY]):
        for _ in range(2):  # every re-run still rotates what it can and still names the bad row
            with pytest.raises(CommandError) as excinfo:
                call_command("rotate_credentials", batch_size=1)
            message = str(excinfo.value)
            assert f"stores_credential id {bad.pk}" in message and message.startswith("1 rows hold a value")
            out = capsys.readouterr().out
            for value in (*bad_raw.values(), b"secret", b"token"):
                assert value.decode(errors="replace") not in message + out
        assert raw_columns(globex_store.pk) == bad_raw  # left as it was
    with override_settings(FERNET_KEYS=[NEW_KEY]):  # the others made it
        assert Credential.objects.get(store=acme_store).access_token == f"token-{acme_store.pk}"
        assert Credential.objects.get(store=third).access_token == f"token-{third.pk}"

        # Fixed (new credentials saved): the next run finishes clean.
        fixed = Credential.objects.fingerprints_only().get(store=globex_store)
        fixed.set_values(client_id="id2", client_secret="secret2", access_token="token-fixed")
        fixed.save()
    with override_settings(FERNET_KEYS=[NEW_KEY, OLD_KEY]):
        call_command("rotate_credentials")
        assert "Re-encrypted 0 rows under the first key; 3 were already current." in capsys.readouterr().out

    # Deleted instead: clean too.
    with override_settings(FERNET_KEYS=["a-key-since-lost"]):
        bad = Credential.objects.fingerprints_only().get(store=third)
        bad.set_values(client_id="id", client_secret="secret", access_token="lost")
        bad.save()
    with override_settings(FERNET_KEYS=[NEW_KEY, OLD_KEY]):
        with pytest.raises(CommandError, match=f"stores_credential id {bad.pk}"):
            call_command("rotate_credentials")
        Credential.objects.filter(pk=bad.pk).delete()
        call_command("rotate_credentials")
        assert "Re-encrypted 0 rows under the first key; 2 were already current." in capsys.readouterr().out


@pytest.mark.skipif(connection.vendor != "postgresql", reason="other processes see the rows only on a server")
@pytest.mark.django_db(transaction=True)
def test_rotation_in_two_processes_moves_every_row_once(acme, tmp_path, monkeypatch):
    """With `processes`, each forked process rotates its own share of the ids
    (own connection, the same compare-and-swap transactions): every row moves
    once, by a process other than the command's, and the counts add up."""
    from stores import rotation
    from stores.models import Store

    with override_settings(FERNET_KEYS=[OLD_KEY]):
        stores = Store.objects.bulk_create(Store(merchant=acme, store_hash=f"rot{i}") for i in range(40))
        for store in stores:
            credential = Credential(store=store)
            credential.set_values(client_id=f"id{store.pk}", client_secret=f"s{store.pk}", access_token=f"t{store.pk}")
            credential.save()
    workers = tmp_path / "pids"
    real_rotate_rows = rotation._rotate_rows

    def recording(table, quoted, rows, result, **kwargs):  # runs in the forked processes
        with workers.open("a") as out:
            out.write("".join(f"{__import__('os').getpid()} {row_id}\n" for row_id, _ in rows))
        return real_rotate_rows(table, quoted, rows, result, **kwargs)

    monkeypatch.setattr(rotation, "_rotate_rows", recording)
    with override_settings(FERNET_KEYS=[NEW_KEY, OLD_KEY]):
        result = rotation.rotate_credentials(batch_size=7, processes=2)
    assert (result.moved, result.already_current, result.changed_meanwhile, result.undecryptable) == (40, 0, 0, [])
    seen = [line.split() for line in workers.read_text().splitlines()]
    pids = {pid for pid, _ in seen}
    assert len(pids) == 2 and str(__import__("os").getpid()) not in pids
    assert sorted(int(row_id) for _, row_id in seen) == sorted(Credential.objects.values_list("pk", flat=True))
    with override_settings(FERNET_KEYS=[NEW_KEY]):
        assert {c.store_id: c.access_token for c in Credential.objects.all()} == {s.pk: f"t{s.pk}" for s in stores}


def test_rotation_inside_a_transaction_stays_in_one_process(acme_store):
    """Forked processes would not see the caller's uncommitted rows: inside a
    transaction (as every test here is) the rotation runs in this process."""
    from stores import rotation

    with override_settings(FERNET_KEYS=[NEW_KEY, *__import__("django.conf").conf.settings.FERNET_KEYS]):
        result = rotation.rotate_credentials(processes=2)
    assert result.moved == 1

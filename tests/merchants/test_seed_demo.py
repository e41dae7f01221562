import json
from io import StringIO

from django.core.management import call_command
from django.test import Client

from merchants.models import Membership, Merchant, User


def run_seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_seed_demo_is_idempotent_and_its_logins_work(db):
    run_seed()
    logins = json.loads(run_seed("--json"))["logins"]
    assert User.objects.count() == 4
    assert Merchant.objects.count() == 2
    assert Membership.objects.count() == 3
    for login in logins:
        response = Client().post("/login/", {"username": login["email"], "password": login["password"]})
        assert response.status_code == 302, login["email"]
    roles = {(m.user.email, m.merchant.name, m.role) for m in Membership.objects.select_related("user", "merchant")}
    assert ("alice@acme.test", "Acme", "owner") in roles
    assert ("bob@acme.test", "Acme", "member") in roles
    assert ("charlie@globex.test", "Globex", "owner") in roles
    assert User.objects.get(email="staff@violet.test").is_staff


def test_seed_demo_prints_the_logins(db):
    out = run_seed()
    assert "alice@acme.test" in out and "acme-alice-demo" in out

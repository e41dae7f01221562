"""merchants 0004 records in which right existing invitations were sent: staff,
an owner, or (no sender) the command-line import, whose links keep working."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("merchants", "0003_user_email_verified_at")]
AFTER = [("merchants", "0004_invitation_sent_as")]


@pytest.mark.django_db(transaction=True)
def test_existing_invitations_get_their_sender_kind():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    User, Merchant, Invitation = (apps.get_model("merchants", name) for name in ("User", "Merchant", "Invitation"))
    merchant = Merchant.objects.create(name="Acme", slug="acme")
    staff = User.objects.create(email="ops@violet.test", is_staff=True)
    owner = User.objects.create(email="alice@acme.test")
    for email, sender in [("a@x.test", staff), ("b@x.test", owner), ("c@x.test", None)]:
        Invitation.objects.create(merchant=merchant, email=email, invited_by=sender)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    sent_as = dict(apps.get_model("merchants", "Invitation").objects.values_list("email", "sent_as"))
    assert sent_as == {"a@x.test": "staff", "b@x.test": "owner", "c@x.test": "import"}
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

"""Outgoing webhooks go only to public addresses: checked when staff save an
endpoint, and again at delivery after DNS resolution, connecting to the
checked address itself (a rebinding DNS answer cannot slip in between)."""

import socket

import pytest
import responses
from django.urls import reverse
from django.utils import timezone

from notifications import destinations, services
from notifications.models import Notification, WebhookEndpoint
from stores import services as store_services
from stores.models import StatusChange
from tests.reports import credentials, report, revoke_by_two_checks

PUBLIC = "93.184.215.14"


@pytest.fixture
def production(settings):
    settings.WEBHOOK_ENDPOINTS_ALLOW_LOCAL = False


@pytest.fixture
def dns(monkeypatch):
    """Names resolve to what the test says (and are counted)."""

    class Answers(dict):
        asked: list[str]

    answers = Answers()
    asked: list[str] = []

    def resolve(host, port):
        asked.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        return answers[host]

    monkeypatch.setattr(destinations, "resolve", resolve)
    answers.asked = asked
    return answers


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/",  # https only in production
        "https://127.0.0.1:8000/",
        "https://localhost/",
        "https://api.localhost/",
        "https://[::1]/",
        "https://10.0.0.5/",
        "https://172.16.3.4/",
        "https://192.168.1.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/",
        "https://[fd00:ec2::254]/",
        "https://[::ffff:127.0.0.1]/",
        "https://0.0.0.0/",
        "https://user:pw@hooks.example.com/",
        "https://metadata.google.internal/",  # resolves to the metadata address
        "https://rebind.example.com/",  # one of its addresses is private
    ],
)
def test_internal_destinations_are_refused_at_save_time(url, production, dns):
    dns["metadata.google.internal"] = ["169.254.169.254"]
    dns["rebind.example.com"] = [PUBLIC, "10.1.2.3"]
    assert destinations.url_problem(url) is not None


def test_public_https_is_accepted(production, dns):
    dns["hooks.example.com"] = [PUBLIC]
    assert destinations.url_problem("https://hooks.example.com/violet") is None
    assert destinations.url_problem(f"https://{PUBLIC}/x") is None
    # A name that does not resolve now is not refused: the delivery checks again.
    assert destinations.url_problem("https://not-yet.example.com/") is None


def test_development_allows_http_and_loopback_only(settings, dns):
    settings.WEBHOOK_ENDPOINTS_ALLOW_LOCAL = True
    assert destinations.url_problem("http://127.0.0.1:8000/hooks") is None
    assert destinations.url_problem("http://localhost:9000/") is None
    assert destinations.url_problem("http://10.0.0.1/") is not None
    assert destinations.url_problem("http://169.254.169.254/") is not None


def test_the_console_form_refuses_an_internal_address(admin_client, production, dns):
    response = admin_client.post(
        reverse("admin:notifications_webhookendpoint_add"),
        {"name": "Internal", "url": "https://127.0.0.1:6379/", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "loopback" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_save_service_refuses_too(production, dns, db):
    with pytest.raises(services.EndpointRefused):
        services.webhook_endpoint_save(endpoint=WebhookEndpoint(name="x", url="https://10.0.0.1/"))
    assert not WebhookEndpoint.objects.exists()


# --- at delivery ---------------------------------------------------------------------


@pytest.fixture
def revoked(acme, alice):
    store = store_services.store_connect(merchant=acme, credentials=credentials(), report=report())
    StatusChange.objects.update(processed_at=timezone.now())
    revoke_by_two_checks(store)
    return store


@pytest.fixture
def connections(monkeypatch):
    """Every socket the delivery opens (none really: it fails at once)."""
    opened = []

    def create_connection(address, *args, **kwargs):
        opened.append(address)
        raise ConnectionRefusedError("test: not really connecting")

    monkeypatch.setattr(destinations.connection, "create_connection", create_connection)
    return opened


def test_a_name_that_now_resolves_inside_is_refused_at_delivery(revoked, production, dns, connections):
    dns["hooks.example.com"] = [PUBLIC]
    endpoint = services.webhook_endpoint_save(endpoint=WebhookEndpoint(name="core", url="https://hooks.example.com/v"))
    dns["hooks.example.com"] = ["169.254.169.254"]  # the DNS answer changed since
    services.status_changes_process()
    services.notifications_deliver_due()

    hook = Notification.objects.get(channel="webhook")
    assert hook.state == "failed"
    assert connections == []  # never connected
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "169.254.169.254" in endpoint.disabled_reason


def test_the_connection_goes_to_the_checked_address(revoked, production, dns, connections):
    dns["hooks.example.com"] = [PUBLIC]
    services.webhook_endpoint_save(endpoint=WebhookEndpoint(name="core", url="https://hooks.example.com/v"))
    dns.asked.clear()
    services.status_changes_process()
    services.notifications_deliver_due()
    # One lookup, and the socket opened to the address that lookup returned and
    # the check passed (not the name, which would be looked up again).
    assert dns.asked == ["hooks.example.com"]
    assert connections == [(PUBLIC, 443)]
    assert Notification.objects.get(channel="webhook").state == "pending"  # a connection error: retried later


def test_an_endpoint_saved_before_the_rules_is_refused_at_delivery(revoked, production, dns, connections):
    WebhookEndpoint.objects.create(name="old", url="http://127.0.0.1:6379/")
    services.status_changes_process()
    services.notifications_deliver_due()
    assert Notification.objects.get(channel="webhook").state == "failed"
    assert connections == []


@responses.activate
def test_responses_still_fakes_deliveries(revoked, dns):
    # The tests' usual way to fake an endpoint keeps working with the pinned session.
    responses.post("https://hooks.violet.test/x", status=204)
    WebhookEndpoint.objects.create(name="core", url="https://hooks.violet.test/x")
    services.status_changes_process()
    services.notifications_deliver_due()
    assert Notification.objects.get(channel="webhook").state == "delivered"


# Issue 28, item 12: IPv6 forms that wrap a private or metadata IPv4 address
# (NAT64, 6to4, IPv4-compatible, IPv4-mapped) and IPv6 site-local passed;
# each address is judged by where it leads. (address, refused?)
ADDRESS_TABLE = [
    ("64:ff9b::a9fe:a9fe", True),  # NAT64 → 169.254.169.254, the metadata service
    ("64:ff9b::a00:5", True),  # NAT64 → 10.0.0.5
    ("64:ff9b::7f00:1", True),  # NAT64 → 127.0.0.1
    ("64:ff9b:1::a9fe:a9fe", True),  # local-use NAT64 prefix (RFC 8215)
    ("2002:a9fe:a9fe::1", True),  # 6to4 → 169.254.169.254
    ("2002:c0a8:101::1", True),  # 6to4 → 192.168.1.1
    ("2002:7f00:1::", True),  # 6to4 → 127.0.0.1
    ("::a9fe:a9fe", True),  # IPv4-compatible → 169.254.169.254
    ("::a00:5", True),  # IPv4-compatible → 10.0.0.5
    ("::ffff:a9fe:a9fe", True),  # IPv4-mapped → 169.254.169.254
    ("::ffff:10.0.0.5", True),
    ("fec0::1", True),  # site-local (deprecated, private)
    ("fed0::a9fe:a9fe", True),
    ("fc00::1", True),  # unique local
    ("fe80::1", True),  # link-local
    ("2001:db8::1", True),  # documentation
    ("2001::a9fe:a9fe", True),  # Teredo
    ("100::1", True),  # discard-only
    ("ff02::1", True),  # multicast
    ("::", True),
    ("::1", True),
    ("169.254.169.254", True),
    ("100.64.0.1", True),
    ("224.0.0.1", True),
    ("240.0.0.1", True),
    ("255.255.255.255", True),
    ("93.184.216.34", False),  # public IPv4
    ("2606:2800:220:1:248:1893:25c8:1946", False),  # public IPv6
    ("64:ff9b::5db8:d822", False),  # NAT64 → 93.184.216.34, public
    ("2002:5db8:d822::1", False),  # 6to4 → 93.184.216.34, public
    ("::ffff:93.184.216.34", False),
]


@pytest.mark.parametrize("address,refused", ADDRESS_TABLE)
def test_every_address_is_judged_by_where_it_leads(production, address, refused):
    assert (destinations.address_problem(address) is not None) is refused
    host = f"[{address}]" if ":" in address else address
    assert (destinations.url_problem(f"https://{host}/hooks") is not None) is refused


@pytest.mark.parametrize("address", ["64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "::a9fe:a9fe", "fec0::1"])
def test_a_name_resolving_to_a_wrapped_internal_address_is_refused(production, dns, address):
    dns["wrapped.example.com"] = [address]
    assert destinations.url_problem("https://wrapped.example.com/") is not None

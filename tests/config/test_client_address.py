"""The client's address, decided once: X-Forwarded-For read from the right,
only as deep as the trusted proxies; ignored without them."""

from __future__ import annotations

import json
import logging

import pytest
from django.core.cache import cache
from django.test import RequestFactory, override_settings
from django.urls import reverse

from config.client_address import client_ip, client_ip_from
from tests.conftest import PASSWORD, client_for
from tests.connect.test_wizard import bigcommerce, fields, url  # noqa: F401 - fixtures

BALANCER = "10.0.0.5"


@pytest.mark.parametrize(
    ("remote", "forwarded", "proxies", "expected"),
    [
        # No trusted proxy: the header is the client's to write, so it is ignored.
        ("203.0.113.7", "198.51.100.1", 0, "203.0.113.7"),
        ("203.0.113.7", "", 0, "203.0.113.7"),
        # One trusted proxy: the right-most entry is what it saw.
        (BALANCER, "198.51.100.1", 1, "198.51.100.1"),
        # ...and whatever the client put to its left cannot choose the address.
        (BALANCER, "1.1.1.1, 8.8.8.8, 198.51.100.1", 1, "198.51.100.1"),
        (BALANCER, "1.1.1.1,198.51.100.1", 1, "198.51.100.1"),
        # Two trusted proxies: the second from the right.
        ("10.0.0.9", "6.6.6.6, 198.51.100.1, 10.0.0.5", 2, "198.51.100.1"),
        # Fewer entries than trusted proxies: not through them as configured.
        (BALANCER, "198.51.100.1", 2, BALANCER),
        # Not an address where the client's should be.
        (BALANCER, "1.1.1.1, unknown", 1, BALANCER),
        (BALANCER, "1.1.1.1, 198.51.100.1:4711", 1, BALANCER),
        # IPv6, normalised.
        ("::1", "2001:DB8::0:1", 1, "2001:db8::1"),
    ],
)
def test_the_rule(remote, forwarded, proxies, expected):
    assert client_ip_from(remote, forwarded, proxies) == expected


def test_from_a_request_with_the_setting(settings):
    request = RequestFactory().get("/", REMOTE_ADDR=BALANCER, HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.1")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == BALANCER
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "198.51.100.1"


def login(client, email, password, *, remote, forwarded):
    return client.post(
        reverse("login"),
        {"username": email, "password": password},
        REMOTE_ADDR=remote,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


def test_without_trusted_proxies_a_spoofed_header_does_not_escape_the_login_lock(client, alice, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for n in range(settings.AXES_FAILURE_LIMIT):
        login(client, alice.email, "wrong", remote="203.0.113.7", forwarded=f"198.51.100.{n}")
    assert login(client, alice.email, PASSWORD, remote="203.0.113.7", forwarded="198.51.100.200").status_code == 429


def test_behind_a_balancer_the_lock_is_per_client_not_per_balancer(client, alice, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(settings.AXES_FAILURE_LIMIT):
        # The attacker forges the left part differently each time: still one address.
        login(client, alice.email, "wrong", remote=BALANCER, forwarded=f"1.2.3.{n}, 198.51.100.66")
    assert login(client, alice.email, PASSWORD, remote=BALANCER, forwarded="198.51.100.66").status_code == 429
    # Alice, through the same balancer from her own address, is not locked out.
    assert login(client, alice.email, PASSWORD, remote=BALANCER, forwarded="203.0.113.7").status_code == 302


@override_settings(CONNECT_THROTTLE_PER_ADDRESS=2, CONNECT_THROTTLE_PER_MERCHANT=100, TRUSTED_PROXY_COUNT=1)
def test_the_live_check_throttle_counts_the_client_behind_the_balancer(alice, bigcommerce, url):  # noqa: F811
    cache.clear()
    client = client_for(alice)

    def post(forwarded):
        return client.post(url, fields(access_token="z" * 31), REMOTE_ADDR=BALANCER, HTTP_X_FORWARDED_FOR=forwarded)

    assert post("9.9.9.1, 198.51.100.66").status_code == 422
    assert post("9.9.9.2, 198.51.100.66").status_code == 422
    assert post("9.9.9.3, 198.51.100.66").status_code == 429  # a forged left part did not reset it
    assert post("203.0.113.7").status_code == 422  # another client through the same balancer


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_the_request_log_names_the_route_and_the_client(client, alice, caplog):
    with caplog.at_level(logging.INFO, logger="violet.request"):
        client_for(alice).get(
            reverse("connect:wizard_credentials", args=["acme"]) + "?token=should-not-appear",
            REMOTE_ADDR=BALANCER,
            HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.66",
        )
    [record] = [r for r in caplog.records if r.name == "violet.request"]
    assert record.client_ip == "198.51.100.66"
    assert record.status == 200
    assert record.route == "/m/<slug:merchant_slug>/connect/credentials/"
    assert "should-not-appear" not in record.getMessage() and "acme" not in record.getMessage()
    json.dumps(record.__dict__, default=str)  # serialisable as a JSON line

"""Helpers for the tests of service clients."""

from __future__ import annotations

from django.test import Client

from api.service_clients import service_client_create


def service_client(name="order-sync", scopes=("stores:read",), networks=(), by=None):
    """(client, secret)."""
    issued = service_client_create(name=name, scopes=list(scopes), networks=list(networks), by=by)
    return issued.client, issued.secret


def bearer(secret: str, **extra) -> Client:
    return Client(headers={"Authorization": f"Bearer {secret}"}, **extra)

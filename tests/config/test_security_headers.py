"""Security headers on every response; production adds HSTS and secure cookies."""

from django.urls import reverse


def test_every_page_sends_csp_frame_and_referrer_headers(client, db):
    response = client.get(reverse("login"))
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "camera=()" in response["Permissions-Policy"]


def test_cookies_are_httponly(client, alice):
    response = client.post(reverse("login"), {"username": alice.email, "password": "correct-horse-battery-staple"})
    assert response.cookies["sessionid"]["httponly"] is True
    client.logout()
    page = client.get(reverse("signup"))  # a form: the CSRF cookie is set
    assert page.cookies["csrftoken"]["httponly"] is True


def test_production_sends_hsts_and_secure_cookies(tmp_path):
    from tests.config.test_settings import PRODUCTION_ENV, manage

    env = {**PRODUCTION_ENV, "STATIC_ROOT": str(tmp_path / "static")}
    collected = manage("collectstatic", "--noinput", "-v0", env=env)
    assert collected.returncode == 0, collected.stderr[-2000:]
    result = manage(
        "shell",
        "-c",
        "from django.test import Client; r = Client().get('/login/', secure=True, HTTP_HOST='connect.violet.io'); "
        "print(r['Strict-Transport-Security'])",
        env=env,
    )
    last = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 0, result.stderr[-2000:]
    assert "max-age=31536000" in last and "includeSubDomains" in last and "preload" in last


def test_a_signed_in_persons_pages_are_never_stored(client, alice, acme_store):
    client.force_login(alice)
    for path in (
        reverse("connect:dashboard", args=["acme"]),
        reverse("connect:people", args=["acme"]),
        reverse("connect:store_detail", args=["acme", acme_store.store_hash]),
    ):
        cache_control = client.get(path)["Cache-Control"]
        assert "no-store" in cache_control and "private" in cache_control, path


def test_anonymous_pages_are_left_alone(client, db):
    assert "no-store" not in client.get(reverse("signup")).get("Cache-Control", "")

"""Production settings pass `manage.py check --deploy`, and responses carry HSTS (behind TLS) and a CSP."""

import secrets
import subprocess
import sys

import pytest
from django.test import override_settings

from support import ROOT, subprocess_env

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "crm.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://crm.example.com",
    "SITE_URL": "https://crm.example.com",
    "SECURE_COOKIES": "true",
    "BEHIND_PROXY": "true",
}


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.django_db
def test_check_deploy_is_clean_with_production_settings():
    env = subprocess_env() | PRODUCTION
    # The defaults decide, and nothing the test run itself needs (Playwright's async-unsafe switch) leaks in.
    for name in ("SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT", "SECURE_HSTS_PRELOAD", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
                 "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(name, None)
    result = check_deploy(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.django_db
def test_check_deploy_would_catch_a_deployment_without_hsts():
    env = subprocess_env() | PRODUCTION | {"SECURE_HSTS_SECONDS": "0"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = check_deploy(env)
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout and "async.E001" not in result.stderr + result.stdout


@pytest.mark.django_db
@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"), SECURE_HSTS_SECONDS=31536000)
def test_an_https_response_behind_the_proxy_carries_hsts_and_plain_http_does_not(client):
    https = client.get("/login/", HTTP_X_FORWARDED_PROTO="https")
    assert https["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "Strict-Transport-Security" not in client.get("/login/")


@pytest.mark.django_db
@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"), SECURE_SSL_REDIRECT=True)
def test_plain_http_is_redirected_to_https_except_the_health_probe(client):
    response = client.get("/login/")
    assert response.status_code == 301 and response["Location"] == "https://testserver/login/"
    assert client.get("/healthz").status_code != 301


@pytest.mark.django_db
def test_every_page_carries_a_content_security_policy_without_inline_script(client, world):
    client.force_login(world.bdc)
    policy = client.get("/alerts/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert "unsafe" not in directives["script-src"] and "unsafe" not in directives["style-src"]
    assert "'self'" in directives["connect-src"] and "ws://localhost:8000" in directives["connect-src"]
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "Content-Security-Policy" in client.get("/login/")

"""HTTP security headers and the production settings (`manage.py check --deploy`)."""

import base64
import hashlib
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from config.urls import SWAGGER_UI_STYLE_HASH
from tests.factories import api_token

TEMPLATE_DIRS = [Path(settings.BASE_DIR) / "templates", *Path(settings.BASE_DIR).glob("*/templates")]


def _csp(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize("path", ["/accounts/login/", "/api/docs/"])
def test_pages_carry_the_security_headers(client, db, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    policy = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment"):
        assert f"{feature}=()" in policy


def test_content_security_policy_forbids_inline_code_and_foreign_origins(client, db):
    csp = _csp(client.get("/accounts/login/"))
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert not any("unsafe" in value for values in csp.values() for value in values)


def test_swagger_ui_needs_no_inline_script_and_its_one_style_block_is_allowed_by_hash(client, db):
    response = client.get("/api/docs/")
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script in the Swagger UI page"
    styles = re.findall(r"<style>(.*?)</style>", html, flags=re.DOTALL)
    allowed = _csp(response)["style-src"]
    assert "'unsafe-inline'" not in allowed
    for style in styles:
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in allowed, "drf-spectacular's inline style changed: update SWAGGER_UI_STYLE_HASH"
    assert SWAGGER_UI_STYLE_HASH in allowed
    assert _csp(client.get("/accounts/login/"))["style-src"] == ["'self'"], "the hash is for the docs page only"
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")


def test_templates_have_no_inline_script_style_or_event_handlers():
    offenders = []
    for folder in TEMPLATE_DIRS:
        for template in folder.rglob("*.html"):
            text = template.read_text()
            if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text):
                offenders.append(f"{template}: inline <script>")
            if re.search(r"<style\b", text):
                offenders.append(f"{template}: <style> block")
            if re.search(r"\sstyle\s*=", text):
                offenders.append(f"{template}: style attribute")
            if re.search(r"\son[a-z]+\s*=", text):
                offenders.append(f"{template}: event handler attribute")
    assert not offenders, offenders


def test_api_answers_are_not_stored_also_for_token_requests(client, personas):
    response = client.get("/api/v1/referrals/", HTTP_AUTHORIZATION=f"Token {api_token(personas.caseworker_hilden)}")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert client.get("/api/v1/referrals/")["Cache-Control"] == "no-store"  # refused, still not stored


def test_pages_of_logged_in_people_are_not_stored(client, personas):
    client.force_login(personas.caseworker_hilden)
    response = client.get("/api/schema/")
    assert response["Cache-Control"] == "no-store"
    response = client.get("/", follow=True)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def _production_environment(**extra) -> dict[str, str]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "SECURE_"))
    }
    environment.update(DEBUG="false", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="kinderschutz.example")
    environment.update(extra)
    return environment


def _check_deploy(**extra):
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=_production_environment(**extra),
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = _check_deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (0 silenced)" in result.stdout


def test_check_deploy_notices_a_production_without_hsts():
    """The check above can fail: without HSTS Django warns, and the warning fails the run."""
    result = _check_deploy(SECURE_HSTS_SECONDS="0")
    assert result.returncode != 0
    assert "security.W004" in result.stderr


def test_proxy_ssl_header_is_configurable():
    code = "import django; django.setup(); from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=_production_environment(
            DJANGO_SETTINGS_MODULE="config.settings", SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https"
        ),
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("('HTTP_X_FORWARDED_PROTO', 'https')")

"""Security headers and cookies on every route of both apps, the 404 page included, over http and https."""

import re

import pytest
from flask.testing import FlaskClient

from helpers import ConsoleHelper
from kiosk import create_app as create_kiosk
from staff_console import create_app as create_console

def routes(app):
    """Every (method, path) an app answers, read from its URL map, plus a page that does not exist."""
    adapter = app.url_map.bind("localhost")
    found = [("GET", "/no-such-page"), ("GET", "/static/worrybox.css")]
    for rule in app.url_map.iter_rules():
        path = adapter.build(rule.endpoint, {name: 1 for name in rule.arguments}) if rule.endpoint != "static" \
            else "/static/worrybox.css"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return sorted(set(found))


def check_headers(response, method, path, https):
    where = "%s %s (%d)" % (method, path, response.status_code)
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = dict((part.strip().split(" ", 1) + [""])[:2] for part in csp.split(";") if part.strip())
    assert directives.get("default-src") == "'self'", where
    assert directives.get("script-src") == "'self'", where  # no 'unsafe-inline', no 'unsafe-eval'
    assert directives.get("frame-ancestors") == "'none'", where
    assert directives.get("object-src") == "'none'" and directives.get("base-uri") == "'none'", where
    assert "unsafe" not in csp, where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("Referrer-Policy") == "no-referrer", where
    if not path.startswith("/static/"):
        assert headers.get("Cache-Control") == "no-store", where
    if https:
        assert headers.get("Strict-Transport-Security", "").startswith("max-age="), where
    else:
        assert "Strict-Transport-Security" not in headers, where
    for cookie in headers.getlist("Set-Cookie"):
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie, "%s: %s" % (where, cookie)
        assert ("Secure" in cookie) == https, "%s: %s" % (where, cookie)
    assert "Server" not in headers or not re.search(r"\d", headers["Server"]), where
    if response.mimetype == "text/html":
        check_no_inline_code(response.get_data(as_text=True), where)


def check_no_inline_code(page, where):
    """The CSP forbids inline script and style: a page that has any would be broken, so none may."""
    for script in re.findall(r"<script\b[^>]*>", page, re.I):
        assert "src=" in script, "%s has an inline script" % where
    assert not re.search(r"<style\b", page, re.I), "%s has an inline <style>" % where
    assert not re.search(r"""\s(on[a-z]+|style)\s*=\s*["']""", page, re.I), "%s has an inline handler or style" % where
    assert "javascript:" not in page.lower(), where


class HttpsClient(FlaskClient):
    """A test client whose every request comes over https, as behind TLS."""

    def open(self, *args, **kwargs):
        if args and isinstance(args[0], str):
            kwargs.setdefault("base_url", "https://localhost")
        return super().open(*args, **kwargs)


def client_over(app, https):
    if not https:
        return app.test_client()
    app.test_client_class = HttpsClient
    return app.test_client()


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_every_kiosk_route_sends_the_security_headers(https, kiosk_app, child):
    child.post(text="a worry so that pages have something behind them", feeling="sad")
    client = client_over(kiosk_app, https)
    for method, path in routes(kiosk_app):
        response = client.open(path, method=method)
        assert response.status_code < 500, "%s %s" % (method, path)
        check_headers(response, method, path, https)


@pytest.mark.parametrize("signed_in", [False, True], ids=["signed out", "signed in as the DSL"])
@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_every_console_route_sends_the_security_headers(https, signed_in, console_app, child):
    child.post(text="a worry so that pages have something behind them", feeling="sad")
    client = client_over(console_app, https)
    if signed_in:
        assert ConsoleHelper(client).login().status_code == 303
    for method, path in routes(console_app):
        # A POST without its form's token changes nothing (sign-out included), so the walk stays signed in.
        response = client.open(path, method=method)
        assert response.status_code < 500, "%s %s" % (method, path)
        check_headers(response, method, path, https)
    assert (client.get("/").status_code == 200) == signed_in


def test_the_route_walk_sees_the_pages_that_matter(kiosk_app, console_app):
    kiosk_paths = {path for _, path in routes(kiosk_app)}
    console_paths = {path for _, path in routes(console_app)}
    assert {"/", "/worry", "/help", "/thanks", "/no-such-page"} <= kiosk_paths
    assert {"/", "/login", "/login/code", "/login/setup", "/password", "/worries/1", "/worries/1/not-real",
            "/settings", "/logout"} <= console_paths


@pytest.mark.parametrize("create", [create_kiosk, create_console], ids=["kiosk", "console"])
def test_cookies_are_secure_over_http_too_when_the_setting_says_so(create, data_dir, monkeypatch):
    monkeypatch.setenv("WORRYBOX_SECURE_COOKIES", "1")
    app = create({"DATA_DIR": data_dir, "TESTING": True})
    response = app.test_client().get("/worry" if create is create_kiosk else "/login")
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in cookie for cookie in cookies)


def test_behind_nginx_the_forwarded_https_and_address_are_believed_only_when_switched_on(data_dir, monkeypatch):
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.4.21"}
    plain = create_console({"DATA_DIR": data_dir, "TESTING": True}).test_client().get("/login", headers=headers)
    assert "Strict-Transport-Security" not in plain.headers, "a header anyone can send must not switch on HSTS"
    assert "Secure" not in plain.headers["Set-Cookie"]
    monkeypatch.setenv("WORRYBOX_BEHIND_PROXY", "1")
    app = create_console({"DATA_DIR": data_dir, "TESTING": True})
    seen = {}

    @app.get("/test-remote-addr")
    def remote_addr():
        from flask import request
        seen["addr"] = request.remote_addr
        return "ok"

    proxied = app.test_client().get("/login", headers=headers)
    assert proxied.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in proxied.headers["Set-Cookie"]
    app.test_client().get("/test-remote-addr", headers=headers)
    assert seen["addr"] == "10.0.4.21"


def test_requests_over_a_mebibyte_are_refused_and_the_kiosk_takes_a_drawing_sized_form(kiosk_app):
    assert kiosk_app.config["MAX_CONTENT_LENGTH"] >= 1024 * 1024
    response = kiosk_app.test_client().post("/worry", data={"text": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413


def test_static_files_carry_their_content_hash_and_are_kept_until_it_changes(kiosk):
    page = kiosk.get("/worry").get_data(as_text=True)
    # Fonts are asked for early by the address the stylesheet gives them, which has no hash: kept for a day.
    fonts = re.findall(r'<link rel="preload" as="font"[^>]* href="(/static/[^"]+)"', page)
    stylesheet = kiosk.get("/static/worrybox.css").get_data(as_text=True)
    assert fonts and all('url("%s")' % font.removeprefix("/static/") in stylesheet for font in fonts), fonts
    for font in fonts:
        assert kiosk.get(font).headers["Cache-Control"] == "public, max-age=86400", font
    addresses = [address for address in re.findall(r'(?:src|href)="(/static/[^"]+)"', page) if address not in fonts]
    assert any(address.startswith("/static/worrybox.css?v=") for address in addresses)
    assert addresses and all(re.search(r"\?v=[0-9a-f]{16}$", address) for address in addresses), addresses
    for address in set(addresses):
        assert kiosk.get(address).headers["Cache-Control"] == "public, max-age=31536000, immutable", address
    # An old or made-up version is not kept for long: the next visit asks again.
    assert kiosk.get("/static/worrybox.css?v=0123456789abcdef").headers["Cache-Control"] == "public, max-age=86400"
    assert kiosk.get("/static/worrybox.css").headers["Cache-Control"] == "public, max-age=86400"


def test_stylesheet_script_and_pictures_come_compressed_when_the_browser_asks(kiosk):
    """On slow school Wi-Fi a first visit pays for every byte: text files travel gzipped."""
    import gzip
    from pathlib import Path

    static = Path(__file__).resolve().parent.parent / "static"
    for name in ("worrybox.css", "kiosk.js", "pictures/feeling-sad.svg"):
        plain = kiosk.get("/static/" + name)
        assert "Content-Encoding" not in plain.headers, name  # a browser that did not ask gets the file as it is
        assert plain.get_data() == (static / name).read_bytes(), name
        assert "Accept-Encoding" in plain.headers.get("Vary", ""), name
        packed = kiosk.get("/static/" + name, headers={"Accept-Encoding": "gzip, deflate"})
        assert packed.headers["Content-Encoding"] == "gzip", name
        assert "Accept-Encoding" in packed.headers["Vary"], name
        assert packed.headers["Content-Type"] == plain.headers["Content-Type"], name
        assert gzip.decompress(packed.get_data()) == (static / name).read_bytes(), name
        assert int(packed.headers["Content-Length"]) == len(packed.get_data()) < len(plain.get_data()), name
        if name == "worrybox.css":
            assert len(packed.get_data()) < len(plain.get_data()) / 3
        # Asked again with the packed file's validator: nothing is sent.
        again = kiosk.get("/static/" + name, headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]})
        assert again.status_code == 304, name
    # Fonts are compressed already; a missing file is still the kind 404.
    font = kiosk.get("/static/fonts/noto-sans-latin-400-normal.woff2", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in font.headers
    assert kiosk.get("/static/no-such.css", headers={"Accept-Encoding": "gzip"}).status_code == 404


def test_pages_are_never_compressed_because_they_carry_a_token_next_to_what_a_child_typed(kiosk):
    # BREACH: compressing a page that holds a CSRF token beside reflected input would let an attacker on the
    # Wi-Fi guess the token from the sizes. Only static files are compressed.
    for path in ("/", "/worry", "/help"):
        response = kiosk.get(path, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert response.status_code == 200, path
        assert "Content-Encoding" not in response.headers, path

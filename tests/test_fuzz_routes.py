"""Hypothesis-driven requests to every route of both apps: whatever arrives, never a 5xx, a traceback or a
version string. (tests/test_hostile_input.py holds the hand-picked corpus.)"""

import json
import os
import re
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import ConsoleHelper, KioskHelper, csrf_token

EXAMPLES = 2000 if os.environ.get("WORRYBOX_LONG_TESTS") == "1" else 200
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
LEAKS = re.compile(r"Traceback|Werkzeug/|Python/3|gunicorn/|File \"/|sqlite3\.|OperationalError")
ARGUMENT = re.compile(r"<[^>]+>")

hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["0", "-1", "1", "9223372036854775808", "99999999999999999999999", "en", "../../etc/passwd",
                     "%2e%2e%2f", "..%c0%af", "\x00", "<script>", "' OR 1=1 --", "🙂" * 20, "\u202e", "a" * 5000]),
)
form_values = st.one_of(hostile_text, st.binary(max_size=60).map(lambda raw: raw.decode("latin-1")))
field_names = st.one_of(st.sampled_from(["text", "feeling", "topic", "place", "talk_to", "pupil", "urgent",
                                         "submission_id", "email", "password", "code", "status", "note", "class",
                                         "show_class", "current_password", "new_password", "confirm", "undo",
                                         "csrf_token", "slot", "date", "pin", "name"]), st.text(max_size=12))


@st.composite
def requests_for(draw, rules):
    """One request: a route with hostile path parts, a method, a query and a body of some kind."""
    rule = draw(st.sampled_from(rules))
    path = ARGUMENT.sub(lambda _: quote(draw(hostile_text), safe="") or "x", rule)
    method = draw(st.sampled_from(METHODS))
    query = draw(st.dictionaries(field_names, hostile_text, max_size=3))
    body_kind = draw(st.sampled_from(["form", "form with token", "json", "raw bytes", "multipart", "none"]))
    fields = draw(st.dictionaries(field_names, form_values, max_size=6))
    return {"path": path, "method": method, "query": query, "body_kind": body_kind, "fields": fields,
            "raw": draw(st.binary(max_size=200))}


def send(client, request, token):
    kwargs = {"method": request["method"], "query_string": request["query"]}
    kind, fields = request["body_kind"], dict(request["fields"])
    if kind == "form with token":
        fields["csrf_token"] = token
    if kind in ("form", "form with token"):
        kwargs["data"] = fields
    elif kind == "json":
        kwargs.update(data=json.dumps(fields), content_type="application/json")
    elif kind == "raw bytes":
        kwargs.update(data=request["raw"], content_type="application/x-www-form-urlencoded")
    elif kind == "multipart":
        kwargs.update(data=fields, content_type="multipart/form-data")
    return client.open(request["path"], **kwargs)


def check(response, request):
    body = response.get_data(as_text=True)
    where = "%s %s (%s)" % (request["method"], request["path"][:80], request["body_kind"])
    assert response.status_code < 500, "%s answered %d" % (where, response.status_code)
    assert not LEAKS.search(body), "%s leaked %r" % (where, LEAKS.search(body).group(0))


def rules_of(app):
    return sorted({rule.rule for rule in app.url_map.iter_rules()} | {"/no-such-page/<x>"})


def fuzz(client, rules, token):
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(requests_for(rules))
    def run(request):
        check(send(client, request, token), request)
    run()


def test_no_request_to_any_kiosk_route_gets_a_5xx_or_a_traceback(kiosk_app):
    client = kiosk_app.test_client()
    fuzz(client, rules_of(kiosk_app), KioskHelper(client).form()["csrf_token"])


def test_no_request_to_any_console_route_signed_out_gets_a_5xx_or_a_traceback(console_app):
    client = console_app.test_client()
    fuzz(client, rules_of(console_app), csrf_token(client.get("/login").get_data(as_text=True)))


def test_no_request_to_any_console_route_signed_in_gets_a_5xx_or_a_traceback(console_app, child):
    child.post(text="a worry for the routes to find", feeling="sad")
    client = console_app.test_client()
    assert ConsoleHelper(client).login().status_code == 303
    fuzz(client, rules_of(console_app), csrf_token(client.get("/").get_data(as_text=True)))

"""What tests share, in one module: the template school's people, CSRF, a child at the kiosk, a member of staff
signed in to the console, the `worrybox` command, and real servers on 127.0.0.1. Fixtures stay in conftest.py."""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from worrybox import roster
from worrybox.config import Paths
from worrybox.school import open_school, pupil_keys

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
WORRYBOX = Path(sys.executable).parent / "worrybox"

# The template school conftest.py sets up once per run (tests get copies).
DSL_EMAIL = "dsl@school.example"
DSL_PASSWORD = "correct horse battery"
TEACHER_EMAIL = "teacher.4b@school.example"
TEACHER_PASSWORD = "teacher password 4b"
OTHER_TEACHER_EMAIL = "teacher.5c@school.example"
OTHER_TEACHER_PASSWORD = "teacher password 5c"
PUPILS = [
    roster.Pupil("P001", "Amira", "Qureshi", "4B"),
    roster.Pupil("P002", "Tomasz", "Zielinski", "4B"),
    roster.Pupil("P003", "Harjit", "Sandhu", "5C"),
]

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


# Pages and forms ----------------------------------------------------------------------------------


def csrf_token(html: str) -> str:
    """Return the CSRF token a page's form carries."""
    match = _CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


def hidden_value(html: str, name: str) -> str:
    match = re.search(r'<input[^>]*name="%s"[^>]*value="([^"]*)"|<input[^>]*value="([^"]*)"[^>]*name="%s"'
                      % (name, name), html)
    assert match, "page has no field %s" % name
    return match.group(1) if match.group(1) is not None else match.group(2)


# In-process: Flask test clients ------------------------------------------------------------------


def sqlite_steps(db, call) -> int:
    """How many virtual-machine steps SQLite took for call(): how much work it did, counted, not timed."""
    steps = [0]

    def count():
        steps[0] += 1

    db.conn.set_progress_handler(count, 1)
    try:
        call()
    finally:
        db.conn.set_progress_handler(None, 1)
    return steps[0]


class KioskHelper:
    """Drive the kiosk as a child would: load the form, then post it."""

    def __init__(self, client):
        self.client = client

    def form(self, path="/worry"):
        page = self.client.get(path).get_data(as_text=True)
        return {"csrf_token": csrf_token(page), "submission_id": hidden_value(page, "submission_id")}

    def post(self, **fields):
        data = self.form()
        data.update(fields)
        return self.client.post("/worry", data=data)

    def name(self, pupil_id):
        """The value the kiosk's name tile carries for this pupil today (an opaque token, never the roster id)."""
        return name_token(self.client.application.config["WORRYBOX_PATHS"].data_dir, pupil_id)


def name_token(data_dir, pupil_id):
    """The value of a pupil's name tile at the kiosk, for the roster as imported now."""
    paths = Paths(data_dir)
    keys = pupil_keys(paths)
    db = open_school(paths)
    try:
        return roster.choice_tokens(db, keys, [keys.pupil_ref(pupil_id)])[keys.pupil_ref(pupil_id)]
    finally:
        db.close()


class ConsoleHelper:
    """Sign in and out of the console."""

    def __init__(self, client):
        self.client = client

    def login(self, email=DSL_EMAIL, password=DSL_PASSWORD):
        token = csrf_token(self.client.get("/login").get_data(as_text=True))
        return self.client.post("/login", data={"email": email, "password": password, "csrf_token": token})

    def logout(self):
        token = csrf_token(self.client.get("/").get_data(as_text=True))
        return self.client.post("/logout", data={"csrf_token": token})


def mediator_login(kiosk_client, pupil_id: str, pin: str):
    """Sign a mediator in at the kiosk by tapping their name (given as their roster id) and typing their PIN."""
    token = name_token(kiosk_client.application.config["WORRYBOX_PATHS"].data_dir, pupil_id) if pupil_id else pupil_id
    return tap_name_and_pin(kiosk_client, token, pin)


def tap_name_and_pin(kiosk_client, tile_value: str, pin: str):
    """Sign a mediator in with the value of the name tile they tap, as the page shows it, and a PIN."""
    page = kiosk_client.get("/mediator").get_data(as_text=True)
    return kiosk_client.post("/mediator/login", data={"csrf_token": csrf_token(page), "pupil": tile_value, "pin": pin})


# The command line ----------------------------------------------------------------------------------


def worrybox(*args, env=None, timeout: float = 120):
    """Run the `worrybox` command with no data directory in the environment unless one is given."""
    environment = {name: value for name, value in os.environ.items() if name != "WORRYBOX_DATA_DIR"}
    environment.update(env or {})
    return subprocess.run([str(WORRYBOX), *map(str, args)], capture_output=True, text=True, env=environment,
                          stdin=subprocess.DEVNULL, timeout=timeout)


# Real servers on 127.0.0.1 ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_is_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) != 0


def url(port: int, path: str = "/") -> str:
    return "http://%s:%d%s" % (HOST, port, path)


def gunicorn_app(app: str, data_dir, port: int, workers: int | None = None) -> "Server":
    """Serve one app ('kiosk' or 'console') under its production gunicorn config, for one school."""
    from worrybox.runner import gunicorn_command

    command = gunicorn_command(app, HOST, port)
    if workers is not None:
        command[-1:-1] = ["--workers", str(workers)]
    return Server(command, env={"WORRYBOX_DATA_DIR": str(data_dir)})


def run_school(servers, data_dir):
    """`worrybox run` for one school on free ports; return (server, kiosk port, console port) once both answer."""
    kiosk_port, console_port = free_port(), free_port()
    server = servers([WORRYBOX, "run", "--data-dir", data_dir, "--kiosk-port", kiosk_port,
                      "--console-port", console_port])
    server.wait_until_healthy(kiosk_port, console_port)
    return server, kiosk_port, console_port


class Server:
    """A process a test started, in its own process group, its output collected line by line as it runs."""

    def __init__(self, command, env=None):
        environment = {name: value for name, value in os.environ.items() if name != "WORRYBOX_DATA_DIR"}
        environment.update(env or {})
        self.process = subprocess.Popen([str(part) for part in command], cwd=ROOT, env=environment,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.process.stdout:
            self.lines.append(raw.decode("utf-8", "replace"))

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_output(self, pattern: str, timeout: float = 20) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.output)
            if match:
                return match
            assert self.process.poll() is None, "server exited early:\n" + self.output
            time.sleep(0.05)
        raise AssertionError("no %r in the output within %ss:\n%s" % (pattern, timeout, self.output))

    def wait_until_healthy(self, *ports: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        for port in ports:
            while True:
                assert self.process.poll() is None, "server exited early:\n" + self.output
                try:
                    if requests.get(url(port, "/healthz"), timeout=5).status_code == 200:
                        break
                except (requests.ConnectionError, requests.Timeout):  # not listening yet, or workers booting
                    pass
                assert time.monotonic() < deadline, "port %d never became healthy:\n%s" % (port, self.output)
                time.sleep(0.1)

    def group_is_gone(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return True
        return False

    def stop(self, sig=signal.SIGTERM, timeout: float = 15) -> int:
        """Signal the process (unless sig is None), wait for it, and make sure nothing it started is left."""
        if sig is not None and self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if not self.group_is_gone():
            os.killpg(self.process.pid, signal.SIGKILL)
        self._reader.join(timeout=5)
        return self.process.returncode


class Child:
    """A child at the tablet: a browser session on a kiosk served on a port."""

    def __init__(self, port: int):
        self.port = port
        self.http = requests.Session()

    def form(self):
        page = self.http.get(url(self.port, "/worry"), timeout=30)
        assert page.status_code == 200
        return {"csrf_token": csrf_token(page.text), "submission_id": hidden_value(page.text, "submission_id")}

    def send(self, data):
        return self.http.post(url(self.port, "/worry"), data=data, allow_redirects=False, timeout=30)

    def post(self, **fields):
        return self.send(dict(self.form(), **fields))


class StaffMember:
    """A member of staff in a browser session on a console served on a port."""

    def __init__(self, port: int):
        self.port = port
        self.http = requests.Session()

    def login(self, email, password):
        token = csrf_token(self.http.get(url(self.port, "/login"), timeout=30).text)
        return self.http.post(url(self.port, "/login"), allow_redirects=False, timeout=30,
                              data={"email": email, "password": password, "csrf_token": token})

    def newest_worry_id(self) -> int:
        queue = self.http.get(url(self.port, "/"), allow_redirects=False, timeout=30)
        assert queue.status_code == 200, "the console did not keep the session: %s" % queue.status_code
        return max(int(found) for found in re.findall(r"/worries/(\d+)", queue.text))

    def open(self, worry_id: int):
        return self.http.get(url(self.port, "/worries/%d" % worry_id), allow_redirects=False, timeout=30)


# The browser ---------------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags for a sandboxed machine with no network: no first-run, no background calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@contextlib.contextmanager
def chromium():
    """Debian's Chromium under Playwright, with the flags above; closed when the block ends, pass or fail."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()

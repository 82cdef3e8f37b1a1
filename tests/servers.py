"""Start the apps as real servers on 127.0.0.1 for a test, and stop them (and anything they started) after it."""

import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def gunicorn_app(app: str, data_dir, port: int, workers: int | None = None) -> "Server":
    """Serve one app ('kiosk' or 'console') under its production gunicorn config, for one school."""
    from worrybox.runner import gunicorn_command

    command = gunicorn_command(app, HOST, port)
    if workers is not None:
        command[-1:-1] = ["--workers", str(workers)]
    return Server(command, env={"WORRYBOX_DATA_DIR": str(data_dir)})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def url(port: int, path: str = "/") -> str:
    return "http://%s:%d%s" % (HOST, port, path)


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

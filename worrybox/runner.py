"""Run the kiosk and the staff console (two gunicorn processes) and the alert sender; stop them together."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def gunicorn_command(app: str, host: str, port: int) -> list[str]:
    """Return the command that serves one app ('kiosk' or 'console') under its gunicorn config."""
    module = {"kiosk": "kiosk", "console": "staff_console"}[app]
    return [sys.executable, "-m", "gunicorn", "--config", str(DEPLOY / ("gunicorn_%s.conf.py" % app)),
            "--bind", "%s:%d" % (host, port), "%s:create_app()" % module]


def run_apps(data_dir: Path, host: str, kiosk_port: int, console_port: int, echo=print) -> int:
    """Start both apps and the alert sender and wait; Ctrl-C or SIGTERM stops all cleanly. Returns an exit code.

    Stopping on purpose exits 0, whatever the apps answered: Ctrl-C in a terminal signals them too, and
    `make run` must not end with an error for it. Only an app stopping by itself makes the code non-zero.
    """
    stopping = []

    def stop(signum, frame):
        stopping.append(signum)

    # Handlers first: a Ctrl-C while the apps are still starting stops them too, without a traceback.
    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    env = dict(os.environ, WORRYBOX_DATA_DIR=str(data_dir))
    processes = {}
    exit_code = 0
    try:
        processes["kiosk"] = subprocess.Popen(gunicorn_command("kiosk", host, kiosk_port), env=env)
        processes["console"] = subprocess.Popen(gunicorn_command("console", host, console_port), env=env)
        processes["alert sender"] = subprocess.Popen([sys.executable, "-m", "worrybox", "send-alerts"], env=env)
        echo("Kiosk:         http://%s:%d" % (host, kiosk_port))
        echo("Staff console: http://%s:%d" % (host, console_port))
        echo("Press Ctrl-C to stop.")
        while not stopping:
            stopped = [(name, process) for name, process in processes.items() if process.poll() is not None]
            if stopped:
                if not stopping:
                    name, process = stopped[0]
                    echo("The %s stopped (exit code %s); stopping the others too." % (name, process.returncode))
                    exit_code = process.returncode or 1
                break
            time.sleep(0.2)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 15
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    echo("Stopped.")
    return exit_code

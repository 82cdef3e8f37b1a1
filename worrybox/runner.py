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


# A process that dies after running this long is restarted; one that dies sooner, at start-up, stops everything
# (a busy port or a broken set-up will not mend itself). Restarts wait longer each time, up to a minute.
STARTED_FINE_AFTER = 10.0
MAX_RESTART_DELAY = 60.0


def run_apps(data_dir: Path, host: str, kiosk_port: int, console_port: int, echo=print) -> int:
    """Start both apps and the alert sender and wait; Ctrl-C or SIGTERM stops all cleanly. Returns an exit code.

    A process that dies while running is restarted (with back-off), and the others keep serving.
    """
    env = dict(os.environ, WORRYBOX_DATA_DIR=str(data_dir))
    commands = {
        "kiosk": gunicorn_command("kiosk", host, kiosk_port),
        "console": gunicorn_command("console", host, console_port),
        "alert sender": [sys.executable, "-m", "worrybox", "send-alerts"],
    }
    processes = {name: subprocess.Popen(command, env=env) for name, command in commands.items()}
    started = {name: time.monotonic() for name in processes}
    delays = {name: 1.0 for name in processes}
    restart_at: dict[str, float] = {}
    echo("Kiosk:         http://%s:%d" % (host, kiosk_port))
    echo("Staff console: http://%s:%d" % (host, console_port))
    echo("Press Ctrl-C to stop.")

    def stop(signum=None, frame=None):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    try:
        while True:
            now = time.monotonic()
            for name, process in processes.items():
                if name in restart_at:
                    if now >= restart_at[name]:
                        del restart_at[name]
                        echo("Starting the %s again." % name)
                        processes[name] = subprocess.Popen(commands[name], env=env)
                        started[name] = now
                    continue
                if process.poll() is None:
                    if now - started[name] > MAX_RESTART_DELAY:
                        delays[name] = 1.0  # it has run well for a while: a later failure starts afresh
                    continue
                if now - started[name] < STARTED_FINE_AFTER and delays[name] == 1.0:
                    echo("The %s stopped (exit code %s) as it started; stopping the others too."
                         % (name, process.returncode))
                    exit_code = process.returncode or 1
                    raise KeyboardInterrupt
                echo("The %s stopped (exit code %s); starting it again in %g s. The others keep running."
                     % (name, process.returncode, delays[name]))
                restart_at[name] = now + delays[name]
                delays[name] = min(delays[name] * 2, MAX_RESTART_DELAY)
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
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
    echo("Stopped.")
    return exit_code

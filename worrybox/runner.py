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

    A process that dies while running is restarted (with back-off), and the others keep serving: a crash
    in one app, or in the alert sender, must never silence the rest. Stopping on purpose exits 0, whatever
    the apps answered: Ctrl-C in a terminal signals them too, and `make run` must not end with an error for
    it. Only an app that stops by itself as it starts makes the code non-zero.
    """
    stopping = []

    def stop(signum, frame):
        stopping.append(signum)

    # Handlers first: a Ctrl-C while the apps are still starting stops them too, without a traceback.
    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    env = dict(os.environ, WORRYBOX_DATA_DIR=str(data_dir))
    commands = {
        "kiosk": gunicorn_command("kiosk", host, kiosk_port),
        "console": gunicorn_command("console", host, console_port),
        "alert sender": [sys.executable, "-m", "worrybox", "send-alerts"],
    }
    processes, started, delays, restart_at = {}, {}, {}, {}
    exit_code = 0
    try:
        for name, command in commands.items():
            processes[name], started[name], delays[name] = subprocess.Popen(command, env=env), time.monotonic(), 1.0
        echo("Kiosk:         http://%s:%d" % (host, kiosk_port))
        echo("Staff console: http://%s:%d" % (host, console_port))
        echo("Press Ctrl-C to stop.")
        while not stopping:
            now = time.monotonic()
            for name, process in list(processes.items()):
                if stopping:
                    break
                if name in restart_at:
                    if now >= restart_at[name]:
                        del restart_at[name]
                        echo("Starting the %s again." % name)
                        processes[name], started[name] = subprocess.Popen(commands[name], env=env), now
                    continue
                if process.poll() is None:
                    if now - started[name] > MAX_RESTART_DELAY:
                        delays[name] = 1.0  # it has run well for a while: a later failure starts afresh
                    continue
                time.sleep(0.2)  # a Ctrl-C in a terminal reaches the apps too: let its signal arrive first
                if stopping:
                    break
                if now - started[name] < STARTED_FINE_AFTER and delays[name] == 1.0:
                    echo("The %s stopped (exit code %s) as it started; stopping the others too."
                         % (name, process.returncode))
                    exit_code = process.returncode or 1
                    stopping.append(None)
                    break
                echo("The %s stopped (exit code %s); starting it again in %g s. The others keep running."
                     % (name, process.returncode, delays[name]))
                restart_at[name] = now + delays[name]
                delays[name] = min(delays[name] * 2, MAX_RESTART_DELAY)
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

# Gunicorn settings for the kiosk (the classroom tablets' server). deploy/README.md explains them.
#
# Workers: the kiosk keeps no secrets in memory, so it can use several worker processes; SQLite in WAL
# mode with a busy timeout lets them write side by side. Posting a worry is short (a few milliseconds
# of sealing and one small transaction), so two sync workers per core, at most four, carry a school's
# busiest minute many times over. With many schools on one server set WEB_CONCURRENCY=2 in each
# school's environment file, so the server's memory is shared fairly.
import multiprocessing
import os

bind = "127.0.0.1:8000"
workers = int(os.environ.get("WEB_CONCURRENCY") or min(4, 2 * multiprocessing.cpu_count()))
worker_class = "sync"
# Timeout: a request may wait up to 15 s for SQLite's write lock (worrybox/db.py BUSY_TIMEOUT_MS) and
# should then still answer; 30 s is comfortably above that and well below a child's patience running out
# at a frozen screen. graceful_timeout lets a worry being posted finish when the service stops.
timeout = 30
graceful_timeout = 10
# Request bodies are capped in the app (1 MiB, room for a drawing); these stop a slow or oversized
# header from tying up a worker.
limit_request_line = 4096
limit_request_fields = 50
# Only nginx on this machine may say a request came over https (X-Forwarded-Proto).
forwarded_allow_ips = "127.0.0.1,::1"
accesslog = "-"
# The access log records method, path and status only: no query string, no form data, no cookies.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
errorlog = "-"
# No gunicorn control socket (gunicorn >= 25.1): every master would take the same default path, so
# the kiosk, the console and other schools' servers would steal one another's socket.
control_socket_disable = True

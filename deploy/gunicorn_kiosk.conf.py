# Gunicorn settings for the kiosk (the classroom tablets' server).
# The kiosk keeps no secrets in memory, so it can use several worker processes; SQLite in WAL mode
# with a busy timeout lets them write side by side. Two workers per core is plenty for a school.
import multiprocessing

bind = "127.0.0.1:8000"
workers = min(4, 2 * multiprocessing.cpu_count())
worker_class = "sync"
timeout = 30
graceful_timeout = 10
# Request bodies are capped in the app; these stop a slow or oversized header from tying up a worker.
limit_request_line = 4096
limit_request_fields = 50
accesslog = "-"
# The access log records method, path and status only: no query string, no form data, no cookies.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
errorlog = "-"
# No gunicorn control socket (gunicorn >= 25.1): every master would take the same default path, so
# the kiosk, the console and other schools' servers would steal one another's socket.
control_socket_disable = True

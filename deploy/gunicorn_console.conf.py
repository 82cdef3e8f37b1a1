# Gunicorn settings for the staff console.
# ONE worker process, several threads: unlocked private keys live only in this process's memory for
# the length of a sign-in session, so every request of a session must reach the same process.
# A restart signs everybody out, which is the safe way round.
bind = "127.0.0.1:8001"
workers = 1
worker_class = "gthread"
threads = 8
timeout = 30
graceful_timeout = 10
limit_request_line = 4096
limit_request_fields = 50
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
errorlog = "-"
# No gunicorn control socket (gunicorn >= 25.1): every master would take the same default path, so
# the kiosk, the console and other schools' servers would steal one another's socket (and
# `gunicornc worker add` would break the one-process rule above).
control_socket_disable = True

# Gunicorn settings for the staff console. deploy/README.md explains them.
#
# ONE worker process, several threads: unlocked private keys live only in this process's memory for
# the length of a sign-in session, so every request of a session must reach the same process.
# A restart signs everybody out, which is the safe way round. For the same reason: never set
# max_requests (it would restart the worker), never raise workers, and do not send it SIGHUP.
# WEB_CONCURRENCY is ignored here on purpose.
bind = "127.0.0.1:8001"
workers = 1
worker_class = "gthread"
# Eight threads: a school has a handful of staff signed in at once. Each sign-in runs Argon2id
# (64 MiB, about a quarter of a second), so eight at the same moment would need about 1 GiB.
threads = 8
# Timeout: the slowest request is a sign-in (two Argon2id derivations) or a busy SQLite write (up to
# 15 s waiting for the lock); 30 s covers both. gthread workers send heartbeats from the main thread,
# so one slow request does not get the whole process (and everyone's keys) killed.
timeout = 30
graceful_timeout = 10
limit_request_line = 4096
limit_request_fields = 50
# Only nginx on this machine may say a request came over https (X-Forwarded-Proto).
forwarded_allow_ips = "127.0.0.1,::1"
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
errorlog = "-"
# No gunicorn control socket (gunicorn >= 25.1): every master would take the same default path, so
# the kiosk, the console and other schools' servers would steal one another's socket (and
# `gunicornc worker add` would break the one-process rule above).
control_socket_disable = True

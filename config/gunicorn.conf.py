"""Production configuration of the web server (gunicorn), used by ``bin/run`` when DEBUG is off:
``gunicorn config.wsgi:application -c config/gunicorn.conf.py --bind ...``.

Why not gunicorn's defaults (issue 10 § 10): a sync worker serves one connection at a time and
reads the request headers itself, so two clients that send their headers slowly (one line a second,
"slowloris") held both workers and the service answered 3 requests in 45 s. Here:

- ``gthread`` workers: the main thread of each worker accepts connections and waits for them in a
  poller, so idle and keep-alive connections cost no thread; a request gets a thread of the pool
  only when its first bytes arrive. A client that then sends its headers slowly still ties up that
  ONE thread while gunicorn reads the headers (gthread reads them in the thread) — not the worker.
- A deadline for the request line and headers (``WEB_HEADER_TIMEOUT``, default 10 s): gunicorn has
  no such option for gthread, so ``post_worker_init`` below puts it on each connection; a client
  that has not sent its complete headers by then is disconnected and the thread is free again.
  After the headers, each read of the body and each write of the answer may wait at most
  ``timeout`` seconds.
- Enough threads that a handful of slow clients cannot occupy a worker (``WEB_THREADS``, default
  16 per worker, ``WEB_CONCURRENCY`` workers, default 2; a thread holds a database connection only
  while it serves a request).

This bounds what one slow client costs; it does not replace a buffering reverse proxy (nginx, or a
load balancer that buffers requests) in front, which is recommended for any deployment reachable
from outside: it absorbs slow clients entirely and hands gunicorn only complete requests.
Tested by tests/integration/test_slow_clients.py.
"""

import os
import time

wsgi_app = "config.wsgi:application"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "16"))

# A worker whose main loop does not report for this long is restarted; after the headers, also the
# longest a single read of the body or write of the answer may wait for the client.
timeout = 30
graceful_timeout = 10  # on SIGTERM, requests in progress get this long to finish
keepalive = 5  # idle keep-alive connections wait in the poller (no thread) and are closed after 5 s

# Request size limits (gunicorn answers 400 beyond them): the request line, the number of headers,
# the size of one header. Browsers and API clients stay far below.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190

# Recycle workers now and then so that slow memory growth never accumulates.
max_requests = 5000
max_requests_jitter = 500

accesslog = "-"
errorlog = "-"

# Seconds a client has to send the request line and all headers of a request.
HEADER_TIMEOUT = float(os.environ.get("WEB_HEADER_TIMEOUT", "10"))


class _HeaderDeadline:
    """Stands in for a connection's socket in gunicorn's request parser: while a request's headers
    are read, each ``recv`` waits only until the deadline, after which the client counts as gone
    (an empty read: gunicorn closes the connection). ``lift`` ends the deadline once the headers are
    complete; reads of the body then wait at most ``timeout`` seconds each."""

    def __init__(self, sock):
        self.sock = sock
        self.deadline = None
        self.expired = False

    def start(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.expired = False

    def lift(self, op_timeout: float) -> None:
        self.deadline = None
        self.sock.settimeout(op_timeout)

    def recv(self, size):
        if self.deadline is None:
            return self.sock.recv(size)
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.expired = True
            return b""
        self.sock.settimeout(remaining)
        try:
            return self.sock.recv(size)
        except TimeoutError:
            self.expired = True
            return b""


def post_worker_init(worker):
    """Put the header deadline on every request of a gthread worker (gunicorn 23: ``handle`` reads
    the request line and headers with ``next(conn.parser)``, then calls ``handle_request``)."""
    if not (hasattr(worker, "handle") and hasattr(worker, "handle_request") and hasattr(worker, "tpool")):
        return
    handle, handle_request = worker.handle, worker.handle_request

    def handle_with_header_deadline(conn):
        unreader = conn.parser.unreader
        guard = unreader.sock if isinstance(unreader.sock, _HeaderDeadline) else _HeaderDeadline(unreader.sock)
        unreader.sock = guard
        guard.start(HEADER_TIMEOUT)
        try:
            return handle(conn)
        finally:
            if guard.expired:
                worker.log.warning(
                    "closed a connection from %s: request headers not complete within %.0f s",
                    conn.client[0] if isinstance(conn.client, tuple) else conn.client,
                    HEADER_TIMEOUT,
                )

    def handle_request_after_headers(req, conn):
        guard = conn.parser.unreader.sock
        if isinstance(guard, _HeaderDeadline):
            guard.lift(timeout)
        return handle_request(req, conn)

    worker.handle = handle_with_header_deadline
    worker.handle_request = handle_request_after_headers

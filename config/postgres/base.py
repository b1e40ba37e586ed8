"""Django's PostgreSQL backend with a refusal probe in front of the connection pool, and a
health check of pooled connections that costs no round trip.

psycopg_pool's getconn() waits up to the pool timeout for a connection. That is right for a
slow or saturated database, but when the server refuses connections outright (nothing
listens, no route to it) the pool retries in the background and every request waits the
whole timeout before its 503. So before waiting on a pool with no idle connection, this
backend checks whether the server accepts TCP connections at all; a refusal raises
OperationalError at once (503 with Retry-After, see config.errors), anything else (accepted,
or a probe that merely times out) falls through to the pool's normal wait.

Django's CONN_HEALTH_CHECKS (and psycopg_pool's `check_connection`) send a query before a
connection is reused: one more round trip on every request. Here the check asks the
socket instead. An idle connection on which the server has sent something, or that it has
closed (a restart, pg_terminate_backend, an idle timeout: PostgreSQL sends a FATAL error
and closes), is readable; a healthy idle one is not. Such a connection is discarded and
another one taken, before any query of the request runs.
"""

import errno
import logging
import select
import socket
import threading
import time
from dataclasses import dataclass

import psycopg
from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus

logger = logging.getLogger(__name__)

# A TCP handshake with a live server takes a round trip; longer means slow, not refused.
PROBE_CONNECT_TIMEOUT_S = 0.5
# A verdict is reused for this long, so a burst of requests costs one probe per second per
# process, whether the server refuses them (503 at once) or is merely saturated.
PROBE_HORIZON_S = 1.0
DEFAULT_PORT = 5432
REFUSED_ERRNOS = frozenset(
    {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENOENT, errno.EADDRNOTAVAIL}
)


@dataclass(frozen=True)
class _Verdict:
    at: float  # time.monotonic()
    refused: bool


# The last probe verdict per server address. This is connection state, like the pool it
# guards: rebuilt by the next probe after PROBE_HORIZON_S, never read as application data.
_verdicts: dict[tuple[str, int], _Verdict] = {}
_verdicts_lock = threading.Lock()


def _probe_refused(host: str, port: int) -> bool:
    """True when the server actively refuses: nothing listens, no route, unknown name."""
    try:
        if host.startswith("/"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(PROBE_CONNECT_TIMEOUT_S)
                sock.connect(f"{host}/.s.PGSQL.{port}")
        else:
            with socket.create_connection((host, port), timeout=PROBE_CONNECT_TIMEOUT_S):
                pass
    except socket.gaierror:
        return True
    except TimeoutError:
        return False  # slow is not refused: the pool's timeout decides
    except OSError as exc:
        return exc.errno in REFUSED_ERRNOS or isinstance(exc, ConnectionRefusedError)
    return False


def server_refuses(host: str, port: int) -> bool:
    """Whether the server at host:port refuses connections, probed at most once per
    PROBE_HORIZON_S per process."""
    key = (host, port)
    now = time.monotonic()
    verdict = _verdicts.get(key)
    if verdict is None or now - verdict.at >= PROBE_HORIZON_S:
        verdict = _Verdict(at=now, refused=_probe_refused(host, port))
        with _verdicts_lock:
            _verdicts[key] = verdict
        if verdict.refused:
            logger.warning("database at %s:%s refuses connections", host, port)
    return verdict.refused


def connection_is_alive(connection) -> bool:
    """True when the psycopg connection is open, idle and has nothing unread: no FATAL
    message, no end of file. A poll of its socket, no query."""
    if connection.closed or connection.broken:
        return False
    if connection.info.transaction_status != TransactionStatus.IDLE:
        return False
    poller = select.poll()  # not select.select: a stream process may hold fds > 1024
    poller.register(connection.fileno(), select.POLLIN)
    return not poller.poll(0)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        pool = self.pool
        if pool is not None and pool.get_stats().get("pool_available", 0) == 0:
            host = str(self.settings_dict.get("HOST") or "")
            port = int(self.settings_dict.get("PORT") or DEFAULT_PORT)
            # No host means libpq's default socket, and several hosts mean libpq picks:
            # both are left to the pool.
            if host and "," not in host and server_refuses(host, port):
                raise psycopg.OperationalError(
                    f"connection to the database at {host}:{port} refused"
                )
        return self._live_pooled_connection(conn_params)

    def _live_pooled_connection(self, conn_params):
        """With the pool: skip pooled connections that died while idle (the pool replaces
        them). Bounded by the pool size: after that many dead ones, the last is used and
        its first query reports the error."""
        connection = super().get_new_connection(conn_params)
        pool = self.pool
        if pool is None:
            return connection
        for _ in range(pool.max_size):
            if connection_is_alive(connection):
                return connection
            connection.close()
            pool.putconn(connection)  # closed: discarded, a new one is made in the background
            connection = super().get_new_connection(conn_params)
        return connection

    def is_usable(self):
        """CONN_HEALTH_CHECKS of persistent (unpooled) connections, without a query."""
        return self.connection is not None and connection_is_alive(self.connection)

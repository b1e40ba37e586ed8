"""Django's PostgreSQL backend with a refusal probe in front of the connection pool.

psycopg_pool's getconn() waits up to the pool timeout for a connection. That is right for a
slow or saturated database, but when the server refuses connections outright (nothing
listens, no route to it) the pool retries in the background and every request waits the
whole timeout before its 503. So before waiting on a pool with no idle connection, this
backend checks whether the server accepts TCP connections at all; a refusal raises
OperationalError at once (503 with Retry-After, see config.errors), anything else (accepted,
or a probe that merely times out) falls through to the pool's normal wait.
"""

import errno
import logging
import socket
import threading
import time
from dataclasses import dataclass

import psycopg
from django.db.backends.postgresql import base

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
        return super().get_new_connection(conn_params)

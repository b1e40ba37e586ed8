"""Django's PostgreSQL backend with a connection health check that costs no round trip.

Django's CONN_HEALTH_CHECKS (and psycopg_pool's `check_connection`) send a query before a
connection is reused: one more round trip on every request. Here the check asks the
socket instead. An idle connection on which the server has sent something, or that it has
closed (a restart, pg_terminate_backend, an idle timeout: PostgreSQL sends a FATAL error
and closes), is readable; a healthy idle one is not. Such a connection is discarded and
another one taken, before any query of the request runs.
"""

import select

from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


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

"""A private PgBouncer in transaction-pooling mode in front of the test's PostgreSQL (Debian's
package: apt-get install pgbouncer), as a foreground child with its own config and port."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SYSTEM_BINS = ("/usr/sbin", "/sbin")
START_TIMEOUT_S = 10
STOP_TIMEOUT_S = 10
# Server connections per database/user pair: far fewer than the cluster's clients (each
# process's pool may open up to DB_POOL_MAX), so transactions really share connections.
POOL_SIZE = 8
# As root PgBouncer refuses to run unless told which user to become.
RUN_AS = "postgres"

CONFIG = """\
[databases]
* = host={pg_host} port={pg_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {prefix}/userlist.txt
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 1000
ignore_startup_parameters = extra_float_digits
logfile = {prefix}/pgbouncer.log
stats_users = {user}
"""


def find_pgbouncer() -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), *SYSTEM_BINS])
    return shutil.which("pgbouncer", path=path)


class PgBouncer:
    """`start()`, then point DATABASE_URL at `url(dbname)`; `stop()` at the end."""

    def __init__(self, *, pg_host: str, pg_port: int, user: str, port: int):
        self.pg_host, self.pg_port, self.user, self.port = pg_host, pg_port, user, port
        self.prefix = Path(tempfile.mkdtemp(prefix="atelier-pgbouncer-"))
        self.popen: subprocess.Popen | None = None

    def url(self, dbname: str) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> None:
        binary = find_pgbouncer()
        assert binary, "pgbouncer is not installed"
        self.prefix.chmod(0o777)  # RUN_AS writes its log here
        (self.prefix / "userlist.txt").write_text(f'"{self.user}" ""\n')
        conf = self.prefix / "pgbouncer.ini"
        conf.write_text(
            CONFIG.format(
                pg_host=self.pg_host,
                pg_port=self.pg_port,
                port=self.port,
                prefix=self.prefix,
                pool_size=POOL_SIZE,
                user=self.user,
            )
        )
        for path in (conf, self.prefix / "userlist.txt"):
            path.chmod(0o644)
        argv = [binary, str(conf)]
        if os.geteuid() == 0:
            argv[1:1] = ["-u", RUN_AS]
        self.popen = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=(self.prefix / "stderr.log").open("wb"),
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"pgbouncer exited early:\n{self.logs()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"pgbouncer not listening after {START_TIMEOUT_S}s:\n{self.logs()}")

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        shutil.rmtree(self.prefix, ignore_errors=True)

    def logs(self) -> str:
        return "\n".join(
            path.read_text(errors="replace")[-4000:]
            for path in (self.prefix / "pgbouncer.log", self.prefix / "stderr.log")
            if path.exists()
        )

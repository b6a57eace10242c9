"""A real PostgreSQL server for the PyAirbyte PostgresCache tests: Debian's postgresql (installed by
scripts/setup.sh), a fresh cluster in a temporary directory on a free loopback port, password
authentication, stopped and deleted afterwards. initdb refuses to run as root, so as root the
cluster belongs to the `postgres` user that the Debian package creates."""
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time

USER = "pyairbyte"
DATABASE = "postgres"


def _bin_dir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is missing: scripts/setup.sh installs Debian's postgresql")
    return os.path.dirname(found[-1])


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """`postgres` serving a new cluster on 127.0.0.1:<port>, user `pyairbyte` with a random password."""

    def __init__(self):
        bindir = _bin_dir()
        self.version = int(os.path.basename(os.path.dirname(bindir)))
        self.root = tempfile.mkdtemp(prefix="pg-")
        self.password = secrets.token_urlsafe(18)
        data = os.path.join(self.root, "data")
        pwfile = os.path.join(self.root, "pw")
        with open(pwfile, "w") as f:
            f.write(self.password)
        # As root, run the server as the package's `postgres` user, owner of the whole directory.
        self.prefix = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (self.root, pwfile):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*self.prefix, os.path.join(bindir, "initdb"), "-D", data, "-U", USER, "--pwfile", pwfile,
                        "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True, text=True)
        os.remove(pwfile)
        for _ in range(5):
            self.port = _free_port()
            self.proc = subprocess.Popen(
                [*self.prefix, os.path.join(bindir, "postgres"), "-D", data, "-p", str(self.port),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.root}",
                 "-c", "fsync=off", "-c", "full_page_writes=off"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            deadline = time.time() + 30
            while time.time() < deadline and self.proc.poll() is None:
                ready = subprocess.run([os.path.join(bindir, "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                                       capture_output=True)
                if ready.returncode == 0:
                    return
                time.sleep(0.1)
            self._kill()
        raise RuntimeError("postgres did not start")

    def cache(self, schema_name, **extra):
        from airbyte.caches import PostgresCache

        return PostgresCache(host="127.0.0.1", port=self.port, username=USER, password=self.password,
                             database=DATABASE, schema_name=schema_name, **extra)

    def _kill(self):
        if self.proc.poll() is None:
            # SIGINT: PostgreSQL's fast shutdown (the runuser in between passes it on to its child
            # through the process group).
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def stop(self):
        self._kill()
        shutil.rmtree(self.root, ignore_errors=True)

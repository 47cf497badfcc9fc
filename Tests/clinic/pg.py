"""A real PostgreSQL 15 for the clinic database's tests, and a cable to pull.

`Cluster` runs Debian's PostgreSQL 15 (/usr/lib/postgresql/15/bin) in a
temporary folder of its own, on a free loopback port, with SCRAM passwords for
every login over TCP (the way a station logs in) and trust only on its own Unix
socket, in a folder no one else can enter (the superuser's way in, for the
tests' set-up and their tampering). It creates the database `clinic`, applies
deploy/postgres/migrate, and makes login roles with passwords in owner-only
files, as pumpd and pumpctl read them.

`BlackholeProxy` stands between a client and the cluster's port. `cut()` is a
pulled cable: from then on every byte either way is read and dropped, and a
new connection is accepted and never answered, so a client sees silence, not
a refusal. `restore()` puts the cable back for new connections; one that was
cut stays silent until its client gives up on it (its stream lost bytes).

PostgreSQL refuses to run as root: as root (CI), the server's programs run as
the `postgres` user through runuser. Everything is removed at close(), which
runs at exit too (atexit, and on SIGTERM), whether the tests passed or not.

    with Cluster() as pg:
        pw = pg.create_login("ward_a", "pumpd_station")
        url = pg.url("ward_a")           # postgres://ward_a@127.0.0.1:PORT/clinic?sslmode=disable
        with BlackholeProxy(pg.port) as proxy:
            ...                          # point a shipper at proxy.port
            proxy.cut(); proxy.restore()
        pg.stop(); pg.start()            # same data, same port
"""

import atexit
import os
import pwd
import secrets
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MIGRATE = os.path.join(REPO, "deploy", "postgres", "migrate")
SUPERUSER = "postgres"
DATABASE = "clinic"

_open = []  # every Cluster and proxy not yet closed, for the exit handlers


def _close_all():
    while _open:
        try:
            _open.pop().close()
        except Exception as e:  # keep closing the others
            print(f"pg.py: cleanup: {e}")


atexit.register(_close_all)


def _on_sigterm(signum, frame):
    # atexit handlers do not run when a signal kills the process; exiting does.
    raise SystemExit(128 + signum)


if threading.current_thread() is threading.main_thread():
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _on_sigterm)


def free_port():
    """A loopback port no one listens on now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One PostgreSQL server with the clinic database migrated."""

    def __init__(self, migrate=True, log=print):
        self.log = log
        self.as_root = os.geteuid() == 0
        self.port = free_port()
        self.base = tempfile.mkdtemp(prefix="pumpd-clinic-pg.")
        self.running = False
        _open.append(self)
        try:
            # The server's own folder (data, socket, log) is the server user's;
            # the base only lets it through (0711), and the password files stay
            # in the base, the test runner's.
            os.chmod(self.base, 0o711)
            self.home = os.path.join(self.base, "pg")
            self.data = os.path.join(self.home, "data")
            self.sockets = os.path.join(self.home, "run")
            self.logfile = os.path.join(self.home, "postgres.log")
            os.mkdir(self.home, 0o700)
            os.mkdir(self.sockets, 0o700)
            if self.as_root:
                user = pwd.getpwnam("postgres")
                for p in (self.home, self.sockets):
                    os.chown(p, user.pw_uid, user.pw_gid)
            self._initdb()
            self.start()
            self._server_cmd(os.path.join(PG_BIN, "createdb"), "-h", self.sockets, "-p", str(self.port), "-U", SUPERUSER, DATABASE)
            if migrate:
                self.migrate()
        except BaseException:
            self.close()
            raise

    # The server's programs, as the postgres user when we are root.
    def _server_cmd(self, *argv, check=True):
        cmd = list(argv)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd="/")
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({r.returncode}):\n{r.stdout}{self.log_tail()}")
        return r

    def _initdb(self):
        # -N: no fsync at init; fsync off below: the data lives as long as the test.
        self._server_cmd(
            os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", SUPERUSER, "-E", "UTF8", "--locale=C", "-N",
            "--auth-local=trust", "--auth-host=scram-sha-256")
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(
                "\n# Tests/clinic/pg.py\n"
                "listen_addresses = '127.0.0.1'\n"
                f"port = {self.port}\n"
                f"unix_socket_directories = '{self.sockets}'\n"
                "password_encryption = 'scram-sha-256'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 50\nshared_buffers = 32MB\n")
        # Logins over TCP: a password (SCRAM), for everyone, the superuser too.
        # The Unix socket (its folder is the server user's, 0700): trust, for set-up.
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")

    def start(self):
        """Starts the server on its data folder and port (again after stop())."""
        self._server_cmd(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l", self.logfile, "-w", "-t", "60", "-s", "start")
        self.running = True

    def stop(self, mode="fast"):
        """Stops the server (mode: smart, fast or immediate); start() brings it back."""
        if self.running:
            self._server_cmd(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "-t", "60", "-s", "stop")
            self.running = False

    def log_tail(self, lines=30):
        try:
            with open(self.logfile) as f:
                tail = f.readlines()[-lines:]
            return "\n--- postgres.log (end) ---\n" + "".join(tail)
        except OSError:
            return ""

    # The superuser's address: its own socket, trust.
    def superuser_database_url(self, database):
        return f"postgresql:///{database}?host={self.sockets}&port={self.port}&user={SUPERUSER}"

    @property
    def superuser_url(self):
        return self.superuser_database_url(DATABASE)

    def psql(self, sql, *, at=True, database=DATABASE):
        """Runs SQL as the superuser; returns psql's output (unaligned, tuples only)."""
        argv = ["psql", self.superuser_database_url(database), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql]
        if at:
            argv.insert(3, "-At")
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed: {r.stderr.strip()}")
        return r.stdout

    def create_database(self, name, migrate=True):
        """Another database beside `clinic`, migrated like it (the roles are the cluster's, shared)."""
        self._server_cmd(os.path.join(PG_BIN, "createdb"), "-h", self.sockets, "-p", str(self.port), "-U", SUPERUSER, name)
        if migrate:
            self.migrate(name)
        return name

    def migrate(self, database=DATABASE):
        """deploy/postgres/migrate as the database's owner (the superuser here)."""
        r = subprocess.run([MIGRATE, self.superuser_database_url(database)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"deploy/postgres/migrate failed ({r.returncode}):\n{r.stdout}")
        self.log(r.stdout.strip())
        return r.stdout

    def create_login(self, name, member_of):
        """A login role in `member_of` (pumpd_station or pumpd_reader) with a
        random password; returns the path of its owner-only password file."""
        password = secrets.token_urlsafe(24)
        quoted = password.replace("'", "''")
        self.psql(f"CREATE ROLE \"{name}\" LOGIN PASSWORD '{quoted}' IN ROLE {member_of}")
        return self.write_password_file(name, password)

    def write_password_file(self, name, password):
        path = os.path.join(self.base, f"{name}.password")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(password + "\n")
        os.chmod(path, 0o600)
        return path

    @staticmethod
    def read_password(path):
        with open(path) as f:
            return f.readline().rstrip("\n")

    def url(self, role, port=None, database=DATABASE):
        """The address pumpd and pumpctl take: never a password in it."""
        return f"postgres://{role}@127.0.0.1:{port or self.port}/{database}?sslmode=disable"

    def close(self):
        """Stops the server (immediately) and removes every file; safe twice."""
        if self in _open:
            _open.remove(self)
        try:
            if self.running and os.path.exists(os.path.join(self.data, "postmaster.pid")):
                self._server_cmd(os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "-s", "stop", check=False)
        finally:
            self.running = False
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class BlackholeProxy:
    """A TCP proxy on a free loopback port in front of `target_port`, whose
    cable can be pulled (cut) and put back (restore)."""

    def __init__(self, target_port, host="127.0.0.1"):
        self.target = (host, target_port)
        self._cut = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._sockets = set()
        self.accepted = 0
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        _open.append(self)
        self._thread = threading.Thread(target=self._accept_loop, name="blackhole-accept", daemon=True)
        self._thread.start()

    def cut(self):
        """Pulls the cable: every byte either way is dropped from now on, and
        new connections are accepted but never answered."""
        self._cut.set()

    def restore(self):
        """Puts the cable back for new connections."""
        self._cut.clear()

    @property
    def is_cut(self):
        return self._cut.is_set()

    def _track(self, s):
        with self._lock:
            self._sockets.add(s)

    def _drop(self, *socks):
        with self._lock:
            for s in socks:
                if s is None:
                    continue
                self._sockets.discard(s)
                try:
                    s.close()
                except OSError:
                    pass

    def _accept_loop(self):
        while not self._closed.is_set():
            try:
                ready, _, _ = select.select([self.listener], [], [], 0.2)
                if not ready:
                    continue
                client, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            self._track(client)
            threading.Thread(target=self._serve, args=(client,), name="blackhole-conn", daemon=True).start()

    def _serve(self, client):
        upstream = None
        blackholed = self._cut.is_set()
        if not blackholed:
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
                self._track(upstream)
            except OSError:
                self._drop(client)  # the server is down: say so, as the server would
                return
        try:
            while not self._closed.is_set():
                watched = [client] if upstream is None else [client, upstream]
                ready, _, _ = select.select(watched, [], [], 0.2)
                if self._cut.is_set():
                    blackholed = True
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return  # one side closed: close both
                    if blackholed:
                        continue  # read and dropped: the other side hears nothing
                    (upstream if s is client else client).sendall(data)
        except OSError:
            return
        finally:
            self._drop(client, upstream)

    def close(self):
        if self in _open:
            _open.remove(self)
        self._closed.set()
        try:
            self.listener.close()
        except OSError:
            pass
        with self._lock:
            socks = list(self._sockets)
        self._drop(*socks)
        self._thread.join(timeout=2)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


if __name__ == "__main__":
    # A cluster to look at by hand: prints how to reach it, waits for Ctrl-C.
    with Cluster() as pg:
        path = pg.create_login("reader", "pumpd_reader")
        print(f"superuser: psql '{pg.superuser_url}'")
        print(f"reader:    {pg.url('reader')}  --password-file {path}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass

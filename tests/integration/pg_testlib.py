"""PostgreSQL around a test's primary: a private PgBouncer in transaction mode, a streaming
replica made with pg_basebackup, a fresh cluster to restore into, and SQL helpers.

PostgreSQL and PgBouncer refuse to run as root: when the tests run as root, their programs run
as the postgres user (runuser), in directories that user owns."""

import io
import json
import os
import shutil
import signal
import subprocess
import tempfile
import zipfile

import loupe_harness as lh

PG_BIN = "/usr/lib/postgresql/15/bin"


def pg_bin(name):
    path = os.path.join(PG_BIN, name)
    if os.access(path, os.X_OK):
        return path
    return shutil.which(name)


def require_pg_tools(*names):
    for name in names:
        if not pg_bin(name):
            lh.skip("%s is not installed (PostgreSQL 15 server package)" % name)


def _as_pg(argv):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + list(argv)
    return list(argv)


def run_as_pg(argv, timeout=300, check=True, cwd=None):
    proc = subprocess.run(_as_pg(argv), capture_output=True, text=True, timeout=timeout, cwd=cwd or "/")
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (" ".join(argv), proc.returncode, proc.stdout, proc.stderr))
    return proc


def pg_dir(prefix):
    """A directory the postgres user owns (under $TMPDIR: a test's work directory may be private)."""
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    if os.geteuid() == 0:
        shutil.chown(d, "postgres", "postgres")
    return d


def psql(port, sql, database="postgres", check=True):
    """Rows (lists of strings) of sql run with psql on 127.0.0.1:port."""
    argv = [pg_bin("psql"), "-X", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database,
            "-v", "ON_ERROR_STOP=1", "-q", "-tA", "-F", "\t", "-c", sql]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError("psql on port %d failed on %r: %s" % (port, sql, proc.stderr.strip()))
    return [line.split("\t") for line in proc.stdout.splitlines() if line]


class Cluster:
    """A PostgreSQL cluster of the test's own in a postgres-owned directory: made by initdb
    (Cluster.init) or copied from a running primary as its streaming replica
    (Cluster.replica_of)."""

    def __init__(self, root, port):
        self.root = root
        self.data = os.path.join(root, "data")
        self.port = port
        self.log = os.path.join(root, "server.log")

    @classmethod
    def init(cls):
        require_pg_tools("initdb", "pg_ctl")
        c = cls(pg_dir("loupe-pg-fresh."), lh.free_port())
        run_as_pg([pg_bin("initdb"), "-D", c.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                   "--locale=C.UTF-8", "--no-sync"])
        return c

    @classmethod
    def replica_of(cls, primary_port):
        """pg_basebackup -R of the server on primary_port: a hot standby streaming from it."""
        require_pg_tools("pg_basebackup", "pg_ctl")
        c = cls(pg_dir("loupe-pg-replica."), lh.free_port())
        run_as_pg([pg_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres",
                   "-D", c.data, "-R", "-X", "stream", "--no-sync", "-c", "fast"])
        return c

    def url(self, database="postgres"):
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, database)

    def start(self):
        # The port and socket on the command line win over the copied configuration files.
        run_as_pg([pg_bin("pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "60", "start", "-o",
                   "-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off "
                   "-c hot_standby=on" % self.port])

    def stop(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            run_as_pg([pg_bin("pg_ctl"), "-D", self.data, "-m", "fast", "-w", "-t", "30", "stop"], check=False)

    def remove(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def query(self, sql, database="postgres"):
        return psql(self.port, sql, database)


def wait_replayed(primary_port, replica, database="postgres", timeout=30):
    """Waits until the replica has replayed everything the primary had written when called. The
    insert location, not the write location: the test clusters commit asynchronously
    (synchronous_commit = off), so a commit just answered may not have reached the WAL files yet."""
    lsn = psql(primary_port, "SELECT pg_current_wal_insert_lsn()", database)[0][0]

    def caught_up():
        rows = replica.query("SELECT pg_last_wal_replay_lsn() >= '%s'::pg_lsn" % lsn, database)
        return rows == [["t"]]
    lh.wait_until(caught_up, timeout=timeout, interval=0.05, message="the replica to replay up to " + lsn)


def pause_replay(replica, database="postgres", timeout=30):
    """Pauses the replica's replay and waits until it has stopped (a pause is only a request)."""
    replica.query("SELECT pg_wal_replay_pause()", database)
    lh.wait_until(lambda: replica.query("SELECT pg_get_wal_replay_pause_state()", database) == [["paused"]],
                  timeout=timeout, interval=0.05, message="the replica's replay to pause")


class PgBouncer:
    """A private PgBouncer on a free loopback port in front of the PostgreSQL on pg_port, with
    pool_mode = transaction and pool_size server connections per database and user."""

    def __init__(self, pg_port, pool_size=2):
        exe = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)
        if not exe:
            lh.skip("pgbouncer is not installed (Debian package pgbouncer)")
        self.dir = pg_dir("loupe-pgbouncer.")
        self.port = lh.free_port()
        self.log = os.path.join(self.dir, "pgbouncer.log")
        with open(os.path.join(self.dir, "userlist.txt"), "w") as f:
            f.write('"postgres" ""\n')
        ini = os.path.join(self.dir, "pgbouncer.ini")
        with open(ini, "w") as f:
            f.write("[databases]\n* = host=127.0.0.1 port=%d\n\n[pgbouncer]\n" % pg_port)
            f.write("listen_addr = 127.0.0.1\nlisten_port = %d\nunix_socket_dir =\n" % self.port)
            f.write("auth_type = trust\nauth_file = %s\n" % os.path.join(self.dir, "userlist.txt"))
            f.write("pool_mode = transaction\ndefault_pool_size = %d\nmin_pool_size = 0\n" % pool_size)
            f.write("reserve_pool_size = 0\nmax_client_conn = 200\nmax_db_connections = %d\n" % pool_size)
            f.write("server_reset_query =\nlogfile = %s\npidfile = %s\n" % (self.log, os.path.join(self.dir, "pid")))
            f.write("admin_users = postgres\nstats_users = postgres\nlog_connections = 0\nlog_disconnections = 0\n")
        if os.geteuid() == 0:
            for name in ("userlist.txt", "pgbouncer.ini"):
                shutil.chown(os.path.join(self.dir, name), "postgres", "postgres")
        self.proc = subprocess.Popen(_as_pg([exe, ini]), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                     cwd=self.dir, start_new_session=True)
        lh.wait_until(lambda: lh.port_open(self.port) or self.proc.poll() is not None, timeout=20,
                      message="pgbouncer to listen")
        if self.proc.poll() is not None:
            raise AssertionError("pgbouncer exited with %s:\n%s" % (self.proc.returncode, self.log_text()))

    def url(self, database):
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, database)

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def show(self, what):
        """Rows of the admin console's SHOW <what> (e.g. POOLS, STATS)."""
        return psql(self.port, "SHOW " + what, "pgbouncer")

    def stop(self):
        if self.proc.poll() is None:
            # its own process group (start_new_session): runuser and pgbouncer
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


def coco_export_names(tc, c, ds):
    """The image file names of a COCO export of the dataset."""
    r = c.post("/api/v1/exports", json={"format": "coco", "filters": {"dataset_id": ds}})
    tc.assertEqual(r.status, 202, r.text)
    export = r.json()["id"]

    def done():
        x = c.get("/api/v1/exports/" + export).json()
        return x if x["status"] in ("succeeded", "failed") else None
    x = lh.wait_until(done, timeout=120, interval=0.2, message="export " + export)
    tc.assertEqual(x["status"], "succeeded", x)
    r = c.get("/api/v1/exports/%s/download" % export)
    tc.assertEqual(r.status, 302, r.text)
    z = zipfile.ZipFile(io.BytesIO(lh.HttpClient("http://unused").request("GET", r.header("Location")).body))
    return sorted(i["file_name"] for i in json.loads(z.read("annotations/instances.json"))["images"])


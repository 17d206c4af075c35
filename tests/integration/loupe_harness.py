"""Integration test harness: the real louped and loupe-worker against real PostgreSQL and RabbitMQ.

Python 3 standard library only. A test file looks like this:

    import loupe_harness as lh
    lh.require_services()               # skip the file (exit 77) when the services are not there

    class HealthTest(lh.LoupeTestCase):
        def test_healthz(self):
            d = self.start_louped()
            r = d.client().get("/healthz")
            self.assertEqual(r.status, 200)

Every test gets its own PostgreSQL database and RabbitMQ vhost on the servers started by
`scripts/services.sh` (ctest starts them as a fixture; the directory comes from the environment
variable LOUPE_TEST_SERVICES), a work directory with the storage directory and the logs, and
everything it started is stopped at the end. When a test fails, the tail of every process log is
printed and the work directory is kept.

Environment:
  LOUPE_TEST_SERVICES  directory given to `services.sh start` (or its services.json)
  LOUPE_BIN_DIR        directories holding louped and loupe-worker, separated by ':'
                       (default: <source>/build/dev/src/app:<source>/build/dev/src/worker)
  LOUPE_SOURCE_DIR     the source tree (default: two levels above this file)
  LOUPE_BUILD_DIR      the CMake build tree (install_testlib.py installs from it; default build/dev)
  LOUPE_TEST_WORK_DIR  where per-test work directories go (default: the system temp dir)
  LOUPE_TEST_TIMEOUT_SCALE  multiplies start-up and shutdown timeouts (e.g. 3 under sanitizers)
  LOUPE_TEST_REQUIRE   "all": every skip is a failure (CI)
  LOUPE_TEST_SKIP_LOG  file each skip appends "<LOUPE_TEST_NAME>: <reason>" to (`make test` prints it)
  LOUPE_TEST_EVIDENCE_DIR  where the suite keeps what secrets_scan.py reads: the secrets ledger
                       (every secret the harness made, set or received), every process log, every
                       problem+json body received and a /metrics scrape per louped (unset: none kept)

Every skip goes through skip() (a test) or skip_file() (a whole file), never unittest's own.
"""

import csv
import http.cookiejar
import io
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import openapi_check

SKIP = 77

_HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.environ.get("LOUPE_SOURCE_DIR") or os.path.join(_HERE, "..", ".."))
# Shared sample files (e.g. Darwin JSON), read by path; tests skip when they are absent.
FIXTURES_DIR = os.environ.get("LOUPE_FIXTURES_DIR") or os.path.join(SOURCE_DIR, "..", "shared", "fixtures")
TIMEOUT_SCALE = float(os.environ.get("LOUPE_TEST_TIMEOUT_SCALE") or "1")


# The metrics_token every test's louped gets: GET /metrics with metrics_headers().
METRICS_TOKEN = "test-metrics-token-0123456789abcdef"


def metrics_headers():
    return {"Authorization": "Bearer " + METRICS_TOKEN}


def metric(d, name, labels=""):
    """A sample of louped d's /metrics (None when absent)."""
    r = d.client().get("/metrics", headers=metrics_headers())
    if r.status != 200:
        return None
    for line in r.text.splitlines():
        if line.startswith(name + labels + " "):
            return float(line.split()[-1])
    return None


def line_workflow(client, dataset_id, name="Line"):
    """Creates the plainest workflow — in (dataset) → label (annotate, anyone) → done — over
    dataset_id and returns its id."""
    r = client.post("/api/v1/workflows", json={
        "name": name, "dataset_ids": [dataset_id],
        "stages": [{"id": "in", "type": "dataset"},
                   {"id": "label", "type": "annotate", "config": {"assignees": "any"}},
                   {"id": "done", "type": "complete"}],
        "edges": [{"from": "in", "port": "next", "to": "label"}, {"from": "label", "port": "done", "to": "done"}]})
    if r.status != 201:
        raise AssertionError("creating the workflow answered %d: %s" % (r.status, r.text))
    return r.json()["id"]


def wait_credential_cache_live(d):
    """Waits until louped d's credential cache listens for invalidations: until then it caches
    nothing, and going live clears it."""
    wait_until(lambda: metric(d, "loupe_auth_cache_live") == 1, timeout=10,
               message="the credential listener of node %d" % d.port)


# ---------------------------------------------------------------------------------------------
# Evidence for secrets_scan.py (the ctest integration/secrets_never_leak): no secret the suite
# handles may show up in a log line, a problem+json body or a /metrics line.

EVIDENCE_DIR = os.environ.get("LOUPE_TEST_EVIDENCE_DIR") or None
# JSON members whose string values are secrets, wherever they appear in a body sent or received.
SECRET_MEMBERS = {"password": "password", "token": "token", "csrf_token": "session", "secret": "webhook_secret",
                  "api_key": "api_key"}
# Settings whose values are secrets (settings_env).
SECRET_SETTINGS = ("secret_key", "s3_secret_key", "metrics_token")
# Query parameters that carry a URL's signature (Loupe's signed URLs, S3 presigned URLs).
SIGNATURE_PARAMS = ("sig", "X-Amz-Signature")
SECRET_MIN_LEN = 8


def _evidence_path(*parts):
    path = os.path.join(EVIDENCE_DIR, *parts)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def record_secret(kind, value):
    """Adds one secret (a string of SECRET_MIN_LEN characters or more) to the ledger, as
    "kind<TAB>value"; short or non-string values are not secrets anyone could find by grepping."""
    if not EVIDENCE_DIR or not isinstance(value, str) or len(value) < SECRET_MIN_LEN or "\n" in value:
        return
    with open(_evidence_path("secrets.ledger"), "a") as f:  # one short line per write: appends do not interleave
        f.write("%s\t%s\n" % (kind, value))


def record_secrets_in(value, parent=None):
    """Records the secrets of a JSON value: members named in SECRET_MEMBERS, an API key ("key" beside
    "prefix"), a webhook secret's key material, and the signature of every signed URL."""
    if not EVIDENCE_DIR:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if k in SECRET_MEMBERS and isinstance(v, str):
                record_secret(SECRET_MEMBERS[k], v)
                if k == "secret" and v.startswith("whsec_"):
                    record_secret("webhook_secret", v[len("whsec_"):])
            elif k == "key" and "prefix" in value and isinstance(v, str):
                record_secret("api_key", v)
            else:
                record_secrets_in(v, value)
    elif isinstance(value, list):
        for v in value:
            record_secrets_in(v, parent)
    elif isinstance(value, str) and "?" in value:
        record_url_signature(value)


def record_url_signature(url):
    query = urllib.parse.urlsplit(url).query if "://" in url or url.startswith("/") else ""
    for name, v in urllib.parse.parse_qsl(query):
        if name in SIGNATURE_PARAMS:
            record_secret("url_signature", v)


def record_problem(response):
    """Keeps a problem+json body (one line per body, one file per test process)."""
    if EVIDENCE_DIR and response.content_type == "application/problem+json":
        with open(_evidence_path("problems", "%d.jsonl" % os.getpid()), "ab") as f:
            f.write(response.body.replace(b"\n", b" ") + b"\n")


def _say(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def skips_fail():
    """True under LOUPE_TEST_REQUIRE=all: a test that cannot run fails instead of skipping."""
    return os.environ.get("LOUPE_TEST_REQUIRE") == "all"


def _record_skip(reason):
    _say("SKIP: " + reason)
    log = os.environ.get("LOUPE_TEST_SKIP_LOG")
    if log:
        with open(log, "a") as f:
            f.write("%s: %s\n" % (os.environ.get("LOUPE_TEST_NAME") or "integration test", reason))


def skip(reason):
    """Skips the running test because something it needs is missing (name it and how to get it
    in `reason`); under LOUPE_TEST_REQUIRE=all it fails instead. Never returns."""
    if skips_fail():
        raise AssertionError("cannot run: %s (LOUPE_TEST_REQUIRE=all turns skips into failures)" % reason)
    _record_skip(reason)
    raise unittest.SkipTest(reason)


def skip_file(reason):
    """skip() for a whole test file, before any test runs: exits 77 (ctest's skip), or 1 under
    LOUPE_TEST_REQUIRE=all."""
    if skips_fail():
        _say("FAIL: cannot run: %s (LOUPE_TEST_REQUIRE=all turns skips into failures)" % reason)
        sys.exit(1)
    _record_skip(reason)
    sys.exit(SKIP)


def wait_until(predicate, timeout=10.0, interval=0.05, message="condition"):
    """Calls predicate() until it returns a true value, which is returned.

    Fails the test (AssertionError) after `timeout` seconds, naming `message`."""
    deadline = time.monotonic() + timeout * TIMEOUT_SCALE
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout * TIMEOUT_SCALE, message))
        time.sleep(interval)


def free_port():
    """A TCP port free on 127.0.0.1, chosen at random below the kernel's ephemeral range."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            eph_low = int(f.read().split()[0])
    except (OSError, ValueError):
        eph_low = 32768
    high = max(21000, min(eph_low, 65536))
    for _ in range(500):
        port = random.randrange(20000, high)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free TCP port found on 127.0.0.1")


def port_open(port, host="127.0.0.1"):
    """True when something accepts TCP connections on host:port."""
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def _tail(path, lines=200, quiet_lines=20):
    """The last `lines` lines of a log, of which at most the last `quiet_lines` are access-log lines
    of answered requests (they would otherwise crowd out the warnings and errors that tell why)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)
    text = data.decode("utf-8", "replace").splitlines()
    access = [i for i, line in enumerate(text) if '"module":"access"' in line and '"level":"info"' in line]
    dropped = set(access[:-quiet_lines]) if len(access) > quiet_lines else set()
    kept = [line for i, line in enumerate(text) if i not in dropped]
    cut = kept[-lines:]
    head = "" if len(kept) <= lines else "… (%d earlier lines)\n" % (len(kept) - lines)
    if dropped:
        head += "… (%d earlier access-log lines left out)\n" % len(dropped)
    return head + "\n".join(cut)


# ---------------------------------------------------------------------------------------------
# PostgreSQL and RabbitMQ


class Services:
    """PostgreSQL and RabbitMQ started by scripts/services.sh, described by DIR/services.json."""

    def __init__(self, path):
        path = os.path.abspath(path)
        self.json_path = path if path.endswith(".json") else os.path.join(path, "services.json")
        with open(self.json_path) as f:
            self.info = json.load(f)
        self.dir = self.info["dir"]
        self.pg_port = int(self.info["pg_port"])
        self.amqp_port = int(self.info["amqp_port"])

    @classmethod
    def from_env(cls):
        """The shared services named by LOUPE_TEST_SERVICES; None when unset or missing."""
        where = os.environ.get("LOUPE_TEST_SERVICES")
        if not where:
            return None
        try:
            return cls(where)
        except (OSError, ValueError, KeyError):
            return None

    def reachable(self):
        return port_open(self.pg_port) and port_open(self.amqp_port)

    # PostgreSQL

    def db_url(self, database="postgres"):
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.pg_port, urllib.parse.quote(database, safe=""))

    def psql(self, sql, database="postgres", check=True):
        """Runs SQL with psql; returns the CompletedProcess (text output, unaligned, no headers)."""
        argv = list(self.info["psql"]) + ["-d", database, "-v", "ON_ERROR_STOP=1", "-q", "-tA", "-c", sql]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            raise RuntimeError("psql failed (%d) on %r: %s" % (proc.returncode, sql, proc.stderr.strip()))
        return proc

    def query(self, sql, database="postgres"):
        """Runs one SELECT and returns its rows as lists of strings (NULL reads as '')."""
        argv = list(self.info["psql"]) + ["-d", database, "-v", "ON_ERROR_STOP=1", "-q", "-t", "--csv", "-c", sql]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError("psql failed (%d) on %r: %s" % (proc.returncode, sql, proc.stderr.strip()))
        return [row for row in csv.reader(io.StringIO(proc.stdout))]

    def create_database(self, name):
        self.psql('CREATE DATABASE "%s"' % name)

    def drop_database(self, name):
        self.psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)

    # RabbitMQ

    def amqp_url(self, vhost=None):
        base = "amqp://guest:guest@127.0.0.1:%d" % self.amqp_port
        return base if vhost is None else base + "/" + urllib.parse.quote(vhost, safe="")

    def rabbitmqctl(self, *args, check=True, timeout=120):
        """Runs rabbitmqctl against this node; returns the CompletedProcess (text output)."""
        env = dict(os.environ)
        env.update(self.info["rabbitmqctl_env"])
        argv = list(self.info["rabbitmqctl"]) + ["-q"] + [str(a) for a in args]
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError("rabbitmqctl %s failed (%d): %s%s" % (
                " ".join(map(str, args)), proc.returncode, proc.stdout.strip(), proc.stderr.strip()))
        return proc

    def create_vhost(self, name):
        self.rabbitmqctl("add_vhost", name)
        self.rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")

    def delete_vhost(self, name):
        self.rabbitmqctl("delete_vhost", name, check=False)

    def queues(self, vhost):
        """{queue name: {"messages": n, "consumers": n}} for a vhost."""
        proc = self.rabbitmqctl("list_queues", "-p", vhost, "name", "messages", "consumers",
                                "--formatter", "json")
        out = proc.stdout.strip()
        rows = json.loads(out) if out else []
        return {r["name"]: {"messages": int(r["messages"]), "consumers": int(r["consumers"])} for r in rows}


def _services_sh():
    return os.path.join(SOURCE_DIR, "scripts", "services.sh")


class PrivateServices(Services):
    """A PostgreSQL and a RabbitMQ of one's own, for tests that stop and restart them.

    Started with `services.sh start DIR --fast` (about 10 s: RabbitMQ boots slowly); stop()
    (or the test's cleanup, when created through LoupeTestCase.private_services) stops both."""

    def __init__(self, directory):
        self._sh = _services_sh()
        self._run("start", directory, "--fast", timeout=240)
        super().__init__(directory)

    def _run(self, command, directory=None, *extra, timeout=180):
        proc = subprocess.run([self._sh, command, directory or self.dir] + list(extra),
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError("services.sh %s failed (%d):\n%s%s" % (
                command, proc.returncode, proc.stdout, proc.stderr))
        return proc

    def pg_stop(self):
        self._run("pg-stop")

    def pg_start(self):
        self._run("pg-start")

    def amqp_stop(self):
        self._run("amqp-stop")

    def amqp_start(self):
        self._run("amqp-start", timeout=240)

    def stop(self):
        self._run("stop")


def services_problem():
    """None when the shared services are usable, else a sentence saying why not."""
    where = os.environ.get("LOUPE_TEST_SERVICES")
    if not where:
        return ("LOUPE_TEST_SERVICES is not set (run the tests with ctest, or start services with "
                "scripts/services.sh start DIR --fast and set LOUPE_TEST_SERVICES=DIR)")
    svc = Services.from_env()
    if svc is None:
        return "no services.json in %s (did `scripts/services.sh start` succeed?)" % where
    if not svc.reachable():
        return "PostgreSQL (port %d) or RabbitMQ (port %d) of %s is not accepting connections" % (
            svc.pg_port, svc.amqp_port, svc.dir)
    return None


# ---------------------------------------------------------------------------------------------
# Binaries and processes


def bin_dirs():
    value = os.environ.get("LOUPE_BIN_DIR")
    if value:
        return [d for d in value.split(os.pathsep) if d]
    build = os.path.join(SOURCE_DIR, "build", "dev")
    return [os.path.join(build, "src", "app"), os.path.join(build, "src", "worker"), os.path.join(build, "src", "cli"),
            build]


def find_binary(name):
    """Absolute path of the louped or loupe-worker binary, or None."""
    for d in bin_dirs():
        p = os.path.join(d, name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return os.path.abspath(p)
    return None


def require_services(binaries=("louped",)):
    """Skips the file (skip_file) when the services or the binaries are missing.

    Call it at the top of a test file, after importing this module."""
    problem = services_problem()
    if problem is None:
        for b in binaries:
            if find_binary(b) is None:
                problem = "%s is not built (looked in %s)" % (b, os.pathsep.join(bin_dirs()))
                break
    if problem is not None:
        skip_file(problem)


class Process:
    """A child process whose stdout and stderr go to a log file."""

    def __init__(self, name, argv, env, log_path, cwd):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    @property
    def returncode(self):
        return self.proc.poll()

    def wait(self, timeout=30.0):
        """Waits for the process to exit; returns its exit status (negative: killed by signal)."""
        return self.proc.wait(timeout=timeout * TIMEOUT_SCALE)

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def stop(self, timeout=15.0):
        """SIGTERM, then SIGKILL after `timeout` seconds; returns the exit status."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout * TIMEOUT_SCALE)
            except subprocess.TimeoutExpired:
                _say("%s (pid %d) ignored SIGTERM for %.1fs: killing it" % (self.name, self.pid, timeout))
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def kill(self):
        if self.alive():
            self.proc.kill()
        self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def log(self):
        """Everything the process wrote so far."""
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_lines_json(self):
        """The log lines that are JSON objects, parsed."""
        out = []
        for line in self.log().splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out


class Louped(Process):
    """A running `louped serve`."""

    def __init__(self, argv, env, log_path, cwd, port):
        super().__init__("louped", argv, env, log_path, cwd)
        self.port = port
        self.url = "http://127.0.0.1:%d" % port

    def client(self, **kwargs):
        """A new HttpClient (own cookie jar) for this daemon."""
        return HttpClient(self.url, **kwargs)

    def wait_healthy(self, timeout=30.0):
        deadline = time.monotonic() + timeout * TIMEOUT_SCALE
        c = HttpClient(self.url, timeout=2)
        while True:
            if not self.alive():
                raise AssertionError("louped exited with status %s before /healthz answered; log:\n%s"
                                     % (self.returncode, _tail(self.log_path, 60)))
            try:
                if c.get("/healthz").status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("louped did not answer /healthz within %.0fs; log:\n%s"
                                     % (timeout * TIMEOUT_SCALE, _tail(self.log_path, 60)))
            time.sleep(0.05)


def s3rver_js():
    """s3rver.js: LOUPE_S3RVER_JS, or an `npm install s3rver@3.7.1` under build/ or tests/; None
    when there is none."""
    import glob
    js = os.environ.get("LOUPE_S3RVER_JS")
    if js and os.path.isfile(js):
        return js
    rel = os.path.join("node_modules", "s3rver", "bin", "s3rver.js")
    patterns = [os.path.join(SOURCE_DIR, "tests", "integration", rel),
                os.path.join(SOURCE_DIR, "build", "*", "tests", "unit", "storage", "s3rver", rel),
                os.path.join(SOURCE_DIR, "build", "*", rel)]
    for p in patterns:
        found = sorted(glob.glob(p))
        if found:
            return found[0]
    return None


class S3rver(Process):
    """An S3-compatible store (s3rver) on a free loopback port, its objects under directory, with
    one bucket. settings() are the louped and loupe-worker settings that store there. Skips the
    test when s3rver or node is missing (ctest's unit/storage_s3rver_setup installs s3rver)."""

    def __init__(self, directory, bucket="loupe"):
        js = s3rver_js()
        if not js or not shutil.which("node"):
            skip("s3rver is not installed (ctest's unit/storage_s3rver_setup installs it, or set LOUPE_S3RVER_JS)")
        self.port = free_port()
        self.bucket = bucket
        self.endpoint = "http://127.0.0.1:%d" % self.port
        data = os.path.join(directory, "s3")
        os.makedirs(data, exist_ok=True)
        super().__init__("s3rver", ["node", os.path.abspath(js), "--directory", data, "--port", str(self.port),
                                    "--address", "127.0.0.1", "--configure-bucket", bucket],
                         dict(os.environ), os.path.join(directory, "s3rver.log"), directory)
        wait_until(lambda: port_open(self.port) or not self.alive(), timeout=30, message="s3rver to listen")
        if not self.alive():
            raise AssertionError("s3rver exited; log:\n" + _tail(self.log_path, 40))

    def settings(self):
        return {"storage_backend": "s3", "s3_endpoint": self.endpoint, "s3_bucket": self.bucket,
                "s3_access_key": "S3RVER", "s3_secret_key": "S3RVER", "s3_path_style": True,
                "s3_region": "us-east-1"}


def wait_all_healthy(daemons, timeout=30.0):
    """Waits for several louped at once (started with wait=False; they may be migrating the same
    database); fails naming every one that did not come up."""
    import threading
    errors = []

    def wait(d):
        try:
            d.wait_healthy(timeout)
        except AssertionError as e:
            errors.append(str(e))

    threads = [threading.Thread(target=wait, args=(d,)) for d in daemons]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise AssertionError("\n".join(errors))


# ---------------------------------------------------------------------------------------------
# HTTP


class Response:
    """An HTTP response, whatever its status."""

    def __init__(self, status, reason, headers, body, url):
        self.status = status
        self.reason = reason
        self.headers = headers  # http.client.HTTPMessage: case-insensitive .get(), .get_all()
        self.body = body
        self.url = url
        self._json = None

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    @property
    def content_type(self):
        """The media type without parameters, lower case ('' when absent)."""
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def json(self):
        if self._json is None:
            try:
                self._json = json.loads(self.body)
            except ValueError as e:
                raise AssertionError("%s: body is not JSON (%s): %r" % (self.url, e, self.body[:500]))
        return self._json

    def __repr__(self):
        return "<Response %d %s %s>" % (self.status, self.content_type, self.body[:200])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_MISSING = object()


class HttpClient:
    """A small HTTP client: JSON in and out, default headers, a cookie jar, no redirects followed,
    no proxies. Every status comes back as a Response; only connection errors raise.
    Every JSON response is checked against docs/openapi.yaml unless openapi_check is False
    (a client of a server that is not louped)."""

    def __init__(self, base_url, api_key=None, headers=None, timeout=30.0, openapi_check=True):
        self.base_url = base_url.rstrip("/")
        self.openapi_check = openapi_check
        self.headers = dict(headers or {})
        if api_key:
            self.headers["Authorization"] = "ApiKey " + api_key
        self.timeout = timeout
        self.jar = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def cookie(self, name):
        for c in self.jar:
            if c.name == name:
                return c.value
        return None

    def url(self, path, query=None):
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        if query:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(query, doseq=True)
        return url

    def request(self, method, path, json=_MISSING, data=None, headers=None, query=None, timeout=None):
        """json: a value sent as application/json; data: raw bytes (or str) sent as they are."""
        url = self.url(path, query)
        h = dict(self.headers)
        body = None
        if json is not _MISSING:
            body = _json_dumps(json)
            h["Content-Type"] = "application/json"
        elif data is not None:
            body = data.encode() if isinstance(data, str) else data
        h.update(headers or {})
        if json is not _MISSING:
            record_secrets_in(json)
        record_url_signature(url)
        req = urllib.request.Request(url, data=body, headers=h, method=method)
        try:
            with self._opener.open(req, timeout=timeout or self.timeout) as resp:
                return self._checked(method, Response(resp.status, resp.reason, resp.headers, resp.read(), url))
        except urllib.error.HTTPError as e:
            try:
                payload = e.read()
            finally:
                e.close()
            return self._checked(method, Response(e.code, e.reason, e.headers, payload, url))

    def _checked(self, method, response):
        self._record(response)
        return self._check_openapi(method, response)

    def _record(self, response):
        """Records the secrets this exchange showed (ledger) and keeps a problem+json body."""
        if not EVIDENCE_DIR:
            return
        auth = self.headers.get("Authorization", "")
        if " " in auth:
            record_secret("api_key", auth.split(" ", 1)[1].strip())
        for c in self.jar:
            if c.name == "loupe_session":
                record_secret("session", c.value)
        if response.content_type == "application/json" or response.content_type.endswith("+json"):
            try:
                record_secrets_in(json.loads(response.body))
            except ValueError:
                pass
        location = response.headers.get("Location")
        if location:
            record_url_signature(location)
        record_problem(response)

    def _check_openapi(self, method, response):
        """Fails the test when a JSON response contradicts docs/openapi.yaml (openapi_check.py;
        LOUPE_OPENAPI_CHECK=0 turns it off; =1 forgives undocumented statuses, which the default,
        strict, also fails on)."""
        if self.openapi_check:
            openapi_check.harness_check(method, response.url, response.status, response.headers, response.body)
        return response

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def head(self, path, **kw):
        return self.request("HEAD", path, **kw)

    def post(self, path, json=_MISSING, **kw):
        return self.request("POST", path, json=json, **kw)

    def put(self, path, json=_MISSING, **kw):
        return self.request("PUT", path, json=json, **kw)

    def patch(self, path, json=_MISSING, **kw):
        return self.request("PATCH", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)



def _json_dumps(value):
    return json.dumps(value).encode()


# ---------------------------------------------------------------------------------------------
# One test's world


class Sandbox:
    """A database, a vhost, a work directory and the processes of one test.

    close() stops the processes and drops the database and the vhost; the work directory is
    removed by remove_work_dir() (LoupeTestCase keeps it when the test failed)."""

    _counter = 0

    def __init__(self, label, services=None):
        Sandbox._counter += 1
        self.services = services or Services.from_env()
        if self.services is None:
            skip(services_problem() or "no services")
        safe = "".join(ch if ch.isalnum() else "_" for ch in label.split(".")[-1].lower())[:30]
        self.name = "lt_%s_%d_%d_%s" % (safe, os.getpid(), Sandbox._counter, secrets.token_hex(3))
        root = os.environ.get("LOUPE_TEST_WORK_DIR")
        if root:
            os.makedirs(root, exist_ok=True)
        self.work_dir = tempfile.mkdtemp(prefix=self.name + ".", dir=root or None)
        self.storage_dir = os.path.join(self.work_dir, "storage")
        self.web_dir = os.path.join(self.work_dir, "web")
        # the workers' scratch directory (worker_scratch_dir): here, not in /dev/shm, so that
        # every test's files go with its sandbox
        self.scratch_dir = os.path.join(self.work_dir, "scratch")
        os.makedirs(self.storage_dir)
        os.makedirs(self.web_dir)
        os.makedirs(self.scratch_dir)
        self.secret_key = secrets.token_hex(32)
        self.processes = []
        self._cleanups = []
        self._migrated = False
        self._use(self.services)

    def _use(self, services):
        """Creates this sandbox's database and vhost on `services` and points the settings there."""
        services.create_database(self.name)
        self._cleanups.append(lambda: services.drop_database(self.name))
        services.create_vhost(self.name)
        self._cleanups.append(lambda: services.delete_vhost(self.name))
        self.services = services
        self.db_url = services.db_url(self.name)
        self.amqp_url = services.amqp_url(self.name)
        self._migrated = False

    def use_private_services(self):
        """Starts a PostgreSQL and RabbitMQ of this test's own and moves the sandbox onto them
        (call before starting louped). Returns the PrivateServices (pg_stop, amqp_start, …)."""
        priv = PrivateServices(os.path.join(self.work_dir, "services"))
        self._cleanups.append(priv.stop)
        self._use(priv)
        return priv

    # settings and commands

    def settings_env(self, settings=None):
        """The environment for louped and loupe-worker: ours minus every LOUPE_* variable, plus
        the sandbox's settings, plus `settings` ({"page_size_max": 10} → LOUPE_PAGE_SIZE_MAX=10;
        None removes a default)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOUPE_")}
        base = {
            "http_bind": "127.0.0.1",
            "db_url": self.db_url,
            "amqp_url": self.amqp_url,
            "storage_dir": self.storage_dir,
            "web_dir": self.web_dir,
            "worker_scratch_dir": self.scratch_dir,
            "secret_key": self.secret_key,
            "log_level": "debug",
            "http_threads": "2",
            "db_pool_size": "4",
            "shutdown_grace": "5s",
            "kdf_memory_kib": "8192",
            "kdf_iterations": "1",
            "metrics_token": METRICS_TOKEN,
            # the limiter runs on every request, but load and fault tests drive one key far past a
            # person's rate; integration/abuse_limits sets the limits it tests
            "api_rate_per_key": "1000000",
        }
        base.update(settings or {})
        for k, v in base.items():
            if v is None:
                continue
            if k in SECRET_SETTINGS:
                record_secret(k, str(v))
            if isinstance(v, bool):
                v = "true" if v else "false"
            env["LOUPE_" + k.upper()] = str(v)
        return env

    def louped_binary(self):
        b = find_binary("louped")
        if b is None:
            skip("louped is not built (looked in %s)" % os.pathsep.join(bin_dirs()))
        return b

    def worker_binary(self):
        b = find_binary("loupe-worker")
        if b is None:
            skip("loupe-worker is not built (looked in %s)" % os.pathsep.join(bin_dirs()))
        return b

    def run_louped(self, *args, settings=None, input=None, timeout=120.0, check=True):
        """Runs `louped ARGS…` to completion (migrate, admin bootstrap, config …).
        Returns the CompletedProcess (text); with check, a non-zero exit fails the test."""
        argv = [self.louped_binary()] + [str(a) for a in args]
        proc = subprocess.run(argv, env=self.settings_env(settings), cwd=self.work_dir, input=input,
                              capture_output=True, text=True, timeout=timeout * TIMEOUT_SCALE)
        if check and proc.returncode != 0:
            raise AssertionError("%s exited with %d\nstdout:\n%s\nstderr:\n%s" % (
                " ".join(argv[1:]), proc.returncode, proc.stdout, _cut(proc.stderr)))
        return proc

    def migrate(self, settings=None):
        self.run_louped("migrate", settings=settings)
        self._migrated = True

    def bootstrap(self, team="test-team", email="owner@example.com", password=None, settings=None):
        """Runs `louped admin bootstrap` (migrating first if needed). Returns its JSON
        {"team_id", "user_id", "api_key"} plus the "team", "email" and "password" used."""
        if not self._migrated:
            self.migrate(settings)
        args = ["admin", "bootstrap", "--team", team, "--email", email]
        if password is not None:
            args.append("--password-stdin")
        proc = self.run_louped(*args, settings=settings,
                               input=(password + "\n") if password is not None else None)
        lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
        if not lines:
            raise AssertionError("admin bootstrap printed nothing; stderr:\n" + _cut(proc.stderr))
        try:
            out = json.loads(lines[-1])
        except ValueError:
            raise AssertionError("admin bootstrap did not print JSON: %r" % proc.stdout)
        for key in ("team_id", "user_id", "api_key"):
            if key not in out:
                raise AssertionError("admin bootstrap output lacks %r: %r" % (key, out))
        out.update({"team": team, "email": email, "password": password})
        record_secret("api_key", out["api_key"])
        record_secret("password", password)
        return out

    # processes

    def _log_path(self, name):
        n = sum(1 for p in self.processes if p.name == name)
        return os.path.join(self.work_dir, "%s-%d.log" % (name, n))

    def start_louped(self, settings=None, args=("serve",), wait=True, timeout=30.0, binary=None):
        """Starts `louped serve` (the built one, or `binary`) on a free port; waits for /healthz
        unless wait=False."""
        binary = binary or self.louped_binary()
        for attempt in range(3):
            s = dict(settings or {})
            port = int(s.pop("http_port", 0)) or free_port()
            s["http_port"] = port
            d = Louped([binary] + list(args), self.settings_env(s), self._log_path("louped"),
                       self.work_dir, port)
            self.processes.append(d)
            if not wait:
                return d
            try:
                d.wait_healthy(timeout)
                self._migrated = True
                return d
            except AssertionError:
                in_use = (not d.alive()) and "in use" in d.log().lower()
                if not in_use or attempt == 2:
                    d.kill()
                    raise
        raise AssertionError("unreachable")

    def start_worker(self, settings=None, args=()):
        w = Process("loupe-worker", [self.worker_binary()] + list(args), self.settings_env(settings),
                    self._log_path("loupe-worker"), self.work_dir)
        self.processes.append(w)
        return w

    def start_workers(self, n=1, settings=None):
        return [self.start_worker(settings) for _ in range(n)]

    def dump_logs(self, lines=200):
        for p in self.processes:
            _say("----- %s (pid %d, exit status %s): %s -----" % (p.name, p.pid, p.returncode, p.log_path))
            _say(_tail(p.log_path, lines))
        if self.processes:
            _say("----- end of logs -----")

    def keep_evidence(self, when):
        """For secrets_scan.py: before the processes stop ("running"), a /metrics scrape of every
        louped still up; after ("stopped"), every process log (hard-linked, so nothing is copied)."""
        if not EVIDENCE_DIR:
            return
        for n, p in enumerate(self.processes):
            if when == "running" and isinstance(p, Louped) and p.alive():
                try:
                    r = p.client(openapi_check=False, timeout=5).get("/metrics", headers=metrics_headers())
                    if r.status == 200:
                        with open(_evidence_path("metrics", "%s-%d.txt" % (self.name, n)), "wb") as f:
                            f.write(r.body)
                except OSError:
                    pass  # a louped that no longer answers has nothing to scrape
            elif when == "stopped" and os.path.exists(p.log_path):
                dest = _evidence_path("logs", self.name, os.path.basename(p.log_path))
                try:
                    if not os.path.exists(dest):
                        os.link(p.log_path, dest)
                except OSError:
                    shutil.copyfile(p.log_path, dest)

    def close(self):
        errors = []
        self.keep_evidence("running")
        for p in reversed(self.processes):
            try:
                p.stop()
            except Exception as e:  # keep cleaning up
                errors.append("stopping %s: %s" % (p.name, e))
        for fn in reversed(self._cleanups):
            try:
                fn()
            except Exception as e:
                errors.append(str(e))
        self._cleanups = []
        self.keep_evidence("stopped")
        if errors:
            _say("cleanup problems: " + "; ".join(errors))
        reports = self.sanitizer_reports()
        if reports:
            raise AssertionError("sanitizer reports in the processes' logs:\n" + "\n".join(reports))

    # What AddressSanitizer, LeakSanitizer and UBSan print when they find something.
    SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

    def sanitizer_reports(self):
        """The first lines of every sanitizer report in this test's process logs."""
        out = []
        for p in self.processes:
            lines = p.log().splitlines()
            for i, line in enumerate(lines):
                if any(m in line for m in self.SANITIZER_MARKERS):
                    out.append("%s (%s):\n  %s" % (p.name, p.log_path, "\n  ".join(lines[i:i + 12])))
                    break
        return out

    def remove_work_dir(self):
        shutil.rmtree(self.work_dir, ignore_errors=True)


def _cut(text, limit=20000):
    return text if len(text) <= limit else "…" + text[-limit:]


class LoupeTestCase(unittest.TestCase):
    """A TestCase with a Sandbox per test (self.sandbox) and shortcuts to it."""

    maxDiff = None

    def setUp(self):
        super().setUp()
        self.sandbox = Sandbox(self.id())
        self.addCleanup(self.sandbox.close)

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        super().run(result)
        box = getattr(self, "sandbox", None)
        if box is not None:
            if len(result.failures) + len(result.errors) > before:
                why = (result.failures + result.errors)[-1][1]
                _say("----- why it failed (the logs follow) -----\n" + _cut(why, 6000))
                box.dump_logs()
                _say("work directory kept: " + box.work_dir)
            else:
                box.remove_work_dir()
        return result

    # shortcuts
    @property
    def services(self):
        return self.sandbox.services

    def start_louped(self, settings=None, **kw):
        return self.sandbox.start_louped(settings, **kw)

    def start_worker(self, settings=None, **kw):
        return self.sandbox.start_worker(settings, **kw)

    def start_workers(self, n=1, settings=None):
        return self.sandbox.start_workers(n, settings)

    def run_louped(self, *args, **kw):
        return self.sandbox.run_louped(*args, **kw)

    def bootstrap(self, **kw):
        return self.sandbox.bootstrap(**kw)

    def private_services(self):
        return self.sandbox.use_private_services()

    def query(self, sql):
        """Rows of a SELECT run on this test's database."""
        return self.sandbox.services.query(sql, self.sandbox.name)

    def psql(self, sql):
        """Runs sql (any statements) on this test's database."""
        self.sandbox.services.psql(sql, database=self.sandbox.name)

    def start_team(self, settings=None):
        """The usual start of a test: a bootstrapped team (self.boot, self.team), louped with settings
        (self.d) and a client holding the owner's API key (self.c)."""
        self.boot = self.bootstrap()
        self.team = self.boot["team_id"]
        self.d = self.start_louped(settings)
        self.c = self.d.client(api_key=self.boot["api_key"])

    def member_session(self, email, role, password="a long enough password 1"):
        """A signed-in session client (CSRF token set) of a new member of self.team with this
        role, invited by self.c (after start_team)."""
        r = self.c.post("/api/v1/teams/%s/members" % self.team, json={"email": email, "role": role})
        self.assertEqual(r.status, 202, r.text)
        r = self.d.client().post("/api/v1/invitations/accept", json={"token": r.json()["token"], "password": password})
        self.assertEqual(r.status, 201, r.text)
        s = self.d.client()
        r = s.post("/api/v1/auth/login", json={"email": email, "password": password})
        self.assertEqual(r.status, 200, r.text)
        s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return s

    def assertProblem(self, response, status, field=None):
        return assert_problem(self, response, status, field)


def assert_problem(tc, response, status, field=None):
    """Asserts (with TestCase tc) an RFC 9457 application/problem+json response with this status
    and, when given, a field error naming `field`. Returns the parsed body."""
    tc.assertEqual(response.status, status, response.text)
    tc.assertEqual(response.content_type, "application/problem+json", response.text)
    body = response.json()
    tc.assertEqual(body.get("status"), status, body)
    if field is not None:
        fields = [e.get("field") for e in body.get("errors") or []]
        tc.assertIn(field, fields, body)
    return body

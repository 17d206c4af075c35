"""Tests of the harness itself (no louped needed): per-test databases and vhosts, the HTTP
client, process stopping, and private services that tests stop and restart."""

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import unittest

import loupe_harness as lh

lh.require_services(binaries=())


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, status, body, ctype="application/json", extra=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/login":
            self._send(200, {"ok": True}, extra=[("Set-Cookie", "sid=abc123; Path=/; HttpOnly")])
        elif self.path == "/whoami":
            self._send(200, {"cookie": self.headers.get("Cookie"), "auth": self.headers.get("Authorization")})
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/login")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/boom":
            self._send(500, {"status": 500, "title": "Internal"}, "application/problem+json")
        else:
            self._send(404, {"status": 404, "title": "Not Found"}, "application/problem+json; charset=utf-8")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n))
        if not isinstance(body.get("name"), str):
            self._send(422, {"status": 422, "errors": [{"field": "name", "message": "required"}]},
                       "application/problem+json")
        else:
            self._send(201, {"echo": body, "ctype": self.headers.get("Content-Type")})


class HttpClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", lh.free_port()), _Handler)
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.base = "http://127.0.0.1:%d" % cls.server.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def test_error_statuses_come_back_as_responses(self):
        c = lh.HttpClient(self.base, openapi_check=False)
        r = c.get("/missing")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.content_type, "application/problem+json")
        self.assertEqual(r.json()["title"], "Not Found")
        self.assertEqual(c.get("/boom").status, 500)

    def test_json_body_and_headers(self):
        c = lh.HttpClient(self.base, api_key="k_123", openapi_check=False)
        r = c.post("/items", json={"name": "a", "n": [1, 2]})
        self.assertEqual(r.status, 201)
        self.assertEqual(r.json()["echo"], {"name": "a", "n": [1, 2]})
        self.assertEqual(r.json()["ctype"], "application/json")
        self.assertEqual(c.get("/whoami").json()["auth"], "ApiKey k_123")
        lh.assert_problem(self, c.post("/items", json={}), 422, field="name")
        with self.assertRaises(AssertionError):
            lh.assert_problem(self, c.post("/items", json={}), 422, field="other")

    def test_cookies_are_kept_and_redirects_not_followed(self):
        c = lh.HttpClient(self.base, openapi_check=False)
        self.assertIsNone(c.get("/whoami").json()["cookie"])
        c.get("/login")
        self.assertEqual(c.cookie("sid"), "abc123")
        self.assertEqual(c.get("/whoami").json()["cookie"], "sid=abc123")
        r = c.get("/moved")
        self.assertEqual(r.status, 302)
        self.assertEqual(r.header("Location"), "/login")
        # Another client has its own jar.
        self.assertIsNone(lh.HttpClient(self.base, openapi_check=False).get("/whoami").json()["cookie"])

    def test_connection_refused_raises(self):
        c = lh.HttpClient("http://127.0.0.1:%d" % lh.free_port(), timeout=2)
        with self.assertRaises(OSError):
            c.get("/")


class ProcessTest(unittest.TestCase):
    def setUp(self):
        self.box = lh.Sandbox(self.id())
        self.addCleanup(self.box.remove_work_dir)
        self.addCleanup(self.box.close)

    def _child(self, code):
        p = lh.Process("child", [sys.executable, "-c", code], self.box.settings_env(),
                       self.box._log_path("child"), self.box.work_dir)
        self.box.processes.append(p)
        return p

    def test_sigterm_then_sigkill(self):
        polite = self._child("import time,sys; print('up', flush=True); time.sleep(60)")
        lh.wait_until(lambda: "up" in polite.log(), message="child to start")
        self.assertEqual(polite.stop(), -signal.SIGTERM)
        stubborn = self._child("import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                               "print('up', flush=True); time.sleep(60)")
        lh.wait_until(lambda: "up" in stubborn.log(), message="child to start")
        self.assertEqual(stubborn.stop(timeout=0.5), -signal.SIGKILL)

    def test_settings_environment(self):
        os.environ["LOUPE_SHOULD_NOT_LEAK"] = "1"
        self.addCleanup(os.environ.pop, "LOUPE_SHOULD_NOT_LEAK")
        env = self.box.settings_env({"page_size_max": 10, "cookie_secure": True, "log_level": None})
        self.assertNotIn("LOUPE_SHOULD_NOT_LEAK", env)
        self.assertNotIn("LOUPE_LOG_LEVEL", env)
        self.assertEqual(env["LOUPE_PAGE_SIZE_MAX"], "10")
        self.assertEqual(env["LOUPE_COOKIE_SECURE"], "true")
        self.assertEqual(env["LOUPE_DB_URL"], self.box.db_url)
        self.assertTrue(env["LOUPE_AMQP_URL"].endswith("/" + self.box.name))


class SandboxTest(unittest.TestCase):
    def test_each_sandbox_has_its_own_database_and_vhost(self):
        a, b = lh.Sandbox(self.id()), lh.Sandbox(self.id())
        try:
            self.assertNotEqual(a.name, b.name)
            self.assertEqual(a.services.query("SELECT current_database()", a.name), [[a.name]])
            a.services.psql("CREATE TABLE t (x int); INSERT INTO t VALUES (1)", a.name)
            self.assertEqual(b.services.query("SELECT count(*) FROM pg_tables WHERE tablename = 't'", b.name),
                             [["0"]])
            vhosts = a.services.rabbitmqctl("list_vhosts", "name").stdout.split()
            self.assertIn(a.name, vhosts)
            self.assertIn(b.name, vhosts)
            self.assertEqual(a.services.queues(a.name), {})
        finally:
            a.close()
            b.close()
            a.remove_work_dir()
            b.remove_work_dir()
        dbs = [r[0] for r in a.services.query("SELECT datname FROM pg_database")]
        self.assertNotIn(a.name, dbs)
        self.assertNotIn(b.name, dbs)
        vhosts = a.services.rabbitmqctl("list_vhosts", "name").stdout.split()
        self.assertNotIn(a.name, vhosts)
        self.assertFalse(os.path.exists(a.work_dir))


class PrivateServicesTest(lh.LoupeTestCase):
    def test_stop_and_restart(self):
        priv = self.private_services()
        name = self.sandbox.name
        self.assertNotEqual(priv.pg_port, lh.Services.from_env().pg_port)
        self.assertTrue(self.sandbox.db_url.endswith(":%d/%s" % (priv.pg_port, name)))
        self.assertEqual(self.query("SELECT current_database()"), [[name]])

        priv.pg_stop()
        self.assertFalse(lh.port_open(priv.pg_port))
        with self.assertRaises(RuntimeError):
            self.query("SELECT 1")
        priv.pg_start()
        self.assertEqual(self.query("SELECT 1"), [["1"]])

        priv.amqp_stop()
        self.assertFalse(lh.port_open(priv.amqp_port))
        priv.amqp_start()
        # The vhost lives in the broker's durable store and survives the restart.
        self.assertIn(name, priv.rabbitmqctl("list_vhosts", "name").stdout.split())

        services_dir = priv.dir
        self.sandbox.close()
        left = subprocess.run(["pgrep", "-f", services_dir], capture_output=True, text=True).stdout.split()
        self.assertEqual(left, [], "processes left behind in " + services_dir)


if __name__ == "__main__":
    unittest.main()

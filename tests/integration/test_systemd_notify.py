"""louped under systemd (Type=notify, WatchdogSec): it sends READY=1 once it serves, feeds the
watchdog at half of WATCHDOG_USEC, and sends STOPPING=1 on SIGTERM — over $NOTIFY_SOCKET, as
sd_notify(3) does, checked here with a real datagram socket."""

import os
import socket
import tempfile
import time
import unittest
from unittest import mock

import loupe_harness as lh

lh.require_services()


class SystemdNotifyTest(lh.LoupeTestCase):
    def test_ready_watchdog_stopping(self):
        path = os.path.join(tempfile.mkdtemp(prefix="loupe-notify-"), "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        self.addCleanup(sock.close)
        sock.settimeout(0.2)
        messages = []

        def receive_until(wanted, count, timeout):
            deadline = time.monotonic() + timeout * lh.TIMEOUT_SCALE
            while messages.count(wanted) < count:
                if time.monotonic() > deadline:
                    self.fail("fewer than %d %s from louped; got %r" % (count, wanted, messages))
                try:
                    messages.append(sock.recv(4096).decode())
                except socket.timeout:
                    pass

        with mock.patch.dict(os.environ, {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"}):
            d = self.start_louped()
        receive_until("READY=1", 1, 30)
        self.assertEqual(d.client().get("/healthz").status, 200)
        # 400 ms watchdog → a ping every 200 ms: three arrive well within two seconds
        receive_until("WATCHDOG=1", 3, 5)
        self.assertEqual(d.stop(), 0)
        receive_until("STOPPING=1", 1, 5)
        self.assertLess(messages.index("READY=1"), messages.index("STOPPING=1"))


if __name__ == "__main__":
    unittest.main()

"""make run (scripts/run-local.sh) as a supervisor: a loupe-worker that dies is restarted with
back-off and the restart is said; scripts/supervise.sh on its own (back-off doubling, reset,
clean stop)."""
# ctest-timeout: 400

import os
import signal
import subprocess
import tempfile
import time
import unittest

import loupe_harness as lh

SUPERVISE = os.path.join(lh.SOURCE_DIR, "scripts", "supervise.sh")
RUN_LOCAL = os.path.join(lh.SOURCE_DIR, "scripts", "run-local.sh")


def children(pid):
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    except FileNotFoundError:
        lh.skip("pgrep is missing (apt-get install procps)")
    return [int(x) for x in out.split()]


def read(path):
    """The file's text; "" when it is gone (a /proc entry of a process that just exited)."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


class SuperviseTest(unittest.TestCase):
    def test_a_dead_command_is_restarted_with_growing_back_off(self):
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "log")
            env = dict(os.environ, SUPERVISE_BACKOFF_MIN="1", SUPERVISE_BACKOFF_MAX="2")
            with open(log, "w") as out:
                p = subprocess.Popen([SUPERVISE, "sleeper", "sleep", "1000"], stdout=subprocess.DEVNULL, stderr=out,
                                     env=env, start_new_session=True)
            try:
                def commands():
                    return [c for c in children(p.pid) if read("/proc/%d/cmdline" % c) == "sleep\x001000\x00"]

                first = lh.wait_until(commands, timeout=5, message="the command started")[0]
                os.kill(first, signal.SIGKILL)
                lh.wait_until(lambda: "sleeper exited with status 137; restarting in 1s (restart #1)" in read(log),
                              timeout=5, message="the restart said")
                second = lh.wait_until(lambda: [c for c in commands() if c != first], timeout=5,
                                       message="a new command")[0]
                os.kill(second, signal.SIGKILL)
                lh.wait_until(lambda: "restarting in 2s (restart #2)" in read(log), timeout=5,
                              message="the back-off doubled")
                third = lh.wait_until(lambda: [c for c in commands() if c != second], timeout=10,
                                      message="a third command")[0]
                p.send_signal(signal.SIGTERM)
                self.assertEqual(p.wait(timeout=10), 0)
                lh.wait_until(lambda: not os.path.exists("/proc/%d" % third), timeout=5,
                              message="the command stopped with its supervisor")
            finally:
                # the supervisor and whatever it started, also when an assertion failed midway
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()


class RunLocalTest(lh.LoupeTestCase):
    def test_make_run_restarts_a_dead_worker(self):
        louped = lh.find_binary("louped")
        if louped is None:
            lh.skip("louped is not built (make build)")
        build = os.path.dirname(os.path.dirname(os.path.dirname(louped)))
        run_dir = os.path.join(self.sandbox.work_dir, "run")
        pg, amqp, http = lh.free_port(), lh.free_port(), lh.free_port()
        while amqp > 65000:
            amqp = lh.free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOUPE_")}
        env.update(LOUPE_SKIP_DEPS="1", LOUPE_SKIP_BUILD="1", LOUPE_BUILD_DIR=build, LOUPE_RUN_DIR=run_dir,
                   LOUPE_PG_PORT=str(pg), LOUPE_AMQP_PORT=str(amqp), LOUPE_HTTP_PORT=str(http),
                   LOUPE_KDF_MEMORY_KIB="8192", LOUPE_KDF_ITERATIONS="1", LOUPE_SHUTDOWN_GRACE="5s")
        log = os.path.join(self.sandbox.work_dir, "run-local.log")
        with open(log, "w") as out:
            p = subprocess.Popen([RUN_LOCAL], stdout=out, stderr=subprocess.STDOUT, env=env,
                                 start_new_session=True)
        try:
            lh.wait_until(lambda: "Loupe is running" in read(log) or p.poll() is not None, timeout=240,
                          interval=0.5, message="make run to start")
            self.assertIsNone(p.poll(), read(log)[-3000:])

            def worker_pids():
                out = subprocess.run(["pgrep", "-f", "-s", str(os.getpgid(p.pid)), "src/worker/loupe-worker"],
                                     capture_output=True, text=True).stdout
                return [int(x) for x in out.split() if "supervise" not in read("/proc/%s/cmdline" % x)]

            first = lh.wait_until(worker_pids, timeout=30, message="a worker")[0]
            os.kill(first, signal.SIGKILL)
            lh.wait_until(lambda: "loupe-worker exited with status 137; restarting" in read(log), timeout=15,
                          message="the restart said")
            second = lh.wait_until(lambda: [w for w in worker_pids() if w != first], timeout=30,
                                   message="a new worker")[0]
            self.assertNotEqual(first, second)
            # everything else kept running
            self.assertIsNone(p.poll())
            client = lh.HttpClient("http://127.0.0.1:%d" % http)
            self.assertEqual(client.get("/healthz").status, 200)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
        self.assertIn(p.returncode, (143, 0), read(log)[-3000:])


if __name__ == "__main__":
    unittest.main()

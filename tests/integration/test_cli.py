"""The loupe command-line client, the real binary against the real louped, loupe-worker,
PostgreSQL and RabbitMQ: login (a key, or an email and password) stored with mode 0600 under
XDG_CONFIG_HOME; datasets create and list; push of a generated folder of images (parallel, plain
lines off a terminal and a live bar on one), then again with everything skipped by checksum, a
changed file refused unless --replace, an interrupted push resumed; pull of a COCO archive through
the export API; import of it back; jobs watch; --json parsed everywhere; LOUPE_URL and
LOUPE_API_KEY overriding the stored login; the exit statuses and the server's problem detail; a
push through a node's request limit (429 waited out and sent again); a push of DICOM folders (each
folder's .dcm files one item through one multi-file upload)."""
# ctest-timeout: 600

import hashlib
import io
import json
import os
import pty
import shutil
import stat
import subprocess
import threading
import zipfile

import loupe_harness as lh
import media_testlib as mt

lh.require_services(("louped", "loupe-worker", "loupe"))
mt.require_tools("ffmpeg", purpose="to make the test images")

PASSWORD = "correct horse battery staple"
IMAGES = {  # the folder pushed: path under it → (top colour, bottom colour)
    "top.jpg": ("red", "blue"),
    "street/a.jpg": ("green", "white"),
    "street/b.jpg": ("yellow", "black"),
    "street/night/c.jpg": ("navy", "gray"),
    "park/d.jpg": ("orange", "purple"),
}


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class CliTest(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        self.boot = self.bootstrap(password=PASSWORD)
        self.daemon = self.start_louped()
        self.worker = self.start_worker()
        self.api = self.daemon.client(api_key=self.boot["api_key"])
        self.home = os.path.join(self.sandbox.work_dir, "home")
        self.config = os.path.join(self.sandbox.work_dir, "config")
        os.makedirs(self.home)
        self.binary = lh.find_binary("loupe")

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOUPE_")}
        env.update({"HOME": self.home, "XDG_CONFIG_HOME": self.config})
        env.update(extra)
        return env

    def loupe(self, *args, input=None, expect=0, **env):
        proc = subprocess.run([self.binary] + list(args), input=input, capture_output=True, text=True,
                              env=self.env(**env), timeout=240 * lh.TIMEOUT_SCALE)
        if expect is not None:
            self.assertEqual(proc.returncode, expect, "loupe %s\nstdout: %s\nstderr: %s"
                             % (" ".join(args), proc.stdout[-3000:], proc.stderr[-3000:]))
        return proc

    def loupe_json(self, *args, **kw):
        return json.loads(self.loupe("--json", *args, **kw).stdout)

    def login(self):
        self.loupe("login", "--url", self.daemon.url, "--key-stdin", input=self.boot["api_key"] + "\n")

    def make_folder(self, name="photos"):
        root = os.path.join(self.sandbox.work_dir, name)
        for rel, (top, bottom) in IMAGES.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            mt.two_band_jpeg(os.path.join(root, rel), 64, 48, top, bottom)
        mt.ffmpeg("-f", "lavfi", "-i", "testsrc=size=80x60:rate=1", "-frames:v", "1",
                  os.path.join(root, "street", "pattern.png"))
        with open(os.path.join(root, "notes.txt"), "w") as f:
            f.write("not an image\n")
        os.makedirs(os.path.join(root, ".cache"))
        shutil.copy(os.path.join(root, "top.jpg"), os.path.join(root, ".cache", "hidden.jpg"))
        return root

    def items(self, dataset_id):
        r = self.api.get("/api/v1/items", query={"dataset_id": dataset_id, "page[size]": "100"})
        self.assertEqual(r.status, 200, r.text)
        return {(i["path"], i["name"]): i for i in r.json()["items"]}

    def wait_ready(self, dataset_id, count):
        def ready():
            got = self.items(dataset_id)
            return got if len(got) == count and all(i["status"] in ("ready", "error") for i in got.values()) else None
        got = lh.wait_until(ready, timeout=120, interval=0.2, message="items to be processed")
        self.assertEqual({k: i["status"] for k, i in got.items() if i["status"] != "ready"}, {})
        return got

    def test_login_datasets_push_pull_import(self):
        # nothing stored yet: a clear refusal, exit status 3
        p = self.loupe("datasets", "list", expect=3)
        self.assertIn("not logged in", p.stderr)
        p = self.loupe("login", "--url", self.daemon.url, "--key-stdin", input="lp_00000000_nonsense\n", expect=3)
        self.assertIn("API key has the wrong length", p.stderr)  # the server's detail
        self.assertIn("401", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.config, "loupe", "credentials")))

        self.login()
        cred = os.path.join(self.config, "loupe", "credentials")
        self.assertEqual(stat.S_IMODE(os.stat(cred).st_mode), 0o600)
        with open(cred) as f:
            text = f.read()
        self.assertIn("key = " + self.boot["api_key"], text)
        self.assertIn("url = " + self.daemon.url, text)

        ds = self.loupe_json("datasets", "create", "Street Scenes")
        self.assertEqual(ds["slug"], "street-scenes")
        p = self.loupe("datasets", "create", "Street Scenes", expect=1)  # the server's problem detail shown
        self.assertIn("slug", p.stderr)
        self.assertIn("409", p.stderr)
        p = self.loupe("--json", "datasets", "create", "Street Scenes", expect=1)
        self.assertEqual(json.loads(p.stderr)["status"], 409)
        listed = self.loupe_json("datasets", "list")["datasets"]
        self.assertEqual([d["id"] for d in listed], [ds["id"]])
        self.assertIn("street-scenes", self.loupe("datasets", "list").stdout)

        # push: six images (five JPEGs, one PNG) in nested folders; the text file and the hidden
        # folder stay home
        folder = self.make_folder()
        out = self.loupe_json("push", folder, "--dataset", "street-scenes", "--parallel", "3")
        self.assertEqual((out["uploaded"], out["skipped"], out["failed"], out["ignored"]), (6, 0, 0, 1), out)
        rels = sorted(list(IMAGES) + ["street/pattern.png"])
        self.assertEqual(sorted(f["file"] for f in out["files"]), rels)
        got = self.items(ds["id"])
        want = {}
        for rel in rels:
            d, n = os.path.split(rel)
            want[("/" + d) if d else "/", n] = sha256_of(os.path.join(folder, rel))
        self.assertEqual({k: i["slots"][0]["sha256"] for k, i in got.items()}, want)

        # again: every file skipped by its checksum, nothing sent; plain lines off a terminal
        uploads = self.query("SELECT count(*) FROM uploads")[0][0]
        p = self.loupe("push", folder, "--dataset", "street-scenes")
        self.assertIn("skipped street/night/c.jpg", p.stdout)
        self.assertIn("0 uploaded, 6 skipped", p.stdout)
        self.assertNotIn("\r", p.stdout + p.stderr)
        self.assertEqual(self.query("SELECT count(*) FROM uploads")[0][0], uploads)

        # a file changed since: refused (exit 1) unless --replace
        mt.two_band_jpeg(os.path.join(folder, "park", "d.jpg"), 64, 48, "white", "white")
        p = self.loupe("push", folder, "--dataset", "street-scenes", expect=1)
        self.assertIn("conflict park/d.jpg", p.stderr)
        out = self.loupe_json("push", folder, "--dataset", "street-scenes", "--replace")
        self.assertEqual((out["uploaded"], out["skipped"]), (1, 5), out)

        # a push that stopped after registering an item but before its file: resumed into that item
        mt.two_band_jpeg(os.path.join(folder, "late.jpg"), 64, 48, "cyan", "magenta")
        r = self.api.post("/api/v1/datasets/%s/items" % ds["id"],
                          json={"name": "late.jpg", "slots": [{"name": "0", "type": "image"}]})
        self.assertEqual(r.status, 201, r.text)
        out = self.loupe_json("push", folder, "--dataset", ds["id"])
        late = [f for f in out["files"] if f["file"] == "late.jpg"][0]
        self.assertEqual((late["action"], late["item_id"]), ("uploaded", r.json()["id"]))
        self.assertEqual(out["skipped"], 6)

        # pull: an annotation, then the COCO archive through the export API
        got = self.wait_ready(ds["id"], 7)
        r = self.api.post("/api/v1/classes", json={"name": "car", "annotation_types": ["bounding_box"]})
        self.assertEqual(r.status, 201, r.text)
        car = r.json()["id"]
        r = self.api.post("/api/v1/items/%s/annotations/batch" % got["/street", "a.jpg"]["id"],
                          json={"create": [{"class_id": car, "bounding_box": {"x": 1, "y": 2, "w": 10, "h": 20}}]})
        self.assertEqual(r.status, 200, r.text)
        archive = os.path.join(self.sandbox.work_dir, "out.zip")
        e = self.loupe_json("pull", "street-scenes", "--format", "coco", "--output", archive)
        self.assertEqual((e["status"], e["file"]), ("succeeded", archive))
        with open(archive, "rb") as f:
            data = f.read()
        self.assertEqual(hashlib.sha256(data).hexdigest(), e["sha256"])
        z = zipfile.ZipFile(io.BytesIO(data))
        self.assertIsNone(z.testzip())
        coco = json.loads(z.read("annotations/instances.json"))
        self.assertEqual(sorted(i["file_name"] for i in coco["images"]),
                         sorted(["late.jpg"] + [r for r in rels]))
        self.assertEqual([(c["name"], a["bbox"]) for a in coco["annotations"] for c in coco["categories"]
                          if c["id"] == a["category_id"]], [("car", [1, 2, 10, 20])])
        p = self.loupe("pull", "no-such-dataset", "--format", "coco", expect=1)
        self.assertIn("no dataset \"no-such-dataset\"", p.stderr)
        p = self.loupe("pull", "street-scenes", "--format", "bmp", expect=1)
        self.assertIn("format", p.stderr)
        self.assertIn("422", p.stderr)

        # import: the archive's annotations back into the dataset, replacing the item's own
        instances = os.path.join(self.sandbox.work_dir, "instances.json")
        with open(instances, "wb") as f:
            f.write(z.read("annotations/instances.json"))
        imp = self.loupe_json("import", instances, "--dataset", "street-scenes", "--format", "coco",
                              "--mode", "replace")
        self.assertEqual(imp["status"], "succeeded", imp)
        self.assertEqual(imp["counts"]["items"]["matched"], 7, imp)
        # the COCO annotation keeps its id: the item's box is replaced by itself
        self.assertEqual((imp["counts"]["annotations"]["created"], imp["counts"]["annotations"]["replaced"]),
                         (0, 1), imp)
        anns = self.api.get("/api/v1/items/%s/annotations" % got["/street", "a.jpg"]["id"]).json()["annotations"]
        self.assertEqual([a["bounding_box"] for a in anns], [{"x": 1, "y": 2, "w": 10, "h": 20}])
        p = self.loupe("import", instances, "--dataset", "street-scenes", "--format", "coco", "--dry-run")
        self.assertIn("dry run", p.stdout)

    def test_jobs_watch_overrides_and_exit_statuses(self):
        r = self.api.post("/api/v1/system/echo", json={"message": "hello", "sleep_ms": 300})
        self.assertEqual(r.status, 202, r.text)
        # no stored login: LOUPE_URL and LOUPE_API_KEY are enough
        over = {"LOUPE_URL": self.daemon.url, "LOUPE_API_KEY": self.boot["api_key"]}
        job = self.loupe_json("jobs", "watch", r.json()["id"], "--interval", "100", **over)
        self.assertEqual((job["status"], job["result"]["message"]), ("succeeded", "hello"))
        p = self.loupe("jobs", "watch", r.json()["id"], **over)
        self.assertIn("succeeded", p.stdout)

        r = self.api.post("/api/v1/system/echo", json={"message": "no", "fail_times": 5, "max_attempts": 1})
        p = self.loupe("jobs", "watch", r.json()["id"], expect=1, **over)
        self.assertIn("failed", p.stderr)
        p = self.loupe("jobs", "watch", "00000000-0000-4000-8000-000000000000", expect=1, **over)
        self.assertIn("404", p.stderr)

        # the environment overrides the stored login, key and URL alike
        self.login()
        p = self.loupe("datasets", "list", expect=3, LOUPE_API_KEY="lp_00000000_nonsense")
        self.assertIn("API key has the wrong length", p.stderr)
        p = self.loupe("--json", "datasets", "list", expect=3, LOUPE_API_KEY="lp_00000000_nonsense")
        self.assertEqual(json.loads(p.stderr)["status"], 401)
        p = self.loupe("datasets", "list", expect=4, LOUPE_URL="http://127.0.0.1:%d" % lh.free_port())
        self.assertIn("no answer from", p.stderr)
        self.assertEqual(self.loupe_json("datasets", "list")["datasets"], [])
        p = self.loupe("push", "/nonexistent", expect=2)
        self.assertIn("--dataset", p.stderr)

    def test_push_waits_out_the_request_limit(self):
        # a node allowing a key 2 requests a second after a burst of 4: a push of six files (a POST
        # and a PUT each, and its listings) is refused with 429 along the way, waits as told and
        # sends again, and every file arrives
        self.daemon = self.start_louped({"api_rate_per_key": "2", "api_rate_burst": "4"})
        self.login()
        self.loupe_json("datasets", "create", "Limited")
        folder = self.make_folder()
        out = self.loupe_json("push", folder, "--dataset", "limited", "--parallel", "3")
        self.assertEqual((out["uploaded"], out["failed"]), (6, 0), out)
        metrics = self.daemon.client().get("/metrics", headers=lh.metrics_headers()).text
        refused = sum(float(line.split()[-1]) for line in metrics.splitlines()
                      if line.startswith("loupe_http_requests_total{") and 'status="429"' in line)
        self.assertGreater(refused, 0, "the push never met the limit: the test proves nothing")
        ds = self.loupe_json("datasets", "list")["datasets"][0]
        got = self.items(ds["id"])
        self.assertEqual(len(got), 6)

    def test_push_dicom_folders(self):
        """A folder's .dcm files are one item named after the folder, sent as one multi-file upload:
        a folder of one series is one volume, a folder of two series two volume slots; other media
        files stay one item each; a second push skips the folders already sent."""
        if not mt.have("dcm2niix"):
            self.skipTest("dcm2niix is needed to convert the DICOM series")
        import test_volume_series as vs
        root = os.path.join(self.sandbox.work_dir, "scans")
        for folder, files in (("ct", vs.axial()), ("visit/both", vs.axial() + vs.sagittal())):
            os.makedirs(os.path.join(root, folder))
            for i, (_, data) in enumerate(files):
                with open(os.path.join(root, folder, "%03d.dcm" % (i * 37 % 100)), "wb") as f:
                    f.write(data)
        mt.two_band_jpeg(os.path.join(root, "visit", "photo.jpg"), 32, 24, "red", "blue")
        self.login()
        ds = self.loupe_json("datasets", "create", "Scans")
        out = self.loupe_json("push", root, "--dataset", ds["slug"])
        self.assertEqual((out["uploaded"], out["skipped"], out["failed"]), (18, 0, 0), out)
        by_file = {f["file"]: f for f in out["files"]}
        self.assertEqual(len({by_file[f]["item_id"] for f in by_file if f.startswith("ct/")}), 1)
        self.assertEqual(len({by_file[f]["job_id"] for f in by_file if f.startswith("visit/both/")}), 1)
        items = self.wait_ready(ds["id"], 3)
        self.assertEqual(sorted(items), [("/", "ct"), ("/visit", "both"), ("/visit", "photo.jpg")])
        r = self.api.get("/api/v1/items/%s" % items[("/", "ct")]["id"])
        self.assertEqual([(s["name"], s["type"]) for s in r.json()["slots"]], [("0", "volume")])
        media = self.api.get("/api/v1/items/%s/slots/0/media" % items[("/", "ct")]["id"]).json()["media"]
        self.assertEqual(media["source"]["files"], 6)
        r = self.api.get("/api/v1/items/%s" % items[("/visit", "both")]["id"])
        self.assertEqual([s["name"] for s in r.json()["slots"]], ["0", "0-2"])

        again = self.loupe_json("push", root, "--dataset", ds["slug"])
        self.assertEqual((again["uploaded"], again["skipped"], again["failed"]), (0, 18, 0), again)
        self.assertEqual(len(self.items(ds["id"])), 3)

        # --dicom-series items: the folder of two series becomes two items
        ds2 = self.loupe_json("datasets", "create", "Split")
        out = self.loupe_json("push", os.path.join(root, "visit"), "--dataset", ds2["slug"], "--dicom-series", "items")
        self.assertEqual((out["uploaded"], out["failed"]), (12, 0), out)
        items = self.wait_ready(ds2["id"], 3)
        self.assertEqual(sorted(items), [("/", "both"), ("/", "both-2"), ("/", "photo.jpg")])

    def test_login_with_password_and_live_progress(self):
        # a server whose pages hold at most 3: the client falls back to the server's own page size
        self.daemon = self.start_louped({"page_size_max": "3"})
        out = self.loupe_json("login", "--url", self.daemon.url, "--email", self.boot["email"],
                              "--password-stdin", input=PASSWORD + "\n")
        self.assertEqual(out["user"]["email"], self.boot["email"])
        self.assertEqual(out["role"], "owner")
        keys = self.api.get("/api/v1/api-keys").json()["items"]
        self.assertIn("loupe on ", " ".join(k["name"] for k in keys))
        p = self.loupe("login", "--url", self.daemon.url, "--email", self.boot["email"], "--password-stdin",
                       input="wrong password\n", expect=3)
        self.assertIn("email or password is wrong", p.stderr)

        # the stored key (the made one) works; on a terminal the progress is drawn in place
        ds = self.loupe_json("datasets", "create", "Live")
        folder = self.make_folder("live")
        master, slave = pty.openpty()
        drawn = []
        reader = threading.Thread(target=self._drain, args=(master, drawn))
        reader.start()
        proc = subprocess.run([self.binary, "push", folder, "--dataset", ds["slug"]], stdout=subprocess.PIPE,
                              stderr=slave, env=self.env(), timeout=240 * lh.TIMEOUT_SCALE, text=True)
        os.close(slave)
        reader.join(timeout=30)
        os.close(master)
        screen = b"".join(drawn).decode("utf-8", "replace")
        self.assertEqual(proc.returncode, 0, screen)
        self.assertIn("\r\x1b[K[", screen)
        self.assertIn("6/6 files", screen)
        self.assertIn("6 uploaded, 0 skipped", proc.stdout)
        out = self.loupe_json("push", folder, "--dataset", ds["slug"])
        self.assertEqual((out["uploaded"], out["skipped"]), (0, 6), out)

    @staticmethod
    def _drain(fd, into):
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return
            if not chunk:
                return
            into.append(chunk)

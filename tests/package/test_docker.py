"""docker/Dockerfile and docker/compose.yaml, checked without a container engine:

- the Dockerfile is parsed and held to the hadolint rules that matter here: base images with an
  explicit tag, never `latest` (DL3006, DL3007); apt-get, not apt (DL3027), with
  --no-install-recommends (DL3015) and its lists removed in the same RUN (DL3009); COPY, not ADD
  (DL3020); `COPY --from` names an earlier stage (DL3022); absolute WORKDIR (DL3000) and no `cd`
  in RUN (DL3003); a pipe in RUN only under `SHELL [... "-o", "pipefail" ...]` (DL4006); exec form
  for CMD and ENTRYPOINT (DL3025); a final USER that is not root (DL3002); and a HEALTHCHECK;
- compose.yaml is validated against the Compose specification's JSON Schema (the copy Debian's
  docker-compose package carries), and its services, health checks and depends_on are checked;
- the runtime tree the image holds is built with the Dockerfile's own command
  (docker/install-tree.sh) from the build tree, its shared libraries are all found and all come
  from the packages the runtime stage installs, and its louped runs."""

import json
import os
import re
import shlex
import subprocess
import tempfile
import unittest

import install_testlib as it
import loupe_harness as lh

DOCKER_DIR = os.path.join(lh.SOURCE_DIR, "docker")
# The Compose specification's schema as Debian's docker-compose package ships it.
COMPOSE_SCHEMA = "/usr/lib/python3/dist-packages/compose/config/compose_spec.json"
# What the runtime image starts from has these already (debian:bookworm-slim).
BASE_IMAGE_PACKAGES = {"libc6"}

try:
    import yaml
except ImportError:
    yaml = None


def parse_dockerfile(path):
    """[(stage index, INSTRUCTION, arguments text)] with continuations joined and comments dropped."""
    out, stage, pending = [], -1, ""
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.lstrip().startswith("#"):
                continue  # a comment inside a continued instruction
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            text = (pending + line).strip()
            pending = ""
            word, _, rest = text.partition(" ")
            word = word.upper()
            if word == "FROM":
                stage += 1
            out.append((stage, word, rest.strip()))
    return out


def run_commands(args):
    """The shell commands of a RUN: split on && and ||."""
    return [c.strip() for c in re.split(r"&&|\|\|", args) if c.strip()]


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ins = parse_dockerfile(os.path.join(DOCKER_DIR, "Dockerfile"))
        cls.stages = [re.split(r"\s+", a) for _, w, a in cls.ins if w == "FROM"]
        cls.final = max(s for s, _, _ in cls.ins)

    def test_base_images_are_pinned(self):
        names = []
        for words in self.stages:
            words = [w for w in words if not w.startswith("--")]
            image = words[0]
            if image in names:
                continue  # an earlier stage
            self.assertRegex(image, r"^[\w./-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$", "%s has no tag (DL3006)" % image)
            self.assertFalse(image.endswith(":latest"), "%s uses latest (DL3007)" % image)
            if len(words) >= 3 and words[1].upper() == "AS":
                names.append(words[2])

    def test_apt_get(self):
        runs = [a for _, w, a in self.ins if w == "RUN"]
        self.assertTrue(any("apt-get install" in r for r in runs))
        for r in runs:
            for cmd in run_commands(r):
                self.assertFalse(re.match(r"(sudo\s+)?apt\s", cmd), "use apt-get, not apt (DL3027): " + cmd)
                if re.search(r"\bapt-get\s+(-\S+\s+)*install\b", cmd):
                    self.assertIn("--no-install-recommends", cmd, "DL3015: " + cmd)
                    self.assertRegex(cmd, r"\s-y\b|--yes|--assume-yes", cmd)
            if "apt-get update" in r or "apt-get install" in r:
                self.assertIn("rm -rf /var/lib/apt/lists/*", r, "DL3009: apt lists stay in the layer: " + r)

    def test_copy_not_add_and_stages(self):
        names = [w[2] for w in self.stages if len(w) >= 3 and w[1].upper() == "AS"]
        for stage, word, args in self.ins:
            self.assertNotEqual(word, "ADD", "COPY, not ADD (DL3020): " + args)
            m = re.search(r"--from=(\S+)", args) if word == "COPY" else None
            if m:
                self.assertIn(m.group(1), names[:stage], "COPY --from=%s: no earlier stage (DL3022)" % m.group(1))

    def test_workdir_shell_and_pipes(self):
        pipefail = {}
        workdir = {}
        for stage, word, args in self.ins:
            if word == "WORKDIR":
                self.assertTrue(args.startswith("/"), "WORKDIR %s is relative (DL3000)" % args)
                workdir[stage] = args
            if word == "SHELL":
                self.assertIn('"pipefail"', args)
                pipefail[stage] = True
            if word == "RUN":
                for cmd in run_commands(args):
                    self.assertFalse(re.match(r"cd\s", cmd), "use WORKDIR, not cd (DL3003): " + cmd)
                if re.search(r"[^|]\|[^|]", args):
                    self.assertTrue(pipefail.get(stage), "a pipe without SHELL ... pipefail (DL4006): " + args)
            if word == "COPY":
                dest = shlex.split(args)[-1]
                if not dest.startswith("/"):
                    self.assertIn(stage, workdir, "COPY to a relative path before WORKDIR (DL3045): " + args)

    def test_final_stage(self):
        final = [(w, a) for s, w, a in self.ins if s == self.final]
        users = [a for w, a in final if w == "USER"]
        self.assertTrue(users, "the image runs as root (DL3002)")
        self.assertNotIn(users[-1].split(":")[0], ("root", "0"), "the image runs as root (DL3002)")
        checks = [a for w, a in final if w == "HEALTHCHECK"]
        self.assertTrue(checks and not checks[-1].upper().startswith("NONE"), "no HEALTHCHECK")
        self.assertRegex(checks[-1], r"\bCMD\b.*/healthz")
        for w, a in final:
            if w in ("CMD", "ENTRYPOINT"):
                self.assertIsInstance(json.loads(a), list, "%s in shell form (DL3025)" % w)

    def test_the_build_runs_the_install_script(self):
        runs = " ".join(a for _, w, a in self.ins if w == "RUN")
        self.assertRegex(runs, r"docker/install-tree\.sh build /out")
        self.assertIn(("COPY", "--from=build /out/ /"), [(w, a) for s, w, a in self.ins if s == self.final])


class ComposeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if yaml is None:
            lh.skip("python3-yaml is missing (make deps)")
        with open(os.path.join(DOCKER_DIR, "compose.yaml")) as f:
            cls.doc = yaml.safe_load(f)
        cls.services = cls.doc["services"]

    def test_schema(self):
        try:
            import jsonschema
        except ImportError:
            lh.skip("python3-jsonschema is missing (make deps)")
        if not os.path.isfile(COMPOSE_SCHEMA):
            lh.skip("%s is missing (the Debian package docker-compose; make deps)" % COMPOSE_SCHEMA)
        with open(COMPOSE_SCHEMA) as f:
            schema = json.load(f)
        doc = dict(self.doc)
        # Debian's copy of the schema predates the top-level `name` (the project name); the
        # current specification's rule for it is checked here instead.
        name = doc.pop("name", None)
        if name is not None:
            self.assertRegex(name, r"^[a-z0-9][a-z0-9_-]*$")
        validator = jsonschema.Draft201909Validator(schema)  # the draft its $schema names
        errors = ["%s: %s" % ("/".join(map(str, e.absolute_path)), e.message) for e in validator.iter_errors(doc)]
        self.assertEqual(errors, [])
        # The check can fail: a misspelt key is an error.
        broken = json.loads(json.dumps(doc))
        broken["services"]["louped"]["helthcheck"] = {}
        self.assertTrue(list(validator.iter_errors(broken)))

    def test_services(self):
        s = self.services
        for name in ("postgres", "rabbitmq", "minio", "migrate", "louped", "worker"):
            self.assertIn(name, s)
        self.assertEqual(s["worker"]["deploy"]["replicas"], 2)
        self.assertEqual(s["louped"]["command"], ["louped", "serve"])
        self.assertEqual(s["migrate"]["command"], ["louped", "migrate"])
        self.assertEqual(s["worker"]["command"], ["loupe-worker"])
        for name, svc in s.items():
            image = svc.get("image", "")
            self.assertRegex(image, r":[\w.-]+$", "%s: image without a tag" % name)
            self.assertFalse(image.endswith(":latest"), "%s: latest" % name)
        self.assertEqual(s["louped"]["environment"]["LOUPE_STORAGE_BACKEND"], "s3")
        self.assertEqual(s["worker"]["environment"]["LOUPE_STORAGE_BACKEND"], "s3")

    def test_healthchecks_and_dependencies(self):
        s = self.services
        one_shots = {n for n, v in s.items() if "restart" not in v}
        for name, svc in s.items():
            if name not in one_shots and name not in ("louped", "worker"):
                self.assertIn("test", svc.get("healthcheck", {}), "%s has no health check" % name)
            for dep, cond in (svc.get("depends_on") or {}).items():
                self.assertIn(dep, s, "%s depends on a missing service %s" % (name, dep))
                cond = cond["condition"]
                if cond == "service_healthy":
                    # its own check, or (louped) the image's HEALTHCHECK
                    self.assertTrue("test" in s[dep].get("healthcheck", {}) or dep == "louped", dep)
                elif cond == "service_completed_successfully":
                    self.assertIn(dep, one_shots, "%s waits for %s to exit, but it restarts" % (name, dep))
        # louped relies on the image's HEALTHCHECK; workers have no HTTP port and turn it off.
        self.assertNotIn("healthcheck", s["louped"])
        self.assertTrue(s["worker"]["healthcheck"]["disable"])
        for name in ("louped", "worker"):
            self.assertEqual(s[name]["depends_on"]["migrate"]["condition"], "service_completed_successfully")
            self.assertEqual(s[name]["depends_on"]["rabbitmq"]["condition"], "service_healthy")

    def test_settings_exist(self):
        # Every LOUPE_* variable of the compose file and the Dockerfile names a real setting.
        louped = lh.find_binary("louped")
        if louped is None:
            lh.skip("louped is not built")
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOUPE_")}
        out = subprocess.run([louped, "config"], capture_output=True, text=True, env=env, timeout=60).stdout
        settings = {ln.split(" = ")[0] for ln in out.splitlines() if " = " in ln}
        self.assertIn("web_dir", settings)
        names = set()
        for svc in self.services.values():
            env = svc.get("environment") or {}
            names |= {k for k in env if k.startswith("LOUPE_")}
        with open(os.path.join(DOCKER_DIR, "Dockerfile")) as f:
            names |= set(re.findall(r"\b(LOUPE_[A-Z0-9_]+)=", f.read()))
        self.assertTrue(names)
        unknown = sorted(n for n in names if n[len("LOUPE_"):].lower() not in settings)
        self.assertEqual(unknown, [])


class RuntimeTreeTest(unittest.TestCase):
    """The tree the image's runtime stage receives, made by the same script."""

    @classmethod
    def setUpClass(cls):
        it.require_build()
        cls.tmp = tempfile.TemporaryDirectory(prefix="loupe-image-")
        cls.dest = cls.tmp.name
        proc = subprocess.run([os.path.join(DOCKER_DIR, "install-tree.sh"), it.BUILD_DIR, cls.dest],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        cls.bins = [os.path.join(cls.dest, "usr/local/bin", b) for b in ("louped", "loupe-worker", "loupe-decoder", "loupe")]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_tree(self):
        files = set(it.tree_files(self.dest))
        for b in self.bins:
            self.assertTrue(os.access(b, os.X_OK), b)
        self.assertIn("usr/local/share/loupe/web/index.html", files)
        self.assertIn("usr/local/share/doc/loupe/LICENSE", files)
        self.assertFalse([f for f in files if "systemd" in f])
        # The image's LOUPE_WEB_DIR is where the UI landed.
        with open(os.path.join(DOCKER_DIR, "Dockerfile")) as f:
            web_dir = re.search(r"LOUPE_WEB_DIR=(\S+)", f.read()).group(1)
        self.assertTrue(os.path.isfile(os.path.join(self.dest, web_dir.lstrip("/"), "index.html")))

    def test_programs_run(self):
        out = subprocess.run([self.bins[0], "--version"], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"^louped \d+\.\d+\.\d+")

    def test_libraries_come_from_the_runtime_packages(self):
        ldd = subprocess.run(["ldd"] + self.bins, capture_output=True, text=True, timeout=60).stdout
        self.assertNotIn("not found", ldd)
        libs = sorted(set(re.findall(r"=> (/\S+)", ldd)))
        owners = subprocess.run(["dpkg-query", "-S"] + [os.path.realpath(p) for p in libs],
                                capture_output=True, text=True, timeout=60).stdout
        needed = {ln.split(":")[0] for ln in owners.splitlines() if ":" in ln}
        self.assertTrue(needed)
        # What the runtime stage installs, with everything those packages pull in (on this
        # machine, which is the same Debian release as the image).
        dockerfile = parse_dockerfile(os.path.join(DOCKER_DIR, "Dockerfile"))
        final = max(s for s, _, _ in dockerfile)
        listed = set()
        for s, w, a in dockerfile:
            if s == final and w == "RUN":
                for cmd in run_commands(a):
                    if "apt-get" in cmd and " install " in cmd:
                        listed |= {t for t in cmd.split()[cmd.split().index("install") + 1:] if not t.startswith("-")}
        self.assertIn("libvips42", listed)
        status = subprocess.run(["dpkg-query", "-W", "-f=${Package}\\t${Depends}, ${Pre-Depends}\\n"],
                                capture_output=True, text=True, timeout=60).stdout
        deps = {}
        for ln in status.splitlines():
            pkg, _, rest = ln.partition("\t")
            deps[pkg.split(":")[0]] = [re.split(r"[\s:(]", alt.strip())[0] for d in rest.split(",") if d.strip()
                                       for alt in d.split("|")]
        closure, todo = set(), list(listed | BASE_IMAGE_PACKAGES)
        while todo:
            p = todo.pop()
            if p and p not in closure:
                closure.add(p)
                todo += deps.get(p, [])
        # A sanitizer build links the sanitizer runtimes, which an image (a release build) lacks.
        missing = sorted(p.split(":")[0] for p in needed
                         if p.split(":")[0] not in closure and not re.match(r"lib(a|ub|l|t)san\d", p))
        self.assertEqual(missing, [], "libraries of the image from packages its runtime stage does not install")


if __name__ == "__main__":
    unittest.main()

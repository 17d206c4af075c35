"""The access matrix, generated from src/api/routes.def: every route × {no credential, a revoked key,
another team's key, each role} against real objects of two teams, each answer checked against the
expectations in access_matrix.txt (one row per route). Prints the matrix (route × credential →
status) and counts its cells and leaks; asserts 0 leaks and no other surprise.

A leak: a credential without a valid key getting anything but 401; another team's key getting 2xx
or 403 (instead of 404) on a route that names team A's objects, or an answer that names one of
them; a role below the route's getting 2xx."""

import json
import os
import re
import time
import unittest

import loupe_harness as lh

lh.require_services()

# ctest-timeout: 300
HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, "access_matrix.txt")
ROUTES = os.path.join(lh.SOURCE_DIR, "src", "api", "routes.def")
ROLES = ("viewer", "annotator", "reviewer", "admin", "owner")
CREDENTIALS = ("none", "revoked", "other") + ROLES
DEFAULT_OK = "2xx 400 409 415 422"
PASSWORD = "a long enough password 1"


def routes_def():
    """[(METHOD, pattern, PERM)] of routes.def, in its order."""
    out = []
    with open(ROUTES) as f:
        for m in re.finditer(r'^LP_ROUTE\(\s*(\w+),\s*"([^"]+)",\s*\w+,\s*(\w+),', f.read(), re.M):
            out.append((m.group(1), m.group(2), m.group(3)))
    return out


class Row:
    def __init__(self, line, lineno):
        cols = [c.strip() for c in line.split("|")]
        if len(cols) != 6:
            raise ValueError("access_matrix.txt:%d: 6 columns expected, got %d" % (lineno, len(cols)))
        self.route, self.role, params, body, ok, self.other = cols
        self.method, self.path = self.route.split(" ", 1)
        self.params = dict(p.split("=", 1) for p in params.split()) if params != "-" else {}
        self.body = None if body == "-" else body
        words = (DEFAULT_OK if ok == "-" else ok).split()
        self.ok = [w for w in words if "=" not in w]
        self.overrides = dict(w.split("=", 1) for w in words if "=" in w)  # credential=status
        self.destructive = any(v.startswith("new:") for v in self.params.values()) or "{new:" in (self.body or "")
        self.other = self.other.split()
        if self.role not in ROLES + ("public",) or not (self.other == ["own"] or "404" in self.other):
            raise ValueError("access_matrix.txt:%d: bad role %r or other %r" % (lineno, self.role, self.other))

    def accepts(self, status):
        return str(status) in self.ok or ("2xx" in self.ok and 200 <= status < 300)


def table():
    rows = {}
    with open(TABLE) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if line and not line.startswith("#"):
                row = Row(line, n)
                rows[row.route] = row
    return rows


class AccessMatrixTest(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        self.start_team({"net_allow": "127.0.0.2/32", "webhook_allow_http": "true"})
        self.ids = set()  # every id of team A's objects (an answer to team B naming one is a leak)
        self.fx = self.fixtures(self.c, self.team)
        other = self.bootstrap(team="Team B", email="boss@b.example")
        self.b = self.d.client(api_key=other["api_key"], openapi_check=False)
        self.fixtures(self.b, other["team_id"], mine=False)  # team B has objects of its own too
        self.creds = {"none": self.d.client(openapi_check=False), "other": self.b}
        revoked = self.ok(self.c.post("/api/v1/api-keys", json={"name": "revoked"}), 201)
        self.ok(self.c.delete("/api/v1/api-keys/" + revoked["id"]), 204)
        self.creds["revoked"] = self.d.client(api_key=revoked["key"], openapi_check=False)
        for role in ROLES:  # a member of team A with each role, holding a key of their own
            s = self.c if role == "owner" else self.member_session("%s@a.example" % role, role, PASSWORD)
            k = self.ok(s.post("/api/v1/api-keys", json={"name": role}), 201)
            self.creds[role] = self.d.client(api_key=k["key"], openapi_check=False)

    def ok(self, r, status):
        self.assertEqual(r.status, status, "%s: %s" % (r.url, r.text))
        return r.json() if r.body else None

    def keep(self, value, mine):
        if mine:
            self.ids.add(value)
        return value

    # --- team A's objects ----------------------------------------------------------------------

    def make(self, kind, c=None, team=None, mine=True):
        """A new object of kind in the team of client c (default team A); its id."""
        c = c or self.c
        team = team or self.team
        k = lambda v: self.keep(v, mine)
        if kind == "dataset":
            return k(self.ok(c.post("/api/v1/datasets", json={"name": "ds %f" % time.time()}), 201)["id"])
        if kind == "item":
            ds = getattr(self, "fx", {}).get("dataset") if mine else self.make("dataset", c, team, mine)
            ds = ds or self.make("dataset", c, team, mine)
            r = c.post("/api/v1/datasets/%s/items" % ds, json={
                "name": "i%f.jpg" % time.time(), "slots": [{"name": "0", "type": "image", "width": 64, "height": 64}]})
            return k(self.ok(r, 201)["id"])
        if kind == "class":
            return k(self.ok(c.post("/api/v1/classes", json={"name": "c%f" % time.time(),
                                                             "annotation_types": ["bounding_box", "tag"]}), 201)["id"])
        if kind == "member":
            email = "m%f@a.example" % time.time()
            r = self.ok(c.post("/api/v1/teams/%s/members" % team, json={"email": email, "role": "viewer"}), 202)
            m = self.ok(self.d.client(openapi_check=False).post(
                "/api/v1/invitations/accept", json={"token": r["token"], "password": PASSWORD}), 201)
            return k(m["user"]["id"])
        if kind == "api_key":
            return k(self.ok(c.post("/api/v1/api-keys", json={"name": "throwaway"}), 201)["id"])
        if kind == "webhook":
            return k(self.ok(c.post("/api/v1/webhooks", json={"url": "http://127.0.0.2:9/hook",
                                                              "events": ["item.created"]}), 201)["id"])
        if kind == "integration":
            return k(self.ok(c.post("/api/v1/integrations", json={"name": "in %f" % time.time()}), 201)["id"])
        if kind == "model":
            return k(self.ok(c.post("/api/v1/models", json={
                "name": "ocr", "task": "text_detect", "runtime": "http",
                "endpoint": {"protocol": "kserve_v2", "url": "http://127.0.0.2:9000", "model_name": "det"},
                "input": {"width": 640, "height": 640}, "output": {"decoder": "text_polygons", "binary_threshold": 0.3},
                "labels": ["text"]}), 201)["id"])
        if kind == "import":
            ds = self.fx["dataset"] if mine else self.make("dataset", c, team, mine)
            return k(self.ok(c.post("/api/v1/imports", json={"format": "darwin", "dataset_id": ds}), 201)["id"])
        if kind == "storage_location":
            return k(self.ok(c.post("/api/v1/storage-locations", json={
                "slug": "loc%d" % int(time.time() * 1e6), "prefix": "p%d/" % int(time.time() * 1e6)}), 201)["id"])
        if kind == "workflow":
            ds = self.make("dataset", c, team, mine)
            return k(self.ok(c.post("/api/v1/workflows", json={
                "name": "Line %f" % time.time(), "dataset_ids": [ds],
                "stages": [{"id": "in", "type": "dataset"},
                           {"id": "label", "type": "annotate",
                            "config": {"assignees": "any", "states": ["new", "in_progress", "blocked"]}},
                           {"id": "done", "type": "complete"}],
                "edges": [{"from": "in", "port": "next", "to": "label"},
                          {"from": "label", "port": "done", "to": "done"}]}), 201)["id"])
        raise AssertionError("no fixture named %r" % kind)

    def fixtures(self, c, team, mine=True):
        fx = {"team": self.keep(team, mine)}
        if mine:
            self.fx = fx
        for kind in ("dataset", "item", "class", "member", "webhook", "integration", "model", "import", "workflow"):
            fx[kind] = self.make(kind, c, team, mine)
        fx["workflow_dataset"] = wf_ds = c.get("/api/v1/workflows/" + fx["workflow"]).json()["dataset_ids"][0]
        r = c.post("/api/v1/datasets/%s/items" % wf_ds, json={
            "name": "t.jpg", "slots": [{"name": "0", "type": "image", "width": 64, "height": 64}]})
        self.keep(self.ok(r, 201)["id"], mine)
        self.ok(c.post("/api/v1/workflows/%s/enter" % fx["workflow"], json={"filters": {"dataset_id": wf_ds}}), 200)
        fx["task"] = self.keep(self.query("SELECT t.id FROM tasks t JOIN items i ON i.id = t.item_id "
                                          "WHERE i.dataset_id = '%s'" % wf_ds)[0][0], mine)
        fx["export"] = self.keep(self.ok(c.post("/api/v1/exports", json={
            "format": "darwin", "filters": {"dataset_id": fx["dataset"]}}), 202)["id"], mine)
        fx["job"] = self.keep(self.ok(c.post("/api/v1/system/echo", json={"message": "hi"}), 202)["id"], mine)
        fx["delivery"] = self.keep(self.ok(c.post("/api/v1/webhooks/%s/test" % fx["webhook"]), 202)["delivery_id"],
                                   mine)
        return fx

    def fill(self, row):
        """The row's path and body with team A's objects in place of their {names} (new: ones made now)."""
        def value(spec):
            if spec.startswith("literal:"):
                return spec[len("literal:"):]
            if spec.startswith("new:"):
                return self.make(spec[4:])
            return self.fx[spec]

        path, query = row.path, []
        for name, spec in row.params.items():
            if name.startswith("?"):
                query.append("%s=%s" % (name[1:], value(spec)))
            else:
                path = re.sub(r"\{%s\*?\}" % re.escape(name), value(spec), path)
        if query:
            path += "?" + "&".join(query)
        body = row.body
        if body:
            body = re.sub(r"\{(new:)?(\w+)\}", lambda m: value((m.group(1) or "") + m.group(2)), body)
        return path, body

    # --- the matrix ----------------------------------------------------------------------------

    def expected(self, row, cred):
        """(what is expected as text, a predicate on the status, a predicate telling a leak)."""
        if row.role == "public":
            return " ".join(row.ok), row.accepts, lambda s: False
        if cred in ("none", "revoked"):
            return "401", lambda s: s == 401, lambda s: s != 401
        if cred == "other":
            if row.other != ["own"]:
                return " ".join(row.other), lambda s: str(s) in row.other, lambda s: 200 <= s < 300 or s == 403
            return "own", lambda s: s not in (401, 403) and row.accepts(s), lambda s: False
        if ROLES.index(cred) < ROLES.index(row.role):
            want = row.overrides.get(cred, "403")
            return want, lambda s: str(s) == want, lambda s: 200 <= s < 300
        return " ".join(row.ok), row.accepts, lambda s: s in (401, 403) and "403" not in row.ok

    def test_every_route_every_credential(self):
        routes = routes_def()
        rows = table()
        missing = ["%s %s" % (m, p) for m, p, _ in routes if "%s %s" % (m, p) not in rows]
        self.assertEqual(missing, [], "routes of routes.def without a row in access_matrix.txt (add one each)")
        stale = sorted(set(rows) - {"%s %s" % (m, p) for m, p, _ in routes})
        self.assertEqual(stale, [], "rows of access_matrix.txt for routes routes.def no longer has")
        perms = {"READ": "viewer", "ANNOTATE": "annotator", "REVIEW": "reviewer", "MANAGE": "admin", "OWNER": "owner",
                 "PUBLIC": "public"}
        lower = [r for m, p, perm in routes for r in [rows["%s %s" % (m, p)]]
                 if r.role != "public" and perms[perm] != "public" and ROLES.index(r.role) < ROLES.index(perms[perm])]
        self.assertEqual([r.route for r in lower], [], "rows asking less than the route's permission in routes.def")

        ordered = sorted((rows["%s %s" % (m, p)] for m, p, _ in routes), key=lambda r: r.destructive)
        results, leaks, surprises = [], [], []
        for row in ordered:
            line = []
            for cred in CREDENTIALS:
                path, body = self.fill(row)
                headers = {"Content-Type": "application/json"} if body is not None else {}
                r = self.creds[cred].request(row.method, path, data=body, headers=headers)
                want, fine, leaky = self.expected(row, cred)
                status = r.status
                leak = leaky(status)
                if cred == "other" and not leak and row.role != "public":
                    named = [i for i in self.ids if i in r.text and i not in path + (body or "")]
                    if named:
                        leak = True
                        want += " (answer names team A's %s)" % named[0]
                if leak:
                    leaks.append("%s as %s: %d, expected %s: %s" % (row.route, cred, status, want, r.text[:200]))
                elif not fine(status):
                    surprises.append("%s as %s: %d, expected %s: %s" % (row.route, cred, status, want, r.text[:200]))
                line.append("%d%s" % (status, "!" if leak else ("?" if not fine(status) else "")))
            results.append((row.route, line))

        width = max(len(r) for r, _ in results)
        print("\n%-*s  %s" % (width, "route", " ".join("%-9s" % c for c in CREDENTIALS)))
        for route, line in results:
            print("%-*s  %s" % (width, route, " ".join("%-9s" % s for s in line)))
        cells = len(results) * len(CREDENTIALS)
        print("access matrix: %d routes x %d credentials = %d cells, %d leaks, %d other surprises" % (
            len(results), len(CREDENTIALS), cells, len(leaks), len(surprises)))
        self.assertEqual(leaks, [], "leaks")
        self.assertEqual(surprises, [], "answers the table does not expect")


if __name__ == "__main__":
    unittest.main()

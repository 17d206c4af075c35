"""Identity: API keys, sessions with CSRF, roles, team scoping, members and the audit trail,
through the real louped against a real PostgreSQL."""

import datetime
import unittest

import loupe_harness as lh

lh.require_services()

PASSWORD = "correct horse battery"


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


class IdentityTest(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        self.boot = self.bootstrap(team="Acme Vision", email="Owner@Example.com", password=PASSWORD)
        self.d = self.start_louped()
        self.owner = self.d.client(api_key=self.boot["api_key"])
        self.team = self.boot["team_id"]

    def new_key(self, client, **body):
        body.setdefault("name", "test key")
        r = client.post("/api/v1/api-keys", json=body)
        self.assertEqual(r.status, 201, r.text)
        return r.json()

    def add_member(self, email, role, password=None, client=None):
        """Invites email (as the owner, or client) and accepts the invitation with password (a
        new account's password; a throwaway one when None). Returns the membership."""
        r = (client or self.owner).post("/api/v1/teams/%s/members" % self.team, json={"email": email, "role": role})
        self.assertEqual(r.status, 202, r.text)
        r = self.d.client().post("/api/v1/invitations/accept",
                                 json={"token": r.json()["token"], "password": password or "throwaway password 1"})
        self.assertEqual(r.status, 201, r.text)
        return r.json()

    def refused(self, client, timeout=1.0):
        """The first 401 answer to GET /api/v1/me, which must come within timeout seconds: a change
        made behind louped's back (SQL) reaches its credential cache through a notification."""
        def attempt():
            r = client.get("/api/v1/me")
            return r if r.status == 401 else None
        return lh.wait_until(attempt, timeout=timeout, interval=0.01, message="the credential to be refused")

    def login(self, email, password=PASSWORD):
        c = self.d.client()
        r = c.post("/api/v1/auth/login", json={"email": email, "password": password})
        self.assertEqual(r.status, 200, r.text)
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return c

    # --- API keys -------------------------------------------------------------------------

    def test_bootstrap_key_and_me(self):
        r = self.owner.get("/api/v1/me")
        self.assertEqual(r.status, 200, r.text)
        me = r.json()
        self.assertEqual(me["user"]["email"], "owner@example.com")  # stored lower-case
        self.assertEqual(me["user"]["id"], self.boot["user_id"])
        self.assertEqual(me["team"]["id"], self.team)
        self.assertEqual(me["team"]["slug"], "acme-vision")
        self.assertEqual(me["role"], "owner")
        self.assertEqual(me["auth"], "api_key")
        self.assertNotIn("csrf_token", me)
        self.assertTrue(self.boot["api_key"].startswith("lp_"))
        # Bearer is accepted too; the key is stored only as a hash.
        bearer = self.d.client(headers={"Authorization": "Bearer " + self.boot["api_key"]})
        self.assertEqual(bearer.get("/api/v1/me").status, 200)
        rows = self.query("SELECT count(*) FROM api_keys WHERE key_hash = '%s'" % self.boot["api_key"])
        self.assertEqual(rows, [["0"]])
        # A second bootstrap with the same team name gets its own slug.
        other = self.bootstrap(team="Acme Vision", email="second@example.com")
        r = self.d.client(api_key=other["api_key"]).get("/api/v1/me")
        self.assertEqual(r.json()["team"]["slug"], "acme-vision-2")

    def test_missing_and_invalid_credentials(self):
        anon = self.d.client()
        body = self.assertProblem(anon.get("/api/v1/me"), 401)
        self.assertIn("authentication required", body["detail"])
        cases = [
            "ApiKey nonsense",
            "ApiKey lp_abcdefgh_" + "A" * 43,                       # well formed, unknown prefix
            "ApiKey " + self.boot["api_key"][:-4] + "AAAA",         # real prefix, wrong secret
            "Basic dXNlcjpwYXNz",                                   # unsupported scheme
        ]
        for header in cases:
            c = self.d.client(headers={"Authorization": header})
            self.assertProblem(c.get("/api/v1/me"), 401)
        bad = self.d.client(headers={"Authorization": cases[2]})
        self.assertIn("not valid", bad.get("/api/v1/me").json()["detail"])
        self.assertProblem(anon.get("/api/v1/api-keys", headers={"Cookie": "loupe_session=bogus"}), 401)

    def test_revoked_and_expired_keys(self):
        k = self.new_key(self.owner, name="ci")
        for field in ("id", "name", "prefix", "key", "role", "expires_at", "created_at"):
            self.assertIn(field, k)
        self.assertEqual(k["role"], "owner")
        self.assertIsNone(k["expires_at"])
        c = self.d.client(api_key=k["key"])
        self.assertEqual(c.get("/api/v1/me").status, 200)

        # The list shows the key without its secret, with last_used_at recorded.
        listed = self.owner.get("/api/v1/api-keys").json()
        item = [i for i in listed["items"] if i["id"] == k["id"]][0]
        self.assertNotIn("key", item)
        self.assertNotIn("key_hash", item)
        self.assertIsNotNone(item["last_used_at"])
        self.assertIsNone(listed["next"])

        self.assertEqual(self.owner.delete("/api/v1/api-keys/" + k["id"]).status, 204)
        body = self.assertProblem(c.get("/api/v1/me"), 401)
        self.assertIn("API key was revoked", body["detail"])

        soon = self.new_key(self.owner, name="short-lived",
                            expires_at=iso(datetime.datetime.utcnow() + datetime.timedelta(hours=1)))
        self.assertIsNotNone(soon["expires_at"])
        c2 = self.d.client(api_key=soon["key"])
        self.assertEqual(c2.get("/api/v1/me").status, 200)
        self.psql("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = '%s'" % soon["id"])
        body = self.assertProblem(self.refused(c2), 401)
        self.assertIn("API key has expired", body["detail"])

    def test_api_key_validation(self):
        r = self.owner.post("/api/v1/api-keys", json={"name": "", "expires_at": "tomorrow", "role": "god",
                                                        "scopes": []})
        body = self.assertProblem(r, 422)
        fields = sorted(e["field"] for e in body["errors"])
        self.assertEqual(fields, ["expires_at", "name", "role", "scopes"])
        past = iso(datetime.datetime.utcnow() - datetime.timedelta(days=1))
        self.assertProblem(self.owner.post("/api/v1/api-keys", json={"name": "x", "expires_at": past}), 422,
                           "expires_at")
        self.assertProblem(self.owner.post("/api/v1/api-keys", json={"name": "x", "expires_at": "2030-02-30T00:00:00Z"}),
                           422, "expires_at")
        ok = self.new_key(self.owner, name="offset", expires_at="2031-01-02T03:04:05.5+02:00")
        self.assertEqual(ok["expires_at"], "2031-01-02T01:04:05.500Z")
        self.assertProblem(self.owner.delete("/api/v1/api-keys/not-a-uuid"), 404)
        self.assertProblem(self.owner.delete("/api/v1/api-keys/00000000-0000-4000-8000-000000000000"), 404)

    # --- roles ------------------------------------------------------------------------------

    def test_role_too_low_is_403(self):
        viewer_key = self.new_key(self.owner, name="read only", role="viewer")
        self.assertEqual(viewer_key["role"], "viewer")
        v = self.d.client(api_key=viewer_key["key"])
        self.assertEqual(v.get("/api/v1/me").json()["role"], "viewer")
        self.assertEqual(v.get("/api/v1/teams/%s/members" % self.team).status, 200)
        self.assertProblem(v.post("/api/v1/teams/%s/members" % self.team,
                                  json={"email": "x@example.com", "role": "viewer"}), 403)
        self.assertProblem(v.patch("/api/v1/teams/" + self.team, json={"name": "Renamed"}), 403)
        # A key cannot be made stronger than its creator.
        self.assertProblem(v.post("/api/v1/api-keys", json={"name": "escalate", "role": "admin"}), 403)

        # A member demoted after creating a key: the key acts with the lower role.
        self.add_member("admin@example.com", "admin", password=PASSWORD)
        a = self.login("admin@example.com")
        admin_key = self.new_key(a, name="admin key")
        ak = self.d.client(api_key=admin_key["key"])
        self.assertEqual(ak.get("/api/v1/me").json()["role"], "admin")
        # an admin cannot grant owner
        self.assertProblem(ak.post("/api/v1/teams/%s/members" % self.team,
                                   json={"email": "boss@example.com", "role": "owner"}), 403)
        # an admin cannot demote an owner
        self.assertProblem(ak.patch("/api/v1/teams/%s/members/%s" % (self.team, self.boot["user_id"]),
                                    json={"role": "viewer"}), 403)
        admin_id = ak.get("/api/v1/me").json()["user"]["id"]
        r = self.owner.patch("/api/v1/teams/%s/members/%s" % (self.team, admin_id), json={"role": "viewer"})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(ak.get("/api/v1/me").json()["role"], "viewer")
        self.assertProblem(ak.post("/api/v1/teams/%s/members" % self.team,
                                   json={"email": "y@example.com", "role": "viewer"}), 403)
        # non-managers see only their own keys
        self.assertEqual([k["id"] for k in ak.get("/api/v1/api-keys").json()["items"]], [admin_key["id"]])
        self.assertProblem(ak.delete("/api/v1/api-keys/" + viewer_key["id"]), 404)
        self.assertGreaterEqual(len(self.owner.get("/api/v1/api-keys").json()["items"]), 3)

    # --- team scoping -----------------------------------------------------------------------

    def test_other_team_is_404(self):
        other = self.bootstrap(team="Other Co", email="boss@other.example")
        o = self.d.client(api_key=other["api_key"])
        o_key = self.new_key(o, name="theirs")
        t = other["team_id"]
        self.assertProblem(self.owner.get("/api/v1/teams/" + t), 404)
        self.assertProblem(self.owner.patch("/api/v1/teams/" + t, json={"name": "Mine now"}), 404)
        self.assertProblem(self.owner.get("/api/v1/teams/%s/members" % t), 404)
        self.assertProblem(self.owner.post("/api/v1/teams/%s/members" % t,
                                           json={"email": "spy@example.com", "role": "admin"}), 404)
        self.assertProblem(self.owner.patch("/api/v1/teams/%s/members/%s" % (t, other["user_id"]),
                                            json={"role": "viewer"}), 404)
        self.assertProblem(self.owner.delete("/api/v1/teams/%s/members/%s" % (t, other["user_id"])), 404)
        self.assertProblem(self.owner.delete("/api/v1/api-keys/" + o_key["id"]), 404)
        # the other team's member is not a member here either
        self.assertProblem(self.owner.patch("/api/v1/teams/%s/members/%s" % (self.team, other["user_id"]),
                                            json={"role": "viewer"}), 404)
        self.assertNotIn(o_key["id"], [k["id"] for k in self.owner.get("/api/v1/api-keys").json()["items"]])
        self.assertEqual(self.d.client(api_key=o_key["key"]).get("/api/v1/me").status, 200)
        r = self.owner.get("/api/v1/teams/" + self.team)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()["name"], "Acme Vision")

    # --- sessions ---------------------------------------------------------------------------

    def test_session_login_csrf_logout(self):
        c = self.d.client()
        wrong = self.assertProblem(c.post("/api/v1/auth/login",
                                          json={"email": "owner@example.com", "password": "not the password"}), 401)
        unknown = self.assertProblem(c.post("/api/v1/auth/login",
                                            json={"email": "nobody@example.com", "password": PASSWORD}), 401)
        self.assertEqual(wrong["detail"], unknown["detail"])
        self.assertProblem(c.post("/api/v1/auth/login", json={"email": "nope", "password": 5}), 422)

        r = c.post("/api/v1/auth/login", json={"email": "OWNER@example.com", "password": PASSWORD})
        self.assertEqual(r.status, 200, r.text)
        cookie = r.header("Set-Cookie")
        self.assertIn("loupe_session=", cookie)
        self.assertIn("HttpOnly", cookie)
        self.assertIn("SameSite=Lax", cookie)
        self.assertIn("Max-Age=43200", cookie)
        self.assertNotIn("Secure", cookie)
        login = r.json()
        self.assertEqual(login["role"], "owner")
        self.assertEqual(login["team"]["id"], self.team)
        csrf = login["csrf_token"]
        token = c.cookie("loupe_session")
        rows = self.query("SELECT count(*) FROM sessions WHERE token_hash = '%s'" % token)
        self.assertEqual(rows, [["0"]])  # only the hash is stored

        me = c.get("/api/v1/me").json()
        self.assertEqual(me["auth"], "session")
        self.assertEqual(me["csrf_token"], csrf)

        body = self.assertProblem(c.post("/api/v1/api-keys", json={"name": "from browser"}), 403)
        self.assertIn("X-CSRF-Token", body["detail"])
        self.assertProblem(c.post("/api/v1/api-keys", json={"name": "from browser"},
                                  headers={"X-CSRF-Token": "wrong"}), 403)
        r = c.post("/api/v1/api-keys", json={"name": "from browser"}, headers={"X-CSRF-Token": csrf})
        self.assertEqual(r.status, 201, r.text)

        self.assertProblem(c.post("/api/v1/auth/logout"), 403)
        r = c.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        self.assertEqual(r.status, 204, r.text)
        self.assertIn("Max-Age=0", r.header("Set-Cookie"))
        # the old token no longer works, even if a client keeps sending it
        c2 = self.d.client(headers={"Cookie": "loupe_session=" + token})
        body = self.assertProblem(c2.get("/api/v1/me"), 401)
        self.assertIn("ended", body["detail"])
        # API keys cannot "log out"
        self.assertProblem(self.owner.post("/api/v1/auth/logout"), 422)

    def test_expired_session_and_secure_cookie(self):
        self.d.stop()
        d = self.start_louped({"cookie_secure": True, "session_ttl": "1m"})
        c = d.client()
        r = c.post("/api/v1/auth/login", json={"email": "owner@example.com", "password": PASSWORD})
        self.assertEqual(r.status, 200, r.text)
        self.assertIn("Secure", r.header("Set-Cookie"))
        self.assertIn("Max-Age=60", r.header("Set-Cookie"))
        token = r.header("Set-Cookie").split(";")[0].split("=", 1)[1]
        s = d.client(headers={"Cookie": "loupe_session=" + token})
        self.assertEqual(s.get("/api/v1/me").status, 200)
        self.psql("UPDATE sessions SET expires_at = now() - interval '1 second'")
        body = self.assertProblem(self.refused(s), 401)
        self.assertIn("expired", body["detail"])

    # --- members ----------------------------------------------------------------------------

    def test_members_lifecycle_and_audit(self):
        m = self.add_member("Ann@Example.com", "annotator")
        self.assertEqual(m["user"]["email"], "ann@example.com")
        self.assertEqual(m["user"]["name"], "Ann")
        self.assertEqual(m["role"], "annotator")
        ann = m["user"]["id"]
        self.assertProblem(self.owner.post("/api/v1/teams/%s/members" % self.team,
                                           json={"email": "ann@example.com", "role": "viewer"}), 409)

        # pagination
        path = "/api/v1/teams/%s/members" % self.team
        page1 = self.owner.get(path, query={"page[size]": "1"}).json()
        self.assertEqual(len(page1["items"]), 1)
        self.assertIsNotNone(page1["next"])
        page2 = self.owner.get(page1["next"]).json()
        self.assertEqual(len(page2["items"]), 1)
        self.assertIsNone(page2["next"])
        seen = {page1["items"][0]["user"]["id"], page2["items"][0]["user"]["id"]}
        self.assertEqual(seen, {self.boot["user_id"], ann})
        self.assertProblem(self.owner.get(path, query={"page[after]": "garbage"}), 400)

        r = self.owner.patch("%s/%s" % (path, ann), json={"role": "reviewer"})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()["role"], "reviewer")

        # the last owner stays
        me = "%s/%s" % (path, self.boot["user_id"])
        self.assertProblem(self.owner.patch(me, json={"role": "admin"}), 409)
        self.assertProblem(self.owner.delete(me), 409)
        # with a second owner, the first may step down
        self.assertEqual(self.owner.patch("%s/%s" % (path, ann), json={"role": "owner"}).status, 200)
        self.assertEqual(self.owner.patch(me, json={"role": "admin"}).status, 200)
        self.assertEqual(self.owner.get("/api/v1/me").json()["role"], "admin")

        ann_owner = self.d.client(api_key=self.boot["api_key"])  # now an admin key in effect
        self.assertProblem(ann_owner.delete("%s/%s" % (path, ann)), 403)  # admin cannot remove an owner

        audit = self.query("SELECT action FROM audit_log WHERE team_id = '%s' ORDER BY id" % self.team)
        actions = [row[0] for row in audit]
        self.assertIn("member.add", actions)
        self.assertIn("member.role_change", actions)

        bob = self.add_member_as(ann_owner, "bob@example.com", "viewer")
        self.assertEqual(ann_owner.delete("%s/%s" % (path, bob)).status, 204)
        self.assertProblem(ann_owner.delete("%s/%s" % (path, bob)), 404)
        actions = [row[0] for row in self.query(
            "SELECT action FROM audit_log WHERE team_id = '%s' ORDER BY id" % self.team)]
        self.assertIn("member.remove", actions)

    def add_member_as(self, client, email, role):
        return self.add_member(email, role, client=client)["user"]["id"]

    def test_member_validation_and_removal_revokes_access(self):
        path = "/api/v1/teams/%s/members" % self.team
        body = self.assertProblem(self.owner.post(path, json={"email": "not an email", "role": "boss",
                                                              "password": "short", "extra": 1}), 422)
        fields = sorted(e["field"] for e in body["errors"])
        self.assertEqual(fields, ["email", "extra", "password", "role"])
        self.assertProblem(self.owner.post(path, json={"email": "a@example.com", "role": "viewer",
                                                       "name": "x" * 5000}), 422, "name")
        self.assertProblem(self.owner.post(path, json=["not", "an", "object"]), 422)
        self.assertProblem(self.owner.patch(path + "/" + self.boot["user_id"], json={"role": 3}), 422, "role")
        self.assertProblem(self.owner.patch("/api/v1/teams/" + self.team, json={"name": ""}), 422, "name")
        r = self.owner.patch("/api/v1/teams/" + self.team, json={"name": "Acme Renamed"})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()["name"], "Acme Renamed")
        self.assertEqual(r.json()["slug"], "acme-vision")

        # A removed member's keys and sessions stop working at once.
        self.add_member("carol@example.com", "annotator", password=PASSWORD)
        s = self.login("carol@example.com")
        k = self.new_key(s, name="carol's")
        kc = self.d.client(api_key=k["key"])
        self.assertEqual(kc.get("/api/v1/me").json()["role"], "annotator")
        carol = kc.get("/api/v1/me").json()["user"]["id"]
        self.assertEqual(self.owner.delete("%s/%s" % (path, carol)).status, 204)
        self.assertProblem(kc.get("/api/v1/me"), 401)
        self.assertProblem(s.get("/api/v1/me"), 401)
        # An existing user's password is never set by another team's admin (tests for
        # invitations: test_identity_hostile.py).
        self.assertProblem(self.owner.post(path, json={"email": "carol@example.com", "role": "viewer",
                                                       "password": "another password"}), 422, "password")


if __name__ == "__main__":
    unittest.main()

"""The credential cache across nodes: two louped nodes on one database. A key revoked, a role
changed or a member removed through node A is refused (or seen) on node B within a second,
although B had the credential cached; a cached credential is served without a database look-up;
and a node whose listening connection is cut clears its cache and listens again."""

import time

import loupe_harness as lh

lh.require_services()

PASSWORD = "correct horse battery"
WITHIN = 1.0  # seconds: the promise of docs/ARCHITECTURE.md


class CredentialCacheTest(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        self.boot = self.bootstrap(team="Two Nodes", email="owner@example.com", password=PASSWORD)
        self.team = self.boot["team_id"]
        self.a = self.start_louped()
        self.b = self.start_louped()
        for d in (self.a, self.b):
            lh.wait_credential_cache_live(d)
        self.owner_a = self.a.client(api_key=self.boot["api_key"])

    def until(self, probe, what):
        """Polls probe() on node B until it returns a true value; returns (value, seconds taken
        since the call). Fails unless that is within WITHIN seconds."""
        t0 = time.monotonic()
        value = lh.wait_until(probe, timeout=WITHIN, interval=0.005, message=what)
        took = time.monotonic() - t0
        lh._say("%s: %.1f ms" % (what, took * 1000))
        return value, took

    def me_status(self, client, status):
        def probe():
            r = client.get("/api/v1/me")
            return r if r.status == status else None
        return probe

    def new_member(self, email, role):
        r = self.owner_a.post("/api/v1/teams/%s/members" % self.team, json={"email": email, "role": role})
        self.assertEqual(r.status, 202, r.text)
        r = self.a.client().post("/api/v1/invitations/accept", json={"token": r.json()["token"], "password": PASSWORD})
        self.assertEqual(r.status, 201, r.text)
        user_id = r.json()["user"]["id"]
        s = self.a.client()
        r = s.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        self.assertEqual(r.status, 200, r.text)
        s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        r = s.post("/api/v1/api-keys", json={"name": email})
        self.assertEqual(r.status, 201, r.text)
        return user_id, r.json()

    def test_revoked_key_is_refused_on_the_other_node_within_a_second(self):
        r = self.owner_a.post("/api/v1/api-keys", json={"name": "ci"})
        self.assertEqual(r.status, 201, r.text)
        key = r.json()
        kb = self.b.client(api_key=key["key"])
        self.assertEqual(kb.get("/api/v1/me").status, 200)  # B looks the key up and caches it
        hits = lh.metric(self.b, "loupe_auth_cache_lookups_total", '{result="hit"}')
        for _ in range(5):
            self.assertEqual(kb.get("/api/v1/me").status, 200)
        self.assertEqual(lh.metric(self.b, "loupe_auth_cache_lookups_total", '{result="hit"}'), hits + 5)

        self.assertEqual(self.owner_a.delete("/api/v1/api-keys/" + key["id"]).status, 204)
        r, _ = self.until(self.me_status(kb, 401), "revoked key refused on node B")
        self.assertIn("revoked", r.json()["detail"])

    def test_role_change_and_member_removal_reach_the_other_node(self):
        user_id, key = self.new_member("ann@example.com", "annotator")
        kb = self.b.client(api_key=key["key"])
        me = kb.get("/api/v1/me").json()
        self.assertEqual(me["role"], "annotator")
        self.assertEqual(kb.get("/api/v1/me").json()["role"], "annotator")  # cached

        path = "/api/v1/teams/%s/members/%s" % (self.team, user_id)
        self.assertEqual(self.owner_a.patch(path, json={"role": "viewer"}).status, 200)
        self.until(lambda: kb.get("/api/v1/me").json()["role"] == "viewer", "role change seen on node B")
        # the new role is enforced, not only shown: a viewer may not write
        self.assertEqual(kb.post("/api/v1/classes", json={"name": "car", "types": ["bounding_box"]}).status, 403)

        self.assertEqual(self.owner_a.delete(path).status, 204)
        self.until(self.me_status(kb, 401), "removed member refused on node B")

    def test_session_sign_out_and_team_rename_reach_the_other_node(self):
        sb = self.b.client()
        r = sb.post("/api/v1/auth/login", json={"email": "owner@example.com", "password": PASSWORD})
        self.assertEqual(r.status, 200, r.text)
        sb.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        ob = self.b.client(api_key=self.boot["api_key"])
        self.assertEqual(ob.get("/api/v1/me").json()["team"]["name"], "Two Nodes")
        self.assertEqual(self.owner_a.patch("/api/v1/teams/" + self.team, json={"name": "Renamed"}).status, 200)
        self.until(lambda: ob.get("/api/v1/me").json()["team"]["name"] == "Renamed", "team rename seen on node B")

        self.assertEqual(sb.get("/api/v1/me").status, 200)  # cached on B
        # the same session signs out through node A
        sa = self.a.client(headers={"Cookie": "loupe_session=" + sb.cookie("loupe_session"),
                                    "X-CSRF-Token": sb.headers["X-CSRF-Token"]})
        self.assertEqual(sa.post("/api/v1/auth/logout").status, 204)
        self.until(self.me_status(sb, 401), "signed-out session refused on node B")

    def test_one_pooled_connection_per_request(self):
        acquired = lambda d: lh.metric(d, "loupe_db_pool_acquisitions_total")
        # Without the cache, authentication and the handler share the request's one connection.
        c = self.start_louped({"auth_cache_entries": 0})
        cc = c.client(api_key=self.boot["api_key"])
        self.assertEqual(cc.get("/api/v1/datasets").status, 200)
        before = acquired(c)
        for _ in range(10):
            self.assertEqual(cc.get("/api/v1/datasets").status, 200)
        self.assertEqual(acquired(c) - before, 10)
        # With it, a cached credential needs none for authentication, and /me none at all.
        ob = self.b.client(api_key=self.boot["api_key"])
        self.assertEqual(ob.get("/api/v1/me").status, 200)
        before = acquired(self.b)
        for _ in range(10):
            self.assertEqual(ob.get("/api/v1/me").status, 200)
            self.assertEqual(ob.get("/api/v1/datasets").status, 200)
        self.assertEqual(acquired(self.b) - before, 10)

    def test_lost_listener_connection_clears_and_recovers(self):
        kb = self.b.client(api_key=self.boot["api_key"])
        self.assertEqual(kb.get("/api/v1/me").status, 200)
        self.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                  "WHERE query = 'LISTEN loupe_credentials' AND datname = current_database()")
        # both nodes notice, clear their caches and listen again
        for d in (self.a, self.b):
            lh.wait_until(lambda: lh.metric(d, "loupe_auth_cache_live") == 1, timeout=10,
                          message="the credential listener to reconnect")
        self.assertEqual(kb.get("/api/v1/me").status, 200)
        r = self.owner_a.post("/api/v1/api-keys", json={"name": "after"})
        key = r.json()
        k2 = self.b.client(api_key=key["key"])
        self.assertEqual(k2.get("/api/v1/me").status, 200)
        self.assertEqual(self.owner_a.delete("/api/v1/api-keys/" + key["id"]).status, 204)
        self.until(self.me_status(k2, 401), "revoked key refused on node B after reconnecting")


if __name__ == "__main__":
    import unittest
    unittest.main()

"""Identity under attack: the sign-in rate limit (429 with Retry-After, back-off, no long lock-out
of the real user), an admin against the owner's credentials, and what GET /api/v1/workers shows
of other teams' work."""

import time
import unittest
import uuid

import loupe_harness as lh

lh.require_services()

PASSWORD = "correct horse battery"


def invite(tc, client, team, email, role, password):
    """Invites email to team and accepts with password; returns the membership."""
    r = client.post("/api/v1/teams/%s/members" % team, json={"email": email, "role": role})
    tc.assertEqual(r.status, 202, r.text)
    r = tc.d.client().post("/api/v1/invitations/accept", json={"token": r.json()["token"], "password": password})
    tc.assertEqual(r.status, 201, r.text)
    return r.json()


class InvitationTest(lh.LoupeTestCase):
    def test_adding_a_member_reveals_nothing_and_enrols_nobody(self):
        self.start_team()
        members = "/api/v1/teams/%s/members" % self.team
        # another team's user, with an account
        other = self.bootstrap(team="Other Co", email="boss@other.example", password=PASSWORD)
        known = self.c.post(members, json={"email": "boss@other.example", "role": "admin"})
        unknown = self.c.post(members, json={"email": "nobody@nowhere.example", "role": "admin"})
        self.assertEqual((known.status, unknown.status), (202, 202))
        k, u = known.json(), unknown.json()
        self.assertEqual(sorted(k), sorted(u))
        self.assertEqual(sorted(k["invitation"]), sorted(u["invitation"]))
        self.assertNotEqual(k["token"], u["token"])
        # nobody was enrolled: the other team's user is not a member, and has no access
        emails = [m["user"]["email"] for m in self.c.get(members).json()["items"]]
        self.assertNotIn("boss@other.example", emails)
        boss = self.d.client(api_key=other["api_key"])
        self.assertProblem(boss.get("/api/v1/teams/%s" % self.team), 404)

        # the inviter (who has the token) cannot accept for the account without its password
        accept = "/api/v1/invitations/accept"
        anon = self.d.client()
        self.assertProblem(anon.post(accept, json={"token": k["token"], "password": "guessed password"}), 401)
        emails = [m["user"]["email"] for m in self.c.get(members).json()["items"]]
        self.assertNotIn("boss@other.example", emails)
        # the invitee accepts with their own password: now a member of both teams
        r = anon.post(accept, json={"token": k["token"], "password": PASSWORD})
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual((r.json()["user"]["email"], r.json()["role"]), ("boss@other.example", "admin"))
        self.assertProblem(anon.post(accept, json={"token": k["token"], "password": PASSWORD}), 404)  # single-use
        s = self.d.client()
        r = s.post("/api/v1/auth/login", json={"email": "boss@other.example", "password": PASSWORD,
                                               "team_id": self.team})
        self.assertEqual(r.status, 200, r.text)
        # an email without an account: accepting makes the account with the password given
        self.assertProblem(anon.post(accept, json={"token": u["token"], "password": "short"}), 422, "password")
        r = anon.post(accept, json={"token": u["token"], "password": "a new long password", "name": "Nobody"})
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(r.json()["user"]["name"], "Nobody")
        self.assertProblem(anon.post(accept, json={"token": "not-a-token", "password": PASSWORD}), 404)
        # inviting someone who already is a member of this team is a plain 409 (the list shows it anyway)
        self.assertProblem(self.c.post(members, json={"email": "owner@example.com", "role": "viewer"}), 409)


class SigninLimitTest(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        self.boot = self.bootstrap(email="owner@example.com", password=PASSWORD)
        self.d = self.start_louped(settings={"signin_backoff_base": "300ms", "signin_backoff_max": "2s",
                                             "signin_account_backoff_max": "1s"})

    def login(self, password, email="owner@example.com"):
        return self.d.client().post("/api/v1/auth/login", json={"email": email, "password": password})

    def test_guessing_is_slowed_and_the_right_password_waits_too(self):
        answers = [self.login("wrong password %d" % i).status for i in range(30)]
        self.assertEqual(answers[:5], [401] * 5)         # signin_free_attempts
        self.assertIn(429, answers[5:])
        r = self.login(PASSWORD)                          # the right one, at once: still refused
        p = self.assertProblem(r, 429)
        self.assertIn("try again", p["detail"])
        retry = int(r.header("Retry-After"))
        self.assertGreaterEqual(retry, 1)
        self.assertLessEqual(retry, 2)                    # capped by signin_backoff_max
        # unknown accounts are limited the same way (no difference to probe)
        self.assertEqual(self.login("x", email="nobody@example.com").status, 401)

    def test_a_real_user_is_not_locked_out_for_long(self):
        for i in range(12):
            self.login("wrong password %d" % i)
        # once the wait has passed the right password works, and resets this address's count
        lh.wait_until(lambda: self.login(PASSWORD).status == 200, timeout=10, interval=0.5,
                      message="the right password accepted after the back-off")
        self.assertEqual(self.login("wrong again").status, 401)


class AdminAgainstOwnerTest(lh.LoupeTestCase):
    def test_an_admin_cannot_revoke_the_owners_keys(self):
        self.start_team()
        invite(self, self.c, self.team, "admin@example.com", "admin", PASSWORD)
        admin_c = self.d.client()
        r = admin_c.post("/api/v1/auth/login", json={"email": "admin@example.com", "password": PASSWORD})
        self.assertEqual(r.status, 200, r.text)
        admin_c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        k = admin_c.post("/api/v1/api-keys", json={"name": "admin key"})
        self.assertEqual(k.status, 201, k.text)
        ak = self.d.client(api_key=k.json()["key"])
        owner_keys = [x for x in self.c.get("/api/v1/api-keys").json()["items"]
                      if x["user_id"] == self.boot["user_id"]]
        self.assertTrue(owner_keys)
        p = self.assertProblem(ak.delete("/api/v1/api-keys/%s" % owner_keys[0]["id"]), 403)
        self.assertIn("owner", p["detail"])
        self.assertEqual(self.c.get("/api/v1/me").status, 200)  # the owner's key still works
        # the admin still manages their own key and other members' keys
        self.assertEqual(ak.delete("/api/v1/api-keys/%s" % k.json()["id"]).status, 204)


class WorkersPerTeamTest(lh.LoupeTestCase):
    def test_workers_show_only_the_callers_jobs(self):
        self.start_team()
        other = self.bootstrap(team="Other Co", email="boss@other.example")
        job_a, job_b = str(uuid.uuid4()), str(uuid.uuid4())
        for job, team in ((job_a, self.team), (job_b, other["team_id"])):
            self.psql("INSERT INTO jobs (id, team_id, kind, queue, max_attempts, status) "
                      "VALUES ('%s', '%s', 'system.echo', 'system', 1, 'running')" % (job, team))
        for n, job in enumerate((job_a, job_b)):
            self.psql("INSERT INTO workers (id, host, pid, queues, cpus, memory_bytes, version, current_job_id, "
                      "started_at) VALUES ('h:%d', 'h', %d, '{system}', 1, 1, 'test', '%s', now())"
                      % (n, 100 + n, job))
        mine = self.c.get("/api/v1/workers").json()["workers"]
        self.assertEqual(sorted(str(w["current_job_id"]) for w in mine), sorted([job_a, "None"]))
        theirs = self.d.client(api_key=other["api_key"]).get("/api/v1/workers").json()["workers"]
        self.assertEqual(sorted(str(w["current_job_id"]) for w in theirs), sorted([job_b, "None"]))


if __name__ == "__main__":
    unittest.main()

"""Brute force and abuse (docs/SECURITY.md, "Brute force and abuse"): the sign-in limit per account
and per address, the API key guessing limit per address, the request rate per key — each a 429
problem+json with Retry-After that resets after its window, leaves other accounts, addresses and
keys alone, and (for the counters in PostgreSQL) holds across louped nodes."""

import http.client
import json
import time
import unittest

import loupe_harness as lh

lh.require_services()

PASSWORD = "correct horse battery"


def call(d, method, path, body=None, headers=None, source="127.0.0.1"):
    """One request to louped d sent from the loopback address `source` (127.0.0.2 is another client
    address on the same machine). Returns (status, headers, parsed body or None)."""
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30, source_address=(source, 0))
    try:
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        raw = r.read()
        ctype = (r.getheader("Content-Type") or "").split(";")[0]
        return r.status, r, (json.loads(raw) if raw and ctype.endswith("json") else None)
    finally:
        conn.close()


def login(d, email, password, source="127.0.0.1"):
    return call(d, "POST", "/api/v1/auth/login", {"email": email, "password": password}, source=source)


def key_headers(key):
    return {"Authorization": "ApiKey " + key}


class AbuseTestCase(lh.LoupeTestCase):
    def assert_limited(self, answer):
        """A 429 problem+json with a Retry-After of whole seconds ≥ 1; returns that number."""
        status, r, body = answer
        self.assertEqual(status, 429, body)
        self.assertEqual(r.getheader("Content-Type").split(";")[0], "application/problem+json")
        self.assertEqual(body["status"], 429)
        retry = int(r.getheader("Retry-After"))
        self.assertGreaterEqual(retry, 1)
        return retry


class SigninLimitTest(AbuseTestCase):
    def test_per_account_and_per_address_across_nodes(self):
        self.bootstrap(email="owner@example.com", password=PASSWORD)
        self.bootstrap(team="Other Co", email="other@example.com", password=PASSWORD)
        limits = {"signin_free_attempts": "2", "signin_backoff_base": "1500ms", "signin_backoff_max": "2s",
                  "signin_account_backoff_max": "2s"}
        d = self.start_louped(limits)
        d2 = self.start_louped(limits)  # a second node on the same database

        answers = [login(d, "owner@example.com", "wrong %d" % i)[0] for i in range(3)]
        self.assertEqual(answers, [401, 401, 401])  # 2 free, the third starts the wait
        # the right password, at once, on either node: refused while the wait lasts
        retry = self.assert_limited(login(d, "owner@example.com", PASSWORD))
        self.assertLessEqual(retry, 2)
        self.assert_limited(login(d2, "owner@example.com", PASSWORD))
        # another account from the same address, and the same account from another address: unaffected
        self.assertEqual(login(d, "other@example.com", PASSWORD)[0], 200)
        self.assertEqual(login(d, "owner@example.com", PASSWORD, source="127.0.0.2")[0], 200)
        # the wait over, the right password works again
        time.sleep(retry)
        self.assertEqual(login(d2, "owner@example.com", PASSWORD)[0], 200)

    def test_an_address_guessing_many_accounts_is_held_up(self):
        self.bootstrap(email="owner@example.com", password=PASSWORD)
        d = self.start_louped({"signin_free_attempts": "1", "signin_backoff_base": "2s", "signin_backoff_max": "2s"})
        # 4 × signin_free_attempts failures over different accounts from one address, then its wait
        for i in range(5):
            self.assertIn(login(d, "nobody%d@example.com" % i, "wrong")[0], (401, 429))
        self.assert_limited(login(d, "owner@example.com", PASSWORD))
        self.assertEqual(login(d, "owner@example.com", PASSWORD, source="127.0.0.2")[0], 200)


class ApiKeyGuessingTest(AbuseTestCase):
    def test_failed_lookups_hold_up_the_address(self):
        boot = self.bootstrap()
        limits = {"api_key_guess_free_attempts": "3", "api_key_guess_backoff_base": "1500ms",
                  "api_key_guess_backoff_max": "2s"}
        d = self.start_louped(limits)
        d2 = self.start_louped(limits)
        lh.wait_credential_cache_live(d)  # (going live clears the cache)
        owner = key_headers(boot["api_key"])
        self.assertEqual(call(d, "GET", "/api/v1/me", headers=owner)[0], 200)  # now in d's cache
        status, _, body = call(d, "POST", "/api/v1/api-keys", {"name": "fresh"}, headers=owner)
        self.assertEqual(status, 201, body)
        fresh = key_headers(body["key"])  # valid, never looked up yet
        guess = key_headers(boot["api_key"][:-6] + "AAAAAA")  # the right prefix, a wrong secret

        self.assertEqual([call(d, "GET", "/api/v1/me", headers=guess)[0] for _ in range(4)], [401] * 4)
        retry = self.assert_limited(call(d, "GET", "/api/v1/me", headers=guess))
        self.assertLessEqual(retry, 2)
        # a correct key that must be looked up is held up too (a guess cannot be confirmed), on every node
        self.assert_limited(call(d, "GET", "/api/v1/me", headers=fresh))
        self.assert_limited(call(d2, "GET", "/api/v1/me", headers=owner))
        # a key this node accepted before proves possession: not held up
        self.assertEqual(call(d, "GET", "/api/v1/me", headers=owner)[0], 200)
        # another address is unaffected
        self.assertEqual(call(d, "GET", "/api/v1/me", headers=guess, source="127.0.0.2")[0], 401)
        self.assertEqual(call(d, "GET", "/api/v1/me", headers=fresh, source="127.0.0.2")[0], 200)
        # the wait over, keys are looked up again
        time.sleep(retry)
        self.assertEqual(call(d2, "GET", "/api/v1/me", headers=owner)[0], 200)

    def test_revoked_keys_and_missing_credentials_are_not_guesses(self):
        boot = self.bootstrap()
        d = self.start_louped({"api_key_guess_free_attempts": "1", "auth_cache_entries": "0"})
        owner = key_headers(boot["api_key"])
        status, _, body = call(d, "POST", "/api/v1/api-keys", {"name": "old"}, headers=owner)
        self.assertEqual(status, 201, body)
        self.assertEqual(call(d, "DELETE", "/api/v1/api-keys/" + body["id"], headers=owner)[0], 204)
        for _ in range(5):
            self.assertEqual(call(d, "GET", "/api/v1/me", headers=key_headers(body["key"]))[0], 401)
            self.assertEqual(call(d, "GET", "/api/v1/me")[0], 401)
        self.assertEqual(call(d, "GET", "/api/v1/me", headers=owner)[0], 200)


class RequestRateTest(AbuseTestCase):
    def test_a_token_bucket_per_key(self):
        boot = self.bootstrap()
        d = self.start_louped({"api_rate_per_key": "1", "api_rate_burst": "5"})
        owner = key_headers(boot["api_key"])
        status, _, body = call(d, "POST", "/api/v1/api-keys", {"name": "second"}, headers=owner)
        self.assertEqual(status, 201, body)
        second = key_headers(body["key"])
        answers = [call(d, "GET", "/api/v1/me", headers=owner)[0] for _ in range(4)]  # 1 create + 4: the burst
        self.assertEqual(answers, [200] * 4)
        retry = self.assert_limited(call(d, "GET", "/api/v1/me", headers=owner))
        self.assertEqual(retry, 1)
        self.assertEqual(call(d, "GET", "/api/v1/me", headers=second)[0], 200)  # another key: its own bucket
        time.sleep(retry)
        self.assertEqual(call(d, "GET", "/api/v1/me", headers=owner)[0], 200)
        self.assert_limited(call(d, "GET", "/api/v1/me", headers=owner))

    def test_the_default_lets_a_busy_client_through(self):
        self.start_team({"api_rate_per_key": None})  # the product's default, not the harness's
        for _ in range(300):
            self.assertEqual(self.c.get("/api/v1/me").status, 200)


if __name__ == "__main__":
    unittest.main()

"""The hostile-input table runner shared by the hostile suites: a row is one request that must be
refused with its status (and, for a problem with field errors, the field it names), and the proof
that it wrote nothing: the row counts of every table a request could write and the list of files
under the storage directory, taken before and after the row, must be equal."""

import collections
import os
import re
import socket

# Every table a refused request could have written to.
WRITTEN_TABLES = ("teams", "users", "memberships", "api_keys", "invitations", "datasets", "items", "slots",
                  "classes", "annotations", "annotation_frames", "uploads", "jobs", "outbox", "audit_log",
                  "webhooks", "webhook_deliveries", "integrations", "integration_messages", "imports", "exports",
                  "models", "storage_locations", "workflows", "tasks")

# method, path, and one of json (a value), data (bytes, sent as application/json unless headers
# say otherwise) or raw (the whole request as bytes, sent over a socket: what an HTTP library
# refuses to send); status; field: the field error the problem must name (None: any or none);
# absent: bytes that must not appear in the answer (a header the request tried to inject).
Row = collections.namedtuple("Row", "label method path json data raw headers status field absent",
                             defaults=(None, None, None, None, 400, None, None))


def snapshot(tc):
    """(row counts of WRITTEN_TABLES, files under the storage directory) of test case tc."""
    counts = tc.query("SELECT " + ", ".join("(SELECT count(*) FROM %s)" % t for t in WRITTEN_TABLES))[0]
    files = sorted(os.path.relpath(os.path.join(d, f), tc.sandbox.storage_dir)
                   for d, _, names in os.walk(tc.sandbox.storage_dir) for f in names)
    return dict(zip(WRITTEN_TABLES, counts)), files


def raw_status(port, data, timeout=10.0):
    """Sends data over a fresh connection and returns (status of the first answer, the answer)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        buf = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        except (socket.timeout, ConnectionResetError):
            pass
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", buf)
    return (int(m.group(1)) if m else None), buf


def run_rows(tc, client, rows):
    """Runs every row (a subTest each) with client against louped tc.d; asserts its status, its
    field and that nothing was written. Returns how many rows ran."""
    for row in rows:
        with tc.subTest(row.label):
            before = snapshot(tc)
            if row.raw is not None:
                status, answer = raw_status(tc.d.port, row.raw)
                tc.assertEqual(status, row.status, answer[:400])
                if row.field is not None:
                    tc.assertIn(b'"field":"%s"' % row.field.encode(), answer, answer[:600])
                if row.absent is not None:
                    tc.assertNotIn(row.absent, answer)
            else:
                kw = {"headers": dict(row.headers or {})}
                if row.json is not None:
                    kw["json"] = row.json
                elif row.data is not None:
                    kw["data"] = row.data
                    kw["headers"].setdefault("Content-Type", "application/json")
                r = client.request(row.method, row.path, **kw)
                tc.assertEqual(r.status, row.status, r.text[:400])
                if r.status >= 400 and r.body:
                    tc.assertEqual(r.content_type, "application/problem+json", r.text[:400])
                    doc = r.json()
                    tc.assertEqual(doc["status"], row.status)
                    if row.field is not None:
                        tc.assertIn(row.field, [e["field"] for e in doc.get("errors", [])], r.text[:400])
            tc.assertEqual(snapshot(tc), before, "%s wrote something" % row.label)
    return len(rows)

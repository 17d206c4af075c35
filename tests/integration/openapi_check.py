"""Checks HTTP responses against docs/openapi.yaml (OpenAPI 3.1 in YAML's JSON subset).

Python 3 standard library only. Two parts:

- validate(doc, schema, value) → list of Mismatch: a JSON value against the subset of JSON
  Schema 2020-12 the document uses: type (one or a list, "null" included), enum, const,
  required, properties, additionalProperties (false or a schema), minProperties,
  maxProperties, items, minItems, maxItems, minLength, maxLength, pattern, minimum, maximum,
  exclusiveMinimum, exclusiveMaximum, format (uuid and date-time are checked; other formats
  are annotations), $ref to "#/…" (with sibling keywords applied too), allOf, anyOf, oneOf,
  not. Annotation keywords (description, default, examples, …) are ignored; any other keyword
  raises SchemaError, so the document never uses something this checker silently skips.
- check_response(doc, method, request_path, status, content_type, body) → list of Mismatch:
  finds the operation whose templated path matches request_path, the response documented for
  the status (exact, then "4XX"-style ranges, then "default"), and validates the body against
  the schema of its media type. An undocumented status of a documented operation is a
  Mismatch of kind "status"; a path or method the document does not have gives no mismatch
  (tests/integration/test_http.py reports undocumented routes).

harness_check(method, url, status, headers, body) is what loupe_harness.HttpClient calls for
every response (see there): LOUPE_OPENAPI_CHECK=0 turns it off, =1 forgives statuses that an
operation does not document; the default (strict) fails on those too.

Run this file to check the document itself: every $ref resolves, every schema keyword is one
the checker understands, and the built-in self-test of the validator passes.
"""

import datetime
import json
import os
import re
import sys
import urllib.parse

__unittest = True  # unittest leaves this module's frames out of failure tracebacks

__all__ = ["Mismatch", "SchemaError", "validate", "check_response", "find_operation", "load",
           "harness_check", "lint"]


class SchemaError(Exception):
    """The document itself is broken (dangling $ref, unknown keyword, bad type name)."""


class Mismatch:
    """One difference between a value and its schema: where (a JSON pointer into the value) and why.

    kind: "schema" (the body does not match), "status" (status not documented), "content"
    (media type not documented, or a body where none is documented, or a body that is not JSON)."""

    __slots__ = ("pointer", "message", "kind")

    def __init__(self, pointer, message, kind="schema"):
        self.pointer = pointer
        self.message = message
        self.kind = kind

    def __str__(self):
        return "%s: %s" % (self.pointer or "(root)", self.message)

    def __repr__(self):
        return "Mismatch(%r, %r, %r)" % (self.pointer, self.message, self.kind)


# ---------------------------------------------------------------------------------------------
# JSON Schema subset

_ANNOTATIONS = {"description", "title", "default", "examples", "example", "deprecated", "readOnly",
                "writeOnly", "$comment", "summary", "externalDocs", "xml", "discriminator",
                "contentMediaType", "contentEncoding"}
_APPLIERS = {"$ref", "type", "enum", "const", "required", "properties", "additionalProperties",
             "minProperties", "maxProperties", "items", "minItems", "maxItems", "minLength",
             "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
             "format", "allOf", "anyOf", "oneOf", "not"}
_TYPES = {"null", "boolean", "object", "array", "number", "integer", "string"}

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATE_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _pointer_escape(token):
    return str(token).replace("~", "~0").replace("/", "~1")


def resolve(doc, ref):
    """The object a local reference "#/a/b" names in doc; SchemaError when it names nothing."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise SchemaError("only local references (#/…) are supported, not %r" % (ref,))
    node = doc
    for raw in ref[1:].split("/")[1:]:
        token = urllib.parse.unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise SchemaError("reference %s does not resolve (no %r)" % (ref, token))
    return node


def _is_type(value, t):
    if t == "null":
        return value is None
    if t == "boolean":
        return isinstance(value, bool)
    if t == "object":
        return isinstance(value, dict)
    if t == "array":
        return isinstance(value, list)
    if t == "string":
        return isinstance(value, str)
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    raise SchemaError("unknown type %r" % (t,))


def _type_name(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int):
        return "integer"
    return "number"


def _json_equal(a, b):
    """JSON equality: 1 == 1.0, but true != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b or (_is_type(a, "number") and _is_type(b, "number") and a == b)


def _check_format(fmt, value):
    """None when value (a string) has the format, else why not. Unknown formats pass."""
    if fmt == "uuid":
        return None if _UUID.match(value) else "is not a UUID"
    if fmt == "date-time":
        m = _DATE_TIME.match(value)
        if not m:
            return "is not an RFC 3339 date-time"
        y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
        try:
            datetime.datetime(y, mo, d, h, mi, min(s, 59))
        except ValueError as e:
            return "is not an RFC 3339 date-time (%s)" % e
        zone = m.group(8)
        if s > 60 or (zone not in ("Z", "z") and (int(zone[1:3]) > 23 or int(zone[4:6]) > 59)):
            return "is not an RFC 3339 date-time (field out of range)"
        return None
    return None


def _short(value, limit=80):
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


def validate(doc, schema, value, pointer=""):
    """Mismatches of value against schema (resolving $ref in doc); [] when it matches."""
    out = []
    _validate(doc, schema, value, pointer, out, 0)
    return out


def _validate(doc, schema, value, ptr, out, depth):
    if depth > 64:
        raise SchemaError("schema nesting deeper than 64 (a $ref cycle?) at %s" % (ptr or "(root)"))
    if schema is True or schema == {}:
        return
    if schema is False:
        out.append(Mismatch(ptr, "no value is allowed here"))
        return
    if not isinstance(schema, dict):
        raise SchemaError("a schema must be an object or a boolean, not %r" % (schema,))
    for key in schema:
        if key not in _APPLIERS and key not in _ANNOTATIONS and not key.startswith("x-"):
            raise SchemaError("unsupported schema keyword %r at value %s" % (key, ptr or "(root)"))

    if "$ref" in schema:
        _validate(doc, resolve(doc, schema["$ref"]), value, ptr, out, depth + 1)

    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(value, t) for t in types):
            out.append(Mismatch(ptr, "is %s %s, expected %s" % (
                _type_name(value), _short(value), " or ".join(types))))
            return
    if "const" in schema and not _json_equal(value, schema["const"]):
        out.append(Mismatch(ptr, "is %s, expected %s" % (_short(value), _short(schema["const"]))))
    if "enum" in schema and not any(_json_equal(value, e) for e in schema["enum"]):
        out.append(Mismatch(ptr, "is %s, expected one of %s" % (
            _short(value), ", ".join(_short(e) for e in schema["enum"]))))

    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                out.append(Mismatch(ptr, "lacks the required member %r" % name))
        for name, sub in props.items():
            if name in value:
                _validate(doc, sub, value[name], ptr + "/" + _pointer_escape(name), out, depth + 1)
        extra = schema.get("additionalProperties", True)
        for name in value:
            if name in props:
                continue
            if extra is False:
                out.append(Mismatch(ptr + "/" + _pointer_escape(name), "is not a documented member"))
            elif extra is not True:
                _validate(doc, extra, value[name], ptr + "/" + _pointer_escape(name), out, depth + 1)
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            out.append(Mismatch(ptr, "has %d members, at least %d expected" % (len(value), schema["minProperties"])))
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            out.append(Mismatch(ptr, "has %d members, at most %d expected" % (len(value), schema["maxProperties"])))

    if isinstance(value, list):
        if "items" in schema:
            for i, v in enumerate(value):
                _validate(doc, schema["items"], v, "%s/%d" % (ptr, i), out, depth + 1)
        if "minItems" in schema and len(value) < schema["minItems"]:
            out.append(Mismatch(ptr, "has %d items, at least %d expected" % (len(value), schema["minItems"])))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            out.append(Mismatch(ptr, "has %d items, at most %d expected" % (len(value), schema["maxItems"])))

    if isinstance(value, str):
        n = len(value)
        if "minLength" in schema and n < schema["minLength"]:
            out.append(Mismatch(ptr, "is %d characters long, at least %d expected" % (n, schema["minLength"])))
        if "maxLength" in schema and n > schema["maxLength"]:
            out.append(Mismatch(ptr, "is %d characters long, at most %d expected" % (n, schema["maxLength"])))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(Mismatch(ptr, "is %s, which does not match /%s/" % (_short(value), schema["pattern"])))
        if "format" in schema:
            why = _check_format(schema["format"], value)
            if why:
                out.append(Mismatch(ptr, "%s %s (format %s)" % (_short(value), why, schema["format"])))

    if _is_type(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(Mismatch(ptr, "is %s, below the minimum %s" % (value, schema["minimum"])))
        if "maximum" in schema and value > schema["maximum"]:
            out.append(Mismatch(ptr, "is %s, above the maximum %s" % (value, schema["maximum"])))
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            out.append(Mismatch(ptr, "is %s, expected more than %s" % (value, schema["exclusiveMinimum"])))
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            out.append(Mismatch(ptr, "is %s, expected less than %s" % (value, schema["exclusiveMaximum"])))

    for sub in schema.get("allOf", []):
        _validate(doc, sub, value, ptr, out, depth + 1)
    if "anyOf" in schema:
        branches = [_branch(doc, sub, value, ptr, depth) for sub in schema["anyOf"]]
        if all(branches):
            out.append(Mismatch(ptr, "matches none of anyOf: " + _branches_text(branches)))
    if "oneOf" in schema:
        branches = [_branch(doc, sub, value, ptr, depth) for sub in schema["oneOf"]]
        ok = [i for i, b in enumerate(branches) if not b]
        if not ok:
            out.append(Mismatch(ptr, "matches none of oneOf: " + _branches_text(branches)))
        elif len(ok) > 1:
            out.append(Mismatch(ptr, "matches %d branches of oneOf (%s), exactly one expected" % (
                len(ok), ", ".join(map(str, ok)))))
    if "not" in schema and not _branch(doc, schema["not"], value, ptr, depth):
        out.append(Mismatch(ptr, "matches the schema under not"))


def _branch(doc, schema, value, ptr, depth):
    out = []
    _validate(doc, schema, value, ptr, out, depth + 1)
    return out


def _branches_text(branches):
    return "; ".join("[%d] %s" % (i, b[0]) for i, b in enumerate(branches))


# ---------------------------------------------------------------------------------------------
# Operations and responses

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _split(path):
    return path.strip("/").split("/") if path.strip("/") else []


def find_operation(doc, method, request_path):
    """(template, path item, operation or None) for the most specific documented path matching
    request_path (literal segments win over {params}; a final {param} may take the rest of the
    path, as Loupe's rest-of-path routes do); None when no documented path matches."""
    path = urllib.parse.urlsplit(request_path).path
    segs = _split(path)
    best, best_key = None, None
    for template, item in (doc.get("paths") or {}).items():
        tsegs = _split(template)
        key = _match(tsegs, segs)
        if key is not None and (best_key is None or key > best_key):
            best, best_key = template, key
    if best is None:
        return None
    item = doc["paths"][best]
    if "$ref" in item:
        item = resolve(doc, item["$ref"])
    return best, item, item.get(method.lower())


def _is_param(seg):
    return seg.startswith("{") and seg.endswith("}")


def _match(tsegs, segs):
    """A sort key (higher = more specific) when the template matches, else None."""
    if len(tsegs) == len(segs):
        if all(_is_param(t) or t == s for t, s in zip(tsegs, segs)):
            if any(_is_param(t) and s == "" for t, s in zip(tsegs, segs)):
                return None
            return (1, tuple(0 if _is_param(t) else 1 for t in tsegs))
        return None
    if tsegs and _is_param(tsegs[-1]) and len(segs) > len(tsegs):
        head = tsegs[:-1]
        if all(_is_param(t) or t == s for t, s in zip(head, segs)):
            return (0, tuple(0 if _is_param(t) else 1 for t in head))
    return None


def _response_for(doc, responses, status):
    """(key, response object) documented for status, or (None, None)."""
    for key in (str(status), "%dXX" % (status // 100), "%dxx" % (status // 100), "default"):
        if key in responses:
            r = responses[key]
            while isinstance(r, dict) and "$ref" in r:
                r = resolve(doc, r["$ref"])
            return key, r
    return None, None


def _media_for(content, content_type):
    if content_type in content:
        return content[content_type]
    major = content_type.split("/")[0] + "/*"
    for key in (major, "*/*"):
        if key in content:
            return content[key]
    return None


def check_response(doc, method, request_path, status, content_type, body):
    """Mismatches of one response against doc ([] when it conforms or is not documented).

    content_type: the media type without parameters; body: bytes, str or an already parsed
    JSON value (bytes/str are parsed when the media type is JSON)."""
    found = find_operation(doc, method, request_path)
    if found is None or found[2] is None:
        return []
    template, _item, op = found
    key, response = _response_for(doc, op.get("responses") or {}, status)
    if response is None:
        return [Mismatch("", "status %d is not documented for %s %s (documented: %s)" % (
            status, method.upper(), template, ", ".join(sorted(op.get("responses") or {}))), "status")]
    content = response.get("content") or {}
    empty = body is None or (isinstance(body, (bytes, str)) and len(body) == 0)
    if not content:
        if not empty:
            return [Mismatch("", "a %s body where response %s of %s %s documents none" % (
                content_type or "(untyped)", key, method.upper(), template), "content")]
        return []
    if empty and method.upper() == "HEAD":
        return []
    media = _media_for(content, content_type)
    if media is None:
        return [Mismatch("", "content type %r is not documented for response %s of %s %s (documented: %s)" % (
            content_type, key, method.upper(), template, ", ".join(sorted(content))), "content")]
    schema = media.get("schema")
    if schema is None or not _is_json_type(content_type):
        return []
    value = body
    if isinstance(body, (bytes, str)):
        try:
            value = json.loads(body)
        except ValueError as e:
            return [Mismatch("", "the %s body is not JSON: %s" % (content_type, e), "content")]
    return validate(doc, schema, value)


def _is_json_type(content_type):
    return content_type == "application/json" or content_type.endswith("+json")


# ---------------------------------------------------------------------------------------------
# The document and the harness hook

_here = os.path.dirname(os.path.abspath(__file__))
_doc_cache = {}


def load(path=None):
    """docs/openapi.yaml of LOUPE_SOURCE_DIR (or the tree this file is in), parsed once."""
    if path is None:
        src = os.environ.get("LOUPE_SOURCE_DIR") or os.path.join(_here, "..", "..")
        path = os.path.join(src, "docs", "openapi.yaml")
    path = os.path.abspath(path)
    if path not in _doc_cache:
        try:
            with open(path, encoding="utf-8") as f:
                _doc_cache[path] = json.load(f)
        except (OSError, ValueError) as e:
            raise SchemaError("cannot read %s as JSON: %s" % (path, e))
    return _doc_cache[path]


def mode():
    """"off", "on" or "strict", from LOUPE_OPENAPI_CHECK (0/off/false, 1/on, strict (default))."""
    v = (os.environ.get("LOUPE_OPENAPI_CHECK") or "strict").strip().lower()
    if v in ("0", "off", "false", "no"):
        return "off"
    return "on" if v in ("1", "on", "true", "yes") else "strict"


def harness_check(method, url, status, headers, body):
    """Raises AssertionError when a JSON response does not conform to docs/openapi.yaml.

    Called by loupe_harness.HttpClient for every response it returns. Only JSON bodies
    (application/json, application/problem+json, …+json) are checked; an undocumented status is
    a failure in strict mode only."""
    m = mode()
    if m == "off":
        return
    content_type = ((headers.get("Content-Type") if headers is not None else None) or "").split(";")[0]
    content_type = content_type.strip().lower()
    if not _is_json_type(content_type):
        return
    path = urllib.parse.urlsplit(url).path
    try:
        problems = check_response(load(), method, path, status, content_type, body)
    except SchemaError as e:
        raise AssertionError("docs/openapi.yaml: %s (checking %s %s → %d)" % (e, method, path, status))
    if m != "strict":
        problems = [p for p in problems if p.kind != "status"]
    if problems:
        first = problems[0]
        more = "" if len(problems) == 1 else " (and %d more: %s)" % (
            len(problems) - 1, "; ".join(str(p) for p in problems[1:4]))
        raise AssertionError(
            "response does not match docs/openapi.yaml: %s %s → %d %s: at %s: %s%s\nbody: %s\n"
            "(LOUPE_OPENAPI_CHECK=0 turns this check off)" % (
                method.upper(), path, status, content_type, first.pointer or "(root)", first.message, more,
                (body[:600].decode("utf-8", "replace") if isinstance(body, bytes) else str(body)[:600])))


# ---------------------------------------------------------------------------------------------
# Checking the document itself


def lint(doc):
    """Problems of the document itself: dangling $refs, schema keywords the checker does not
    understand, and operations taking a credential that leave out the 429 of the request limit.
    Returns a list of strings."""
    problems = []

    def walk_schema(s, where):
        if isinstance(s, bool):
            return
        if not isinstance(s, dict):
            problems.append("%s: a schema must be an object" % where)
            return
        for k, v in s.items():
            if k not in _APPLIERS and k not in _ANNOTATIONS and not k.startswith("x-"):
                problems.append("%s: unsupported schema keyword %r" % (where, k))
            if k == "$ref":
                try:
                    resolve(doc, v)
                except SchemaError as e:
                    problems.append("%s: %s" % (where, e))
            elif k == "type":
                for t in (v if isinstance(v, list) else [v]):
                    if t not in _TYPES:
                        problems.append("%s: unknown type %r" % (where, t))
            elif k == "properties":
                for name, sub in v.items():
                    walk_schema(sub, where + "/properties/" + _pointer_escape(name))
            elif k in ("items", "additionalProperties", "not"):
                walk_schema(v, where + "/" + k)
            elif k in ("allOf", "anyOf", "oneOf"):
                for i, sub in enumerate(v):
                    walk_schema(sub, "%s/%s/%d" % (where, k, i))

    def walk(node, where):
        if isinstance(node, dict):
            for k, v in node.items():
                here = where + "/" + _pointer_escape(k)
                if k == "schema":
                    walk_schema(v, here)
                elif k == "schemas" and where == "#/components":
                    for name, sub in v.items():
                        walk_schema(sub, here + "/" + _pointer_escape(name))
                elif k == "$ref":
                    try:
                        resolve(doc, v)
                    except SchemaError as e:
                        problems.append("%s: %s" % (where, e))
                else:
                    walk(v, here)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, "%s/%d" % (where, i))

    walk(doc, "#")
    for template, item in (doc.get("paths") or {}).items():
        for method, op in item.items():
            if method not in _METHODS:
                continue
            if not op.get("responses"):
                problems.append("%s %s: no responses" % (method.upper(), template))
            elif op.get("security") != [] and "429" not in op["responses"]:
                problems.append("%s %s: a credential's requests are rate limited: document 429 "
                                "(#/components/responses/TooManyRequests)" % (method.upper(), template))
    return problems


def _self_test():
    """Checks the validator on small cases (each one can fail); returns the failures."""
    doc = {"components": {"schemas": {
        "Role": {"type": "string", "enum": ["owner", "viewer"]},
        "Thing": {"type": "object", "additionalProperties": False, "required": ["id", "at", "n"],
                  "properties": {"id": {"type": "string", "format": "uuid"},
                                 "at": {"type": ["string", "null"], "format": "date-time"},
                                 "n": {"type": "integer", "minimum": 0, "maximum": 3},
                                 "role": {"$ref": "#/components/schemas/Role"},
                                 "tags": {"type": "array", "items": {"type": "string"}},
                                 "either": {"oneOf": [{"type": "integer"}, {"const": "x"}]}}}}},
        "paths": {
            "/t/{id}": {"get": {"responses": {
                "200": {"description": "", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Thing"}}}},
                "4XX": {"description": "", "content": {"application/problem+json": {"schema": {
                    "type": "object", "required": ["status"]}}}}}}},
            "/t/special": {"get": {"responses": {"204": {"description": ""}}}},
            "/files/{key}": {"get": {"responses": {"200": {"description": "", "content": {
                "application/json": {"schema": {"const": 1}}}}}}},
        }}
    good = {"id": "0b9d6c1e-5f4a-4c8e-9a51-2f3b4c5d6e7f", "at": "2026-01-02T03:04:05.123Z", "n": 2,
            "role": "owner", "tags": ["a"], "either": 3}
    S = {"$ref": "#/components/schemas/Thing"}
    cases = [
        (validate(doc, S, good), []),
        (validate(doc, S, dict(good, at=None, n=3.0)), []),
        ([str(m) for m in validate(doc, S, dict(good, id="nope"))], ['/id: "nope" is not a UUID (format uuid)']),
        ([m.pointer for m in validate(doc, S, dict(good, at="2026-02-30T00:00:00Z"))], ["/at"]),
        ([m.pointer for m in validate(doc, S, dict(good, at="2026-01-02 03:04:05Z"))], ["/at"]),
        ([m.pointer for m in validate(doc, S, dict(good, n=4))], ["/n"]),
        ([m.pointer for m in validate(doc, S, dict(good, n=True))], ["/n"]),
        ([m.pointer for m in validate(doc, S, dict(good, role="admin"))], ["/role"]),
        ([m.pointer for m in validate(doc, S, dict(good, tags=["a", 1]))], ["/tags/1"]),
        ([m.pointer for m in validate(doc, S, dict(good, either="y"))], ["/either"]),
        ([m.pointer for m in validate(doc, S, dict(good, extra=1))], ["/extra"]),
        ([m.message for m in validate(doc, S, {k: v for k, v in good.items() if k != "n"})],
         ["lacks the required member 'n'"]),
        (check_response(doc, "GET", "/t/0b9d", 200, "application/json", json.dumps(good)), []),
        ([m.pointer for m in check_response(doc, "GET", "/t/x?y=1", 200, "application/json", b'{"id":1}')],
         ["", "", "/id"]),
        (check_response(doc, "GET", "/t/x", 404, "application/problem+json", b'{"status":404}'), []),
        ([m.kind for m in check_response(doc, "GET", "/t/x", 500, "application/problem+json", b"{}")], ["status"]),
        ([m.kind for m in check_response(doc, "GET", "/t/special", 204, "", b"")], []),
        ([m.kind for m in check_response(doc, "GET", "/t/special", 200, "application/json", b"{}")], ["status"]),
        ([m.kind for m in check_response(doc, "GET", "/t/x", 200, "text/html", b"<p>")], ["content"]),
        (check_response(doc, "POST", "/t/x", 200, "application/json", b"[]"), []),
        (check_response(doc, "GET", "/elsewhere", 200, "application/json", b"[]"), []),
        (check_response(doc, "GET", "/files/a/b/c", 200, "application/json", b"1"), []),
        ([m.kind for m in check_response(doc, "GET", "/files/a/b", 200, "application/json", b"{")], ["content"]),
    ]
    failures = []
    for i, (got, want) in enumerate(cases):
        got = [str(g) if isinstance(g, Mismatch) else g for g in got]
        if got != want:
            failures.append("case %d: got %r, expected %r" % (i, got, want))
    try:
        validate(doc, {"tpye": "string"}, "x")
        failures.append("an unknown keyword was accepted")
    except SchemaError:
        pass
    return failures


def main(argv):
    failures = _self_test()
    for f in failures:
        print("self-test: " + f)
    path = argv[1] if len(argv) > 1 else None
    try:
        problems = lint(load(path))
    except SchemaError as e:
        problems = [str(e)]
    for p in problems:
        print("docs/openapi.yaml: " + p)
    if not failures and not problems:
        print("openapi_check: self-test passed; the document uses only what the checker understands")
    return 1 if failures or problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""Checks a running pumpd against spec/openapi.yaml.

    python3 Tests/api/check_openapi.py SOCKET [--spec spec/openapi.yaml]
                                              [--sim-control PATH] [--no-faults]

First validates the spec itself (openapi-spec-validator, OpenAPI 3.0). Then
talks HTTP/1.1 to pumpd over its Unix socket, exercises every endpoint (reads,
writes, bad inputs, streams) and checks each answer against the contract: the
status code is one the operation documents, the Content-Type is the documented
one, the body (each line, for NDJSON) validates against the documented schema
(OpenAPI 3.0 schemas turned into JSON Schema draft 4, `nullable` included),
and the Location / Idempotent-Replayed / Log-Next / Allow headers hold what
they should. A path the spec does not have must answer 404 `not_found`; a
documented path with a method it does not document, 405 `method_not_allowed`
with `Allow` listing exactly the documented methods. Request bodies are
checked against the request schema too: the ones pumpd accepts must validate,
and the malformed ones the schema can express must not. A write's `review`
must be of the command's own kind.

Dose safety (spec/drug-library.md, the built-in library): the program, bolus
and refill reviews (acceptable, needs_override, refused), writes refused 409
`override_required` and 400 `hard_limit`, the same writes with an override
(200, the command's note naming the limit, the reason and the uid), overrides
refused 400 `unused_override` (a limit not hit, a hard limit) or malformed,
and GET /v1/drugs. The programs the other checks push respect the library
(morphine: peak under 20 mg/day, changes under 50 %, no second increase
within 24 h), so that only the dose-safety checks meet its limits.

The writes change the pump: run it against pumpd's embedded simulator only
(a fresh --data-dir, no special flags). The caller must be a clinician (by
default, root). Run as root, it also checks the 403 for a non-clinician
(uid 65534, keeping group 0 to reach the socket). Faults are injected through
the simulator's control socket (DATA_DIR/simulator/control.sock, found beside
the API socket, or --sim-control): the implant out of range (422), a motor
stall (422), the head unplugged (503), and a bolus made uncertain (202) by
losing exactly its own frames (`drop_only` START_BOLUS), once with its
answers lost (settled `applied`) and once with its requests lost (settled
`not_applied`).

Patients and visits: records added, changed and refused (missing fields,
catheter units and ranges, one record per implant), a visit started for
the implant in session and refused for another patient's, its end-check, a
refill with the volume withdrawn inside it, the wrong-patient guard (a
session with no implant in range: writes 409 `wrong_patient`, nothing
sent), an end refused 409 `acknowledgement_required` while the pump is
suspended and then acknowledged, the report, a second visit that ends
quietly, the post-MRI check (with a motor stall), the FHIR export of each
visit and of the patient over periods (and its 400s and 404s), and, as
root, a viewer's 403 on every patient, visit and FHIR endpoint.

Needs PyYAML, jsonschema and openapi-spec-validator
(pip install -r Tests/api/requirements.txt); installs nothing itself.
Prints one line per check and "N passed, N failed, N skipped"; exits 1 if any
check failed.
"""

import argparse
import hashlib
import json
import os
import re
import socket
import sys
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pyclient"))
from pumpd_client import UnixHTTPConnection  # noqa: E402

try:
    import yaml
    from jsonschema import Draft4Validator, FormatChecker
    from openapi_spec_validator import OpenAPIV30SpecValidator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4
except ImportError as e:  # pragma: no cover
    sys.exit(f"check_openapi: {e}; install the checker's dependencies: "
             f"python3 -m pip install -r {os.path.join(os.path.dirname(os.path.abspath(__file__)), 'requirements.txt')}")

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SPEC = os.path.join(HERE, "..", "..", "spec", "openapi.yaml")
SPEC_URI = "urn:pumpd-openapi"
JSON = {"Content-Type": "application/json"}
NOBODY = 65534

REFILL = {
    "drug": "morphine",
    "concentration": {"value": "10", "unit": "mg/mL"},
    "reservoir": {"value": "40", "unit": "mL"},
    "low_alarm": {"value": "4", "unit": "mL"},
}
PROGRAM = {
    "mode": "daily",
    "utc_offset_min": 60,
    "patient_bolus": {
        "dose": {"value": "0.1", "unit": "mg"},
        "lockout": {"value": "120", "unit": "min"},
        "max_per_day": 4,
    },
    "steps": [
        {"start_min": 0, "rate": {"value": "2.4", "unit": "mg/day"}},
        {"start_min": 480, "rate": {"value": "3", "unit": "mg/day"}},
        {"start_min": 1320, "rate": {"value": "0", "unit": "mg/day"}},
    ],
}
# A lower program (average 1.22 mg/day): pushed after PROGRAM (2.55 mg/day)
# and the programs between, each a decrease under the library's 50 %, so no
# push but the dose-safety ones needs an override.
PROGRAM_LOW = dict(PROGRAM, steps=[
    {"start_min": 0, "rate": {"value": "1.2", "unit": "mg/day"}},
    {"start_min": 480, "rate": {"value": "1.4", "unit": "mg/day"}},
    {"start_min": 1320, "rate": {"value": "0", "unit": "mg/day"}},
])
BOLUS = {"dose": {"value": "0.1", "unit": "mg"}, "duration": {"value": "30", "unit": "min"}}
REASON = "agreed with the patient at today's clinic visit"


# ----------------------------------------------------------------- transport

class Answer:
    def __init__(self, status, headers, body, lines=None):
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.body = body
        self.lines = lines  # NDJSON lines read from a stream

    def json(self):
        return json.loads(self.body)

    def error(self):
        try:
            e = self.json()["error"]
            return e if isinstance(e, dict) else {}
        except Exception:  # noqa: BLE001
            return {}

    def error_code(self):
        return self.error().get("code")

    def command(self):
        try:
            c = self.json()["command"]
            return c if isinstance(c, dict) else {}
        except Exception:  # noqa: BLE001
            return {}

    def command_id(self):
        return self.command().get("id")


def call(sock, method, path, body=None, headers=None, raw=None, stream_seconds=None, timeout=60):
    """One request. `body` is JSON-encoded with Content-Type application/json;
    `raw` is sent as is (with only the headers given). With `stream_seconds`,
    reads the (endless) answer for that long and keeps the complete lines."""
    h = {"Host": "pumpd"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h.update(JSON)
    if raw is not None:
        data = raw
    h.update(headers or {})
    if data is not None:
        h["Content-Length"] = str(len(data))
    if stream_seconds is not None:
        return stream(sock, method, path, h, data, stream_seconds)
    conn = UnixHTTPConnection(sock, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        return Answer(resp.status, hdrs, resp.read())
    finally:
        conn.close()


def stream(sock, method, path, headers, data, seconds):
    """A streaming answer over a raw socket: everything that arrives within
    `seconds`, de-chunked, cut to whole lines."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock)
    try:
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        s.sendall(head.encode() + (data or b""))
        buf = b""
        end = time.monotonic() + seconds
        s.settimeout(0.2)
        while time.monotonic() < end:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, TimeoutError):
                continue
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    body = rest
    if hdrs.get("transfer-encoding", "").lower() == "chunked":
        body, i = b"", 0
        while True:
            j = rest.find(b"\r\n", i)
            if j < 0:
                break
            size = int(rest[i:j].split(b";")[0] or b"0", 16)
            if size == 0:
                break
            body += rest[j + 2:j + 2 + size]
            i = j + 2 + size + 2
    if status != 200:
        return Answer(status, hdrs, body)
    complete = body[: body.rfind(b"\n") + 1]
    return Answer(status, hdrs, complete, complete.splitlines(keepends=True))


# -------------------------------------------------------------------- schemas

def to_json_schema(node):
    """OpenAPI 3.0 schema objects → JSON Schema draft 4 (nullable, refs)."""
    if isinstance(node, list):
        return [to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k == "$ref" and isinstance(v, str) and v.startswith("#/"):
            out[k] = SPEC_URI + v
        elif k in ("example", "examples", "xml", "externalDocs", "deprecated", "readOnly", "writeOnly", "discriminator"):
            continue
        else:
            out[k] = to_json_schema(v)
    if out.pop("nullable", False) is True:
        return {"anyOf": [{"type": "null"}, out]}
    return out


def format_checker():
    fc = FormatChecker(formats=())
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

    @fc.checks("date-time")
    def _dt(value):
        return not isinstance(value, str) or bool(iso.match(value))

    return fc


HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class Spec:
    def __init__(self, path):
        with open(path) as f:
            self.raw = yaml.safe_load(f)
        self.doc = to_json_schema(self.raw)
        self.registry = Registry().with_resource(SPEC_URI, Resource(contents=self.doc, specification=DRAFT4))
        self.fc = format_checker()
        self.routes = []
        for template, item in self.raw["paths"].items():
            rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            self.routes.append((re.compile(rx), template, item))

    def spec_problems(self):
        """What openapi-spec-validator finds wrong with the document itself."""
        try:
            return [str(e).split("\n", 1)[0][:300] for e in OpenAPIV30SpecValidator(self.raw).iter_errors()]
        except Exception as e:  # noqa: BLE001  (a $ref to nowhere raises instead of yielding)
            return [f"{type(e).__name__}: {str(e).split(' within ')[0][:300]}"]

    def deref(self, node):
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            assert ref.startswith("#/"), ref
            node = self.raw
            for part in ref[2:].split("/"):
                node = node[part]
        return node

    def path_item(self, path):
        bare = path.split("?", 1)[0]
        for rx, template, item in self.routes:
            if rx.match(bare):
                return template, item
        return None, None

    def operation(self, method, path):
        """(template, operation, path item); operation None for an undocumented method."""
        template, item = self.path_item(path)
        if item is None:
            return None, None, None
        return template, item.get(method.lower()), item

    @staticmethod
    def methods(item):
        return {m.upper() for m in item if m in HTTP_METHODS}

    def validator(self, oapi_schema):
        return Draft4Validator(to_json_schema(oapi_schema), registry=self.registry, format_checker=self.fc)

    def schema_errors(self, oapi_schema, value):
        errs = sorted(self.validator(oapi_schema).iter_errors(value), key=lambda e: list(e.absolute_path))
        return ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(root)", e.message[:300]) for e in errs]

    def named(self, name):
        return {"$ref": "#/components/schemas/" + name}

    def response(self, name):
        return self.raw["components"]["responses"][name]


# --------------------------------------------------------------------- checks

class Checker:
    def __init__(self, sock, spec):
        self.sock = sock
        self.spec = spec
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def report(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            print(f"ok    {what}" + (f"  ({detail})" if detail else ""))
        else:
            self.failed += 1
            print(f"FAIL  {what}: {detail}")
        sys.stdout.flush()
        return ok

    def skip(self, what, why):
        self.skipped += 1
        print(f"skip  {what}: {why}")

    def conforms(self, method, path, a):
        """The answer against what the spec documents for it. Returns problems."""
        problems = []
        template, op, item = self.spec.operation(method, path)
        if item is None:
            # A path the spec does not have: 404 not_found.
            if a.status != 404:
                problems.append(f"undocumented path answered {a.status}, not 404")
            resp = self.spec.response("NotFound")
        elif op is None:
            # A documented path, a method it does not take: 405 with Allow.
            if a.status != 405:
                problems.append(f"undocumented method answered {a.status}, not 405")
            resp = self.spec.response("MethodNotAllowed")
            allowed = {m.strip().upper() for m in a.headers.get("allow", "").split(",") if m.strip()}
            if allowed != self.spec.methods(item):
                problems.append(f"Allow is {a.headers.get('allow')!r}; the spec documents {sorted(self.spec.methods(item))} for {template}")
        else:
            responses = op.get("responses", {})
            resp = responses.get(str(a.status)) or responses.get("default")
            if resp is None:
                return [f"status {a.status} is not documented for {method.upper()} {template}"]
            resp = self.spec.deref(resp)
        if method.upper() == "HEAD":
            if a.body:
                problems.append(f"a HEAD answer with a body: {a.body[:100]!r}")
            return problems + self.header_problems(resp, a, None)
        content = resp.get("content", {})
        ctype = a.headers.get("content-type", "").split(";")[0].strip().lower()
        if content:
            if ctype not in content:
                problems.append(f"Content-Type {ctype!r} not documented (documented: {', '.join(content)})")
                return problems
            schema = content[ctype].get("schema")
            if ctype in ("application/json", "application/fhir+json"):
                try:
                    value = a.json()
                except ValueError as e:
                    return problems + [f"body is not JSON: {e}: {a.body[:200]!r}"]
                problems += self.spec.schema_errors(schema, value)
                problems += self.header_problems(resp, a, value)
            elif ctype == "application/x-ndjson":
                for i, line in enumerate(a.body.splitlines()):
                    if not line.strip():
                        problems.append(f"line {i} is empty")
                        continue
                    try:
                        value = json.loads(line)
                    except ValueError as e:
                        problems.append(f"line {i} is not JSON: {e}")
                        continue
                    problems += [f"line {i}: {p}" for p in self.spec.schema_errors(schema, value)]
                problems += self.header_problems(resp, a, None)
            elif ctype in ("text/plain", "text/html"):
                try:
                    a.body.decode("utf-8")
                except UnicodeDecodeError:
                    problems.append(f"{ctype} body is not UTF-8")
        elif a.body:
            problems.append(f"a body where none is documented: {a.body[:100]!r}")
        return problems

    def header_problems(self, resp, a, value):
        problems = []
        documented = {k.lower() for k in resp.get("headers", {})}
        for name in ("location", "idempotent-replayed", "log-next", "allow"):
            if name in a.headers and name not in documented:
                problems.append(f"header {name} is not documented for this answer")
        if "idempotent-replayed" in a.headers and a.headers["idempotent-replayed"] != "true":
            problems.append(f"Idempotent-Replayed is {a.headers['idempotent-replayed']!r}")
        if "log-next" in a.headers and not re.fullmatch(r"[0-9]+", a.headers["log-next"]):
            problems.append(f"Log-Next is {a.headers['log-next']!r}")
        if "location" in documented and isinstance(value, dict) and isinstance(value.get("command"), dict):
            want = "/v1/commands/" + str(value["command"].get("id"))
            if a.headers.get("location") != want:
                problems.append(f"Location is {a.headers.get('location')!r}, expected {want!r}")
        return problems

    def request_conforms(self, method, path, body):
        """Whether `body` validates against the operation's request schema (None: no schema)."""
        _, op, _ = self.spec.operation(method, path)
        if op is None or "requestBody" not in op:
            return None
        rb = self.spec.deref(op["requestBody"])
        schema = rb["content"]["application/json"]["schema"]
        return self.spec.schema_errors(schema, body)

    def expectations(self, a, expect, code=None, replayed=None, state=None, cid=None, error_cid=None, field=None):
        """What `a` got wrong against the expected status, error code, replay
        header, command state, command id and error.command_id / field."""
        problems = []
        expected = expect if isinstance(expect, (set, frozenset, tuple, list)) else {expect}
        if a.status not in expected:
            problems.append(f"status {a.status}, expected {sorted(expected)}; body {a.body[:300]!r}")
        if code is not None:
            codes = code if isinstance(code, (set, frozenset, tuple, list)) else {code}
            if a.error_code() not in codes:
                problems.append(f"error code {a.error_code()!r}, expected {sorted(codes)}")
        if replayed is not None and (a.headers.get("idempotent-replayed") == "true") != replayed:
            problems.append(f"Idempotent-Replayed {a.headers.get('idempotent-replayed')!r}, expected {'true' if replayed else 'absent'}")
        if state is not None:
            states = state if isinstance(state, (set, frozenset, tuple, list)) else {state}
            if a.command().get("state") not in states:
                problems.append(f"command state {a.command().get('state')!r}, expected {sorted(states)}")
        if cid is not None and a.command_id() != cid:
            problems.append(f"command {a.command_id()!r}, expected {cid!r}")
        if error_cid is not None and a.error().get("command_id") != error_cid:
            problems.append(f"error.command_id {a.error().get('command_id')!r}, expected {error_cid!r}")
        if field is not None and a.error().get("field") != field:
            problems.append(f"error.field {a.error().get('field')!r}, expected {field!r}")
        return problems

    @staticmethod
    def review_problems(method, path, a):
        """A write's review is of the command's kind, and a replay has none;
        a review endpoint's is of its own kind."""
        try:
            value = a.json()
        except Exception:  # noqa: BLE001
            return []
        if not isinstance(value, dict) or not isinstance(value.get("review"), dict) and "kind" not in value:
            return []
        bare = path.split("?", 1)[0]
        if bare.endswith("/review") and a.status == 200:
            want = bare.split("/")[2]
            return [] if value.get("kind") == want else [f"review of kind {value.get('kind')!r} from {bare}"]
        review, cmd = value.get("review"), value.get("command")
        if isinstance(review, dict) and isinstance(cmd, dict):
            p = []
            if review.get("kind") != cmd.get("kind"):
                p.append(f"review of kind {review.get('kind')!r} for a {cmd.get('kind')!r} command")
            if a.headers.get("idempotent-replayed") == "true":
                p.append("a replay carries a review")
            return p
        return []

    def check(self, what, method, path, expect, body=None, raw=None, headers=None, code=None,
              request_valid=None, stream_seconds=None, timeout=60, replayed=None, state=None,
              cid=None, error_cid=None, field=None, extra=None):
        """One request: documented status, schema-valid answer, expected status/code.
        `expect` is a status or a set of them; `code` the expected error code
        (or a set). `request_valid`: whether the JSON body should pass the
        request schema. `extra(answer)` returns further problems."""
        label = f"{method.upper()} {path.split('?')[0] if len(path) > 70 else path} -> {what}"
        try:
            a = call(self.sock, method, path, body=body, raw=raw, headers=headers,
                     stream_seconds=stream_seconds, timeout=timeout)
        except Exception as e:  # noqa: BLE001
            self.report(False, label, f"request failed: {e!r}")
            return None
        problems = self.conforms(method, path, a)
        problems += self.expectations(a, expect, code, replayed, state, cid, error_cid, field)
        problems += self.review_problems(method, path, a)
        if request_valid is not None and body is not None:
            errs = self.request_conforms(method, path, body)
            if errs is not None:
                if request_valid and errs:
                    problems.append("the request schema refuses a body pumpd accepts: " + "; ".join(errs[:3]))
                if not request_valid and not errs:
                    problems.append("the request schema accepts a body pumpd refuses")
        if extra is not None and not problems:
            try:
                problems += extra(a)
            except Exception as e:  # noqa: BLE001
                problems.append(f"checking the answer failed: {e!r}")
        detail = f"{a.status}" + (f" {a.error_code()}" if a.error_code() else "")
        if a.command_id():
            detail += f" {a.command_id()} {a.command().get('state')}"
        if a.headers.get("idempotent-replayed"):
            detail += " replayed"
        if a.lines is not None:
            detail += f", {len(a.lines)} lines"
        self.report(not problems, label, "; ".join(problems) if problems else detail)
        return a


# ------------------------------------------------------------------ simulator

def sim(control, command):
    """One command on pumpsim's control socket (one JSON line per connection); its answer."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(control)
        s.sendall((json.dumps(command) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        answer = json.loads(buf or b"{}")
    finally:
        s.close()
    if answer.get("ok") is not True:
        raise RuntimeError(f"pumpsim refused {command}: {answer}")
    return answer


def wait_for(predicate, seconds, step=0.1):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            v = predicate()
            if v:
                return v
        except Exception:  # noqa: BLE001
            pass
        time.sleep(step)
    return None


def health(sock):
    return call(sock, "GET", "/v1/health").json()


def settled(sock):
    h = health(sock)
    return h["link"] == "up" and not h["uncertain_commands"]


def command(sock, cid):
    return call(sock, "GET", f"/v1/commands/{cid}").json()["command"]


def key():
    return str(uuid.uuid4())


# ------------------------------------------------------------------ scenario

def run(c, sock, control, no_faults):
    S = c.check

    problems = c.spec.spec_problems()
    if not c.report(not problems, "the spec is valid OpenAPI 3.0 (openapi-spec-validator)", "; ".join(problems[:5])):
        return  # answers cannot be judged against a broken contract

    # Reads before anything changes.
    S("health", "GET", "/v1/health", 200)
    if not wait_for(lambda: health(sock)["link"] == "up", 60):
        c.report(False, "link up within 60 s", json.dumps(health(sock)))
    S("device", "GET", "/v1/device", 200)
    S("cached status", "GET", "/v1/status", {200, 503})
    S("fresh status", "GET", "/v1/status?refresh=true", 200)
    S("refresh=1", "GET", "/v1/status?refresh=1", 200)
    S("refresh (empty)", "GET", "/v1/status?refresh", 200)
    S("refresh=false", "GET", "/v1/status?refresh=false", 200)
    S("refresh=maybe", "GET", "/v1/status?refresh=maybe", 400, code="wrong_type", field="refresh")
    first = call(sock, "GET", "/v1/status?refresh=true").json()
    S("program before any", "GET", "/v1/program", 200)

    # Writes that need a drug, before the refill. The 409 releases its key.
    no_drug_key = key()
    if first.get("drug") is None:
        S("bolus with no drug", "POST", "/v1/bolus", 409, body=BOLUS, headers={"Idempotency-Key": no_drug_key},
          code="no_drug_loaded", request_valid=True, state="failed",
          extra=lambda a: [] if a.command().get("idempotency_key") is None else ["the refused command still holds its key"])
        S("program with no drug", "PUT", "/v1/program", 409, body=PROGRAM, code="no_drug_loaded", request_valid=True)
        S("review with no drug", "POST", "/v1/program/review", 200, body=PROGRAM, request_valid=True)
    else:
        c.report(False, "a fresh simulator", "the pump already has a drug: run against a new --data-dir")

    idempotency(c, sock)
    review_and_program(c)
    running(c, no_drug_key)
    bodies(c)
    quantities(c, sock)
    reads(c, sock)
    methods(c)
    forbidden(c, sock)
    captures(c)
    users(c)
    backup(c)
    dose_safety(c, sock)
    visits(c, sock, None if no_faults else control)

    if no_faults:
        c.skip("faults: 202, 409 uncertain_command / not_applied, 422 and 503 from the device", "--no-faults")
    elif control is None:
        c.report(False, "the simulator's control socket", "not found beside the API socket; pass --sim-control")
    else:
        faults(c, sock, control)


def idempotency(c, sock):
    """Refill with a key; its replays (same plan, whatever the text) and a reuse."""
    S = c.check
    k = key()
    a = S("refill", "POST", "/v1/refill", 200, body=REFILL, headers={"Idempotency-Key": k}, request_valid=True,
          replayed=False, state="succeeded")
    rid = a.command_id() if a is not None else None
    S("refill replayed", "POST", "/v1/refill", 200, body=REFILL, headers={"Idempotency-Key": k}, replayed=True,
      cid=rid, state="succeeded")
    # The same plan in other words: trailing zeros, other units, other field order, null for absent.
    same = {
        "low_alarm": {"unit": "uL", "value": "4000.000"},
        "reservoir": {"value": "40.0", "unit": "mL", "base_value": None},
        "concentration": {"value": "10000", "unit": "mcg/mL"},
        "drug": "morphine",
    }
    S("refill replayed, same plan in other words", "POST", "/v1/refill", 200, body=same, headers={"Idempotency-Key": k},
      replayed=True, cid=rid, request_valid=True)
    other = dict(REFILL, low_alarm={"value": "5", "unit": "mL"})
    S("same key, other request", "POST", "/v1/refill", 422, body=other, headers={"Idempotency-Key": k},
      code="idempotency_key_reused", request_valid=True, replayed=False, cid=rid, error_cid=rid)
    S("same key, other kind", "POST", "/v1/suspend", 422, headers={"Idempotency-Key": k},
      code="idempotency_key_reused", replayed=False, cid=rid, error_cid=rid)
    S("quantity echoed from an answer", "POST", "/v1/refill", 200, request_valid=True, body={
        "drug": "morphine",
        "concentration": {"value": "10", "unit": "mg/mL", "base_value": 10000000, "base_unit": "ng/mL"},
        "reservoir": {"value": "40", "unit": "mL", "base_value": 40000000, "base_unit": "nL"},
        "low_alarm": {"value": "4000", "unit": "uL"},
    })


def review_and_program(c):
    S = c.check
    S("review acceptable", "POST", "/v1/program/review", 200, body=PROGRAM, request_valid=True,
      extra=lambda a: [] if a.json()["verdict"] == "acceptable" else [f"verdict {a.json()['verdict']}"])
    hot = {"mode": "continuous", "steps": [{"start_min": 0, "rate": {"value": "500", "unit": "mg/day"}}]}
    S("review over the flow limit", "POST", "/v1/program/review", 200, body=hot, request_valid=True,
      extra=lambda a: [] if a.json()["verdict"] == "refused" and a.json()["findings"] else ["not refused with findings"])
    half_hour = dict(PROGRAM, patient_bolus=dict(PROGRAM["patient_bolus"], lockout={"value": "0.5", "unit": "h"}))
    S("review, lockout 0.5 h is 30 min", "POST", "/v1/program/review", 200, body=half_hour, request_valid=True,
      extra=lambda a: [] if a.json()["proposed"]["program"]["patient_bolus"]["lockout"]["base_value"] == 30
      else [f"lockout {a.json()['proposed']['program']['patient_bolus']['lockout']}"])
    S("review bad mode", "POST", "/v1/program/review", 400, body=dict(PROGRAM, mode="hourly"), code="out_of_range",
      request_valid=False, field="mode")
    S("review no body", "POST", "/v1/program/review", 400, code="bad_json")
    S("program", "PUT", "/v1/program", 200, body=PROGRAM, headers={"Idempotency-Key": key()}, request_valid=True,
      state="succeeded", extra=lambda a: [] if a.json()["review"]["change"]["direction"] == "start"
      else [f"change {a.json()['review']['change']}"])
    S("program read back", "GET", "/v1/program", 200)
    S("review with a current program", "POST", "/v1/program/review", 200, body=PROGRAM,
      extra=lambda a: [] if a.json()["current"]["program"] is not None and a.json()["change"]["direction"] == "none"
      else [f"current {a.json()['current']}, change {a.json()['change']}"])
    S("program over the flow limit", "PUT", "/v1/program", 400, body=hot, code="device_limit", request_valid=True, state="failed",
      extra=lambda a: [] if a.json()["review"]["verdict"] == "refused" else [f"verdict {a.json()['review']['verdict']}"])
    # The same program again, with a key (no change), and replayed in other words.
    k = key()
    p = S("program with a key", "PUT", "/v1/program", 200, body=PROGRAM, headers={"Idempotency-Key": k}, request_valid=True)
    reworded = {
        "steps": [{"rate": {"unit": "mcg/day", "value": "2400.0"}, "start_min": 0},
                  {"start_min": 480, "rate": {"value": "3.000", "unit": "mg/day"}},
                  {"start_min": 1320, "rate": {"value": "0", "unit": "ng/day"}}],
        "patient_bolus": {"max_per_day": 4, "lockout": {"value": "2", "unit": "h"}, "dose": {"value": "100", "unit": "mcg"}},
        "utc_offset_min": 60, "mode": "daily",
    }
    S("program replayed, \"2400.0\" mcg/day for \"2.4\" mg/day", "PUT", "/v1/program", 200, body=reworded,
      headers={"Idempotency-Key": k}, replayed=True, cid=p.command_id() if p else None, request_valid=True,
      extra=lambda a: [] if "review" not in a.json() else ["a replay carries a review"])
    # Decreases under the library's 50 % (2.55 → 1.5 → 1.4 mg/day): no override needed.
    S("continuous program, no patient bolus", "PUT", "/v1/program", 200, request_valid=True, body={
        "mode": "continuous", "utc_offset_min": None, "patient_bolus": None,
        "steps": [{"start_min": 0, "rate": {"value": "1500", "unit": "mcg/day"}}]},
      extra=lambda a: [] if a.json()["review"]["change"]["direction"] == "decrease" else [f"change {a.json()['review']['change']}"])
    S("weekly program", "PUT", "/v1/program", 200, body=dict(PROGRAM, mode="weekly", steps=[
        {"start_min": 0, "rate": {"value": "1.4", "unit": "mg/day"}},
        {"start_min": 10079, "rate": {"value": "1400000", "unit": "ng/day"}}]), request_valid=True)

    # Program parse errors.
    bad_programs = [
        ("mode unknown", dict(PROGRAM, mode="hourly"), "out_of_range", False),
        ("mode missing", {"steps": PROGRAM["steps"]}, "missing_field", False),
        ("mode a number", dict(PROGRAM, mode=2), "wrong_type", False),
        ("no steps", dict(PROGRAM, steps=[]), "out_of_range", False),
        ("49 steps", dict(PROGRAM, mode="weekly", steps=[{"start_min": i, "rate": {"value": "1", "unit": "mg/day"}} for i in range(49)]),
         "out_of_range", False),
        ("start_min 10080", dict(PROGRAM, mode="weekly", steps=[{"start_min": 0, "rate": {"value": "1", "unit": "mg/day"}},
                                                               {"start_min": 10080, "rate": {"value": "1", "unit": "mg/day"}}]),
         "out_of_range", False),
        ("start_min -1", dict(PROGRAM, steps=[{"start_min": -1, "rate": {"value": "1", "unit": "mg/day"}}]), "out_of_range", False),
        ("daily start 1440", dict(PROGRAM, steps=[{"start_min": 0, "rate": {"value": "1", "unit": "mg/day"}},
                                                  {"start_min": 1440, "rate": {"value": "1", "unit": "mg/day"}}]),
         "out_of_range", None),
        ("first start not 0", dict(PROGRAM, steps=[{"start_min": 5, "rate": {"value": "1", "unit": "mg/day"}}]), "out_of_range", None),
        ("starts not increasing", dict(PROGRAM, steps=[{"start_min": 0, "rate": {"value": "1", "unit": "mg/day"}},
                                                       {"start_min": 0, "rate": {"value": "1", "unit": "mg/day"}}]),
         "out_of_range", None),
        ("continuous with 2 steps", dict(PROGRAM, mode="continuous"), "out_of_range", None),
        ("utc_offset_min 841", dict(PROGRAM, utc_offset_min=841), "out_of_range", False),
        ("utc_offset_min -721", dict(PROGRAM, utc_offset_min=-721), "out_of_range", False),
        ("max_per_day 25", dict(PROGRAM, patient_bolus=dict(PROGRAM["patient_bolus"], max_per_day=25)), "out_of_range", False),
        ("max_per_day 0", dict(PROGRAM, patient_bolus=dict(PROGRAM["patient_bolus"], max_per_day=0)), "out_of_range", False),
        ("lockout 5 min", dict(PROGRAM, patient_bolus=dict(PROGRAM["patient_bolus"], lockout={"value": "5", "unit": "min"})),
         "out_of_range", None),
        ("lockout 0.1 h (6 min)", dict(PROGRAM, patient_bolus=dict(PROGRAM["patient_bolus"], lockout={"value": "0.1", "unit": "h"})),
         "out_of_range", None),
        ("lockout 0.51 h", dict(PROGRAM, patient_bolus=dict(PROGRAM["patient_bolus"], lockout={"value": "0.51", "unit": "h"})),
         "bad_quantity", None),
        ("patient dose 0", dict(PROGRAM, patient_bolus=dict(PROGRAM["patient_bolus"], dose={"value": "0", "unit": "mg"})),
         "out_of_range", None),
        ("patient_bolus missing lockout", dict(PROGRAM, patient_bolus={"dose": {"value": "1", "unit": "mg"}, "max_per_day": 2}),
         "missing_field", False),
        ("rate per hour", dict(PROGRAM, steps=[{"start_min": 0, "rate": {"value": "1", "unit": "mg/h"}}]), "wrong_unit", False),
        ("rate over 32 bits", dict(PROGRAM, steps=[{"start_min": 0, "rate": {"value": "5000", "unit": "mg/day"}}]), "out_of_range", None),
        ("rate 0.5 ng/day", dict(PROGRAM, steps=[{"start_min": 0, "rate": {"value": "0.5", "unit": "ng/day"}}]), "bad_quantity", None),
        ("unknown field", dict(PROGRAM, rate_mcg_per_hour=3), "unknown_field", False),
        ("unknown step field", dict(PROGRAM, steps=[{"start_min": 0, "rate": {"value": "1", "unit": "mg/day"}, "note": "x"}]),
         "unknown_field", False),
        ("steps not an array", dict(PROGRAM, steps={}), "wrong_type", False),
        ("body an array", [PROGRAM], "wrong_type", False),
    ]
    for what, body, code, valid in bad_programs:
        S(what, "PUT", "/v1/program", 400, body=body, code=code, request_valid=valid)
    S("lower program (1.4 → 1.22 mg/day)", "PUT", "/v1/program", 200, body=PROGRAM_LOW, request_valid=True,
      extra=lambda a: [] if a.json()["review"]["verdict"] == "acceptable" else [f"review {a.json()['review']}"])


def running(c, no_drug_key):
    """Resume, boluses, suspend, clock, alarms; a device refusal and its replay."""
    S = c.check
    S("resume", "POST", "/v1/resume", 200, headers={"Idempotency-Key": key()}, state="succeeded")
    # The key a 409 released before the refill starts a new command now.
    b = S("bolus, with the key a 409 released", "POST", "/v1/bolus", 200, body=BOLUS, headers={"Idempotency-Key": no_drug_key},
          request_valid=True, state="succeeded", replayed=False)
    bid = b.command_id() if b else None
    S("bolus replayed as \"0.10\" mg, \"0.5\" h", "POST", "/v1/bolus", 200, headers={"Idempotency-Key": no_drug_key},
      body={"duration": {"value": "0.5", "unit": "h"}, "dose": {"value": "0.10", "unit": "mg"}}, replayed=True, cid=bid)
    # A bolus over a running one: refused here, before the wire (409 bolus_active), key released.
    k = key()
    S("second bolus, while the first runs", "POST", "/v1/bolus", 409, body=BOLUS, headers={"Idempotency-Key": k},
      code="bolus_active", request_valid=True, state="failed", replayed=False,
      extra=both(judged("refused", hard=["device.bolus_active"], of=in_review),
                 lambda a: [] if a.command()["idempotency_key"] is None and not a.command()["frames"]
                 else ["the refused command holds its key or reached the pump"]))
    S("bolus review while one runs", "POST", "/v1/bolus/review", 200, body=BOLUS,
      extra=judged("refused", hard=["device.bolus_active"]))
    S("cancel bolus", "DELETE", "/v1/bolus", 200, state="succeeded")
    S("second bolus, with the key the 409 released", "POST", "/v1/bolus", 200, body=BOLUS, headers={"Idempotency-Key": k},
      state="succeeded", replayed=False)
    S("cancel the second bolus", "DELETE", "/v1/bolus", 200, state="succeeded")
    # A device refusal (NO_BOLUS) and its replay: the first answer's status and error.
    k = key()
    r = S("cancel again", "DELETE", "/v1/bolus", 422, headers={"Idempotency-Key": k}, code="device_refused", state="failed",
          replayed=False)
    S("cancel again replayed: the first answer's status and error", "DELETE", "/v1/bolus", 422,
      headers={"Idempotency-Key": k}, code="device_refused", state="failed", replayed=True,
      cid=r.command_id() if r else None, error_cid=r.command_id() if r else None,
      extra=lambda a: [] if a.command().get("device_status") == "NO_BOLUS" else [f"device_status {a.command().get('device_status')}"])
    S("bolus in h and mcg", "POST", "/v1/bolus", 200, request_valid=True,
      body={"dose": {"value": "50", "unit": "mcg"}, "duration": {"value": "1", "unit": "h"}})
    S("cancel with {}", "DELETE", "/v1/bolus", 200, body={}, request_valid=True)
    S("bolus over the reservoir", "POST", "/v1/bolus", 400, body={"dose": {"value": "1000", "unit": "mg"},
                                                                  "duration": {"value": "1440", "unit": "min"}},
      code="device_limit", request_valid=True, state="failed")
    S("bolus flow too high", "POST", "/v1/bolus", 400, body={"dose": {"value": "100", "unit": "mg"},
                                                             "duration": {"value": "1", "unit": "min"}},
      code="device_limit", request_valid=True)
    S("suspend", "POST", "/v1/suspend", 200, state="succeeded")
    S("suspend again", "POST", "/v1/suspend", {200, 422})
    S("clock sync", "POST", "/v1/clock/sync", 200, state="succeeded")
    S("clock sync with {}", "POST", "/v1/clock/sync", 200, body={}, request_valid=True)
    S("clock sync with a field", "POST", "/v1/clock/sync", 400, body={"time": 5}, code="unknown_field", request_valid=False)
    S("clock sync with []", "POST", "/v1/clock/sync", 400, body=[], code="wrong_type", request_valid=False)
    S("resume with a JSON null", "POST", "/v1/resume", 400, raw=b"null", headers=JSON, code="wrong_type")
    k = key()
    a = S("ack by name", "POST", "/v1/alarms/low_reservoir/ack", 200, headers={"Idempotency-Key": k}, state="succeeded")
    S("ack by bit 0, replayed: the same alarm", "POST", "/v1/alarms/0/ack", 200, headers={"Idempotency-Key": k},
      replayed=True, cid=a.command_id() if a else None)
    S("ack by bit", "POST", "/v1/alarms/5/ack", 200)
    S("ack by bit 03", "POST", "/v1/alarms/03/ack", 200,
      extra=lambda a: [] if a.command()["request"] == {"alarm": "end_of_service"} else [f"request {a.command()['request']}"])
    S("ack with {}", "POST", "/v1/alarms/clock_not_set/ack", 200, body={})
    S("ack bit 7", "POST", "/v1/alarms/7/ack", 400, code="unknown_alarm", field="bit")
    S("ack unknown name", "POST", "/v1/alarms/fire/ack", 400, code="unknown_alarm", field="bit")
    S("ack bit +3", "POST", "/v1/alarms/+3/ack", 400, code="unknown_alarm", field="bit")
    S("ack bit 3.0", "POST", "/v1/alarms/3.0/ack", 400, code="unknown_alarm", field="bit")
    S("ack bit 65539", "POST", "/v1/alarms/65539/ack", 400, code="unknown_alarm", field="bit")
    S("ack with a field", "POST", "/v1/alarms/0/ack", 400, body={"bit": 0}, code="unknown_field", request_valid=False)


def bodies(c):
    S = c.check
    S("no body", "POST", "/v1/bolus", 400, code="bad_json")
    S("not JSON", "POST", "/v1/bolus", 400, raw=b"{dose}", headers=JSON, code="bad_json")
    S("fractional number", "POST", "/v1/bolus", 400, raw=b'{"dose": 1.5}', headers=JSON, code="bad_json")
    S("exponent", "PUT", "/v1/program", 400, raw=b'{"utc_offset_min": 1e2}', headers=JSON, code="bad_json")
    S("invalid UTF-8", "POST", "/v1/refill", 400, raw=b'{"drug": "\xff\xfe"}', headers=JSON, code="bad_json")
    S("duplicate key", "POST", "/v1/bolus", 400, raw=b'{"dose": {}, "dose": {}}', headers=JSON, code="bad_json")
    S("nested 100 deep", "POST", "/v1/bolus", 400, raw=b"[" * 100 + b"]" * 100, headers=JSON, code="bad_json")
    # Content-Type: application/json exactly (parameters allowed), whenever there is a body.
    bolus = json.dumps(BOLUS).encode()
    S("text/plain body", "POST", "/v1/bolus", 415, raw=bolus, headers={"Content-Type": "text/plain"},
      code="unsupported_media_type")
    S("no Content-Type", "POST", "/v1/bolus", 415, raw=bolus, code="unsupported_media_type")
    S("no Content-Type, {}", "POST", "/v1/clock/sync", 415, raw=b"{}", code="unsupported_media_type")
    S("application/jsonx", "POST", "/v1/clock/sync", 415, raw=b"{}", headers={"Content-Type": "application/jsonx"},
      code="unsupported_media_type")
    S("application/json-seq", "POST", "/v1/clock/sync", 415, raw=b"{}", headers={"Content-Type": "application/json-seq"},
      code="unsupported_media_type")
    S("application/problem+json", "POST", "/v1/clock/sync", 415, raw=b"{}",
      headers={"Content-Type": "application/problem+json"}, code="unsupported_media_type")
    S("review, no Content-Type", "POST", "/v1/program/review", 415, raw=json.dumps(PROGRAM).encode(),
      code="unsupported_media_type")
    S("charset parameter", "POST", "/v1/clock/sync", 200, raw=b"{}", headers={"Content-Type": "application/json; charset=utf-8"})
    S("parameter without a space", "POST", "/v1/clock/sync", 200, raw=b"{}", headers={"Content-Type": "application/json;charset=UTF-8"})
    S("Application/JSON", "POST", "/v1/clock/sync", 200, raw=b"{}", headers={"Content-Type": "Application/JSON"})
    S("no body, no Content-Type", "POST", "/v1/clock/sync", 200)
    S("no body, text/plain", "POST", "/v1/clock/sync", 200, raw=b"", headers={"Content-Type": "text/plain"})
    S("body over 1 MiB", "POST", "/v1/bolus", 413, raw=b'{"x": "' + b"a" * (1 << 20) + b'"}', headers=JSON, code="too_large")
    S("review over 1 MiB", "POST", "/v1/program/review", 413, raw=b" " * ((1 << 20) + 1), headers=JSON, code="too_large")
    S("bolus review, no body", "POST", "/v1/bolus/review", 400, code="bad_json")
    S("bolus review, no Content-Type", "POST", "/v1/bolus/review", 415, raw=json.dumps(BOLUS).encode(),
      code="unsupported_media_type")
    S("refill review over 1 MiB", "POST", "/v1/refill/review", 413, raw=b" " * ((1 << 20) + 1), headers=JSON, code="too_large")
    S("refill review, unknown field", "POST", "/v1/refill/review", 400, body=dict(REFILL, note="x"), code="unknown_field",
      request_valid=False, field="note")
    S("overrides on a write that takes no body", "POST", "/v1/suspend", 400, body={"overrides": []}, code="unknown_field",
      request_valid=False)
    S("empty Idempotency-Key", "POST", "/v1/suspend", 400, headers={"Idempotency-Key": ""}, code="bad_idempotency_key",
      field="Idempotency-Key")
    S("Idempotency-Key with a space", "POST", "/v1/suspend", 400, headers={"Idempotency-Key": "a b"}, code="bad_idempotency_key")
    S("Idempotency-Key of 256", "POST", "/v1/suspend", 400, headers={"Idempotency-Key": "k" * 256}, code="bad_idempotency_key")
    S("Idempotency-Key of 255", "POST", "/v1/suspend", {200, 422}, headers={"Idempotency-Key": "k" * 254 + "!"})


def quantities(c, sock):
    """A value must come to a whole number of base units; base_value and base_unit, when sent, must agree."""
    S = c.check
    D = BOLUS["duration"]
    accepted = [
        ("duration 1.5 h (90 min)", {"dose": BOLUS["dose"], "duration": {"value": "1.5", "unit": "h"}}),
        ("duration 0.25 h (15 min)", {"dose": BOLUS["dose"], "duration": {"value": "0.25", "unit": "h"}}),
        ("duration 1.500 h", {"dose": BOLUS["dose"], "duration": {"value": "1.500", "unit": "h"}}),
        ("dose 0.100000 mg", {"dose": {"value": "0.100000", "unit": "mg"}, "duration": D}),
        ("dose 100000.000 ng", {"dose": {"value": "100000.000", "unit": "ng"}, "duration": D}),
        # Under the library's clinician-bolus soft maximum for morphine (1 mg).
        ("base_value and base_unit echoed", {"dose": {"value": "0.5", "unit": "mg", "base_value": 500000, "base_unit": "ng"},
                                             "duration": {"value": "30", "unit": "min", "base_value": 30, "base_unit": "min"}}),
        ("base_value null", {"dose": {"value": "0.5", "unit": "mg", "base_value": None}, "duration": D}),
        ("base_unit null", {"dose": {"value": "0.5", "unit": "mg", "base_unit": None}, "duration": D}),
    ]
    for what, body in accepted:
        S(what, "POST", "/v1/bolus", 200, body=body, request_valid=True, state="succeeded")
        call(sock, "DELETE", "/v1/bolus")
    refused = [
        ("dose a bare number", {"dose": 100, "duration": D}, "bare_number", "dose", False),
        ("dose a bare string", {"dose": "0.1 mg", "duration": D}, "bare_number", "dose", False),
        ("dose value a number", {"dose": {"value": 1, "unit": "mg"}, "duration": D}, "bad_quantity", "dose.value", False),
        ("dose unit ug", {"dose": {"value": "100", "unit": "ug"}, "duration": D}, "unknown_unit", "dose.unit", False),
        ("dose unit MG", {"dose": {"value": "1", "unit": "MG"}, "duration": D}, "unknown_unit", "dose.unit", False),
        ("dose in mL", {"dose": {"value": "1", "unit": "mL"}, "duration": D}, "wrong_unit", "dose.unit", False),
        ("dose unit a number", {"dose": {"value": "1", "unit": 5}, "duration": D}, "wrong_type", "dose.unit", False),
        ("dose 0.5 ng", {"dose": {"value": "0.5", "unit": "ng"}, "duration": D}, "bad_quantity", "dose.value", None),
        ("dose 0.0000001 mg", {"dose": {"value": "0.0000001", "unit": "mg"}, "duration": D}, "bad_quantity", "dose.value", None),
        ("dose 0.0005 mcg", {"dose": {"value": "0.0005", "unit": "mcg"}, "duration": D}, "bad_quantity", "dose.value", None),
        ("duration 0.01 h (36 s)", {"dose": BOLUS["dose"], "duration": {"value": "0.01", "unit": "h"}}, "bad_quantity",
         "duration.value", None),
        ("duration 1.51 h", {"dose": BOLUS["dose"], "duration": {"value": "1.51", "unit": "h"}}, "bad_quantity",
         "duration.value", None),
        ("duration 30.5 min", {"dose": BOLUS["dose"], "duration": {"value": "30.5", "unit": "min"}}, "bad_quantity",
         "duration.value", None),
        ("dose -1", {"dose": {"value": "-1", "unit": "mg"}, "duration": D}, "bad_quantity", "dose.value", False),
        ("dose +1", {"dose": {"value": "+1", "unit": "mg"}, "duration": D}, "bad_quantity", "dose.value", False),
        ("dose 1e3", {"dose": {"value": "1e3", "unit": "mcg"}, "duration": D}, "bad_quantity", "dose.value", False),
        ("dose .5", {"dose": {"value": ".5", "unit": "mg"}, "duration": D}, "bad_quantity", "dose.value", False),
        ("dose 1.", {"dose": {"value": "1.", "unit": "mg"}, "duration": D}, "bad_quantity", "dose.value", False),
        ("dose 19 digits", {"dose": {"value": "1" * 19, "unit": "ng"}, "duration": D}, "bad_quantity", "dose.value", False),
        ("dose too large", {"dose": {"value": "999999999999999999", "unit": "mg"}, "duration": D}, "bad_quantity", "dose.value", None),
        ("dose 0", {"dose": {"value": "0", "unit": "mg"}, "duration": D}, "out_of_range", "dose", None),
        ("dose over 32 bits", {"dose": {"value": "5000", "unit": "mg"}, "duration": D}, "out_of_range", "dose", None),
        ("base_value wrong", {"dose": {"value": "5", "unit": "mg", "base_value": 5}, "duration": D}, "bad_quantity",
         "dose.base_value", None),
        ("base_value a string", {"dose": {"value": "5", "unit": "mg", "base_value": "5000000"}, "duration": D}, "bad_quantity",
         "dose.base_value", False),
        ("base_unit mg", {"dose": {"value": "5", "unit": "mg", "base_unit": "mg"}, "duration": D}, "bad_quantity",
         "dose.base_unit", False),
        ("base_unit of another dimension", {"dose": {"value": "5", "unit": "mg", "base_value": 5000000, "base_unit": "nL"},
                                            "duration": D}, "bad_quantity", "dose.base_unit", False),
        ("base_unit a number", {"dose": BOLUS["dose"], "duration": {"value": "30", "unit": "min", "base_unit": 1}},
         "bad_quantity", "duration.base_unit", False),
        ("quantity extra field", {"dose": {"value": "5", "unit": "mg", "per": "day"}, "duration": D}, "unknown_field",
         "dose.per", False),
        ("dose missing", {"duration": D}, "missing_field", "dose", False),
        ("dose null", {"dose": None, "duration": D}, "missing_field", "dose", False),
        ("duration 0", {"dose": BOLUS["dose"], "duration": {"value": "0", "unit": "min"}}, "out_of_range", "duration", None),
        ("duration 1441 min", {"dose": BOLUS["dose"], "duration": {"value": "1441", "unit": "min"}}, "out_of_range", "duration", None),
        ("duration 24.5 h", {"dose": BOLUS["dose"], "duration": {"value": "24.5", "unit": "h"}}, "out_of_range", "duration", None),
        ("unknown field", dict(BOLUS, patient=True), "unknown_field", "patient", False),
    ]
    for what, body, code, field, valid in refused:
        S(what, "POST", "/v1/bolus", 400, body=body, code=code, field=field, request_valid=valid)
    bad_refills = [
        ("unknown drug", dict(REFILL, drug="aspirin"), "unknown_drug", False),
        ("drug a number", dict(REFILL, drug=1), "wrong_type", False),
        ("concentration 60 mg/mL", dict(REFILL, concentration={"value": "60", "unit": "mg/mL"}), "device_limit", None),
        ("concentration 0", dict(REFILL, concentration={"value": "0", "unit": "ng/mL"}), "device_limit", None),
        ("reservoir 41 mL", dict(REFILL, reservoir={"value": "41", "unit": "mL"}), "device_limit", None),
        ("low_alarm 41 mL", dict(REFILL, low_alarm={"value": "41", "unit": "mL"}), "device_limit", None),
        ("reservoir 0.0000005 mL", dict(REFILL, reservoir={"value": "0.0000005", "unit": "mL"}), "bad_quantity", None),
        ("reservoir base_unit mL", dict(REFILL, reservoir={"value": "40", "unit": "mL", "base_unit": "mL"}), "bad_quantity", False),
        ("reservoir in mg", dict(REFILL, reservoir={"value": "4", "unit": "mg"}), "wrong_unit", False),
        ("concentration per day", dict(REFILL, concentration={"value": "4", "unit": "mg/day"}), "wrong_unit", False),
        ("low_alarm missing", {k: v for k, v in REFILL.items() if k != "low_alarm"}, "missing_field", False),
    ]
    for what, body, code, valid in bad_refills:
        S(what, "POST", "/v1/refill", 400, body=body, code=code, request_valid=valid)


def reads(c, sock):
    """Events, commands, audit, logs, metrics; integers in the query are plain digits."""
    S = c.check
    ev = S("events", "GET", "/v1/events?since=0&limit=1000", 200)
    S("events default", "GET", "/v1/events", 200)
    if ev and ev.status == 200:
        page = ev.json()
        names = {e["name"] for e in page["events"]}
        c.report({"REFILLED", "PROGRAM_COMMITTED", "BOLUS_STARTED"} <= names, "events mirrored", ", ".join(sorted(n for n in names if n)))
        S("events next page", "GET", f"/v1/events?since={page['next']}", 200)
    S("events since 007", "GET", "/v1/events?since=007&limit=2", 200,
      extra=lambda a: [] if all(e["index"] >= 7 for e in a.json()["events"]) else ["events before 7"])
    for q, field in [("limit=0", "limit"), ("limit=1001", "limit"), ("since=-1", "since"), ("since=4294967296", "since"),
                     ("since=abc", "since"), ("since=%2B3", "since"), ("since=+3", "since"), ("limit=%2B5", "limit"),
                     ("since=3.0", "since"), ("since=1e2", "since"), ("since=0x10", "since"), ("since=%203", "since"),
                     ("since=", "since")]:
        S(f"events {q}", "GET", f"/v1/events?{q}", 400, code="out_of_range", field=field)
    S("event stream from 0", "GET", "/v1/events/stream?since=0", 200, stream_seconds=2)
    S("event stream live", "GET", "/v1/events/stream", 200, stream_seconds=1)
    S("event stream since x", "GET", "/v1/events/stream?since=x", 400, code="out_of_range", field="since")
    S("event stream since +1", "GET", "/v1/events/stream?since=%2B1", 400, code="out_of_range", field="since")
    S("unknown command", "GET", "/v1/commands/c999999", 404, code="not_found")
    au = S("audit", "GET", "/v1/audit", 200)
    v = S("audit verify", "GET", "/v1/audit/verify", 200)
    if v and v.status == 200:
        c.report(v.json()["intact"], "audit verify: the trail of a pumpd only the checker wrote to is intact", str(v.json()["breaks"][:3]))
    S("audit limit 1000", "GET", "/v1/audit?limit=1000", 200)
    p = S("audit limit 2", "GET", "/v1/audit?limit=2", 200)
    if p and p.status == 200 and p.json()["next_before_ms"] is not None:
        first = p.json()
        S("audit next page (before_ms only)", "GET", f"/v1/audit?limit=2&before_ms={first['next_before_ms']}", 200)
        n = S("audit next page", "GET",
              f"/v1/audit?limit=2&before_ms={first['next_before_ms']}&before_id={urllib.parse.quote(first['next_before_id'])}", 200)
        if n and n.status == 200:
            # The page resumes right after the first one: no command twice.
            ids = [c["id"] for c in first["commands"]] + [c["id"] for c in n.json()["commands"]]
            c.report(len(ids) == len(set(ids)), "audit pages do not overlap", f"ids {ids}")
    S("audit before_ms 0", "GET", "/v1/audit?before_ms=0", 200)
    S("audit before_id alone", "GET", "/v1/audit?before_id=c1", 400, code="bad_request", field="before_id")
    S("audit before_id empty", "GET", "/v1/audit?before_ms=5&before_id=", 400, code="out_of_range", field="before_id")
    S("audit before_id too long", "GET", f"/v1/audit?before_ms=5&before_id={'x' * 129}", 400, code="out_of_range", field="before_id")
    for q, field in [("limit=0", "limit"), ("before_ms=-1", "before_ms"), ("before_ms=%2B1", "before_ms"),
                     ("limit=%2B5", "limit"), ("limit=5.0", "limit")]:
        S(f"audit {q}", "GET", f"/v1/audit?{q}", 400, code="out_of_range", field=field)
    if au and au.status == 200:
        for cmd in au.json()["commands"][:200]:
            S(f"command {cmd['id']} ({cmd['kind']}, {cmd['state']})", "GET", f"/v1/commands/{cmd['id']}", 200)
    lg = S("logs", "GET", "/v1/logs", 200)
    S("logs limit 5", "GET", "/v1/logs?limit=5", 200)
    S("logs limit 5000", "GET", "/v1/logs?limit=5000", 200)
    S("logs limit 5001", "GET", "/v1/logs?limit=5001", 400, code="out_of_range", field="limit")
    S("logs limit +5", "GET", "/v1/logs?limit=%2B5", 400, code="out_of_range", field="limit")
    if lg and lg.status == 200:
        c.report("log-next" in lg.headers, "logs carry Log-Next", lg.headers.get("log-next", "missing"))
        start = max(0, int(lg.headers.get("log-next", "0")) - 3)
        S("log stream since", "GET", f"/v1/logs/stream?since={start}", 200, stream_seconds=1)
    S("log stream live", "GET", "/v1/logs/stream", 200, stream_seconds=1)
    S("log stream since -1", "GET", "/v1/logs/stream?since=-1", 400, code="out_of_range", field="since")
    S("log stream since +1", "GET", "/v1/logs/stream?since=%2B1", 400, code="out_of_range", field="since")
    S("metrics", "GET", "/metrics", 200,
      extra=lambda a: [] if b"pumpd_http_requests_total" in a.body else ["no pumpd_http_requests_total"])


def methods(c):
    """Every documented path with a method it does not take: 405 and Allow; unknown paths: 404."""
    S = c.check
    for template, item in c.spec.raw["paths"].items():
        path = re.sub(r"\{[^}]+\}", lambda m: {"{bit}": "0", "{id}": "c1"}.get(m.group(0), "x"), template)
        taken = Spec.methods(item)
        for method in ("PATCH", "HEAD", "OPTIONS") + tuple(m for m in ("GET", "POST", "PUT", "DELETE") if m not in taken)[:1]:
            S(f"{method} not documented", method, path, 405, code=None if method == "HEAD" else "method_not_allowed")
    for path in ("/v1/nope", "/v1", "/", "/V1/status", "/v1/status/extra", "/v1/alarms/0", "/v1/commands", "/metrics.txt"):
        S("unknown path", "GET", path, 404, code="not_found")
    S("unknown path, other method", "DELETE", "/v1/nope", 404, code="not_found")


def as_nobody(sock, requests):
    """Runs `requests` ((method, path, kwargs) each) as uid 65534 in a child
    that keeps group 0 to reach the socket; their Answers, or an exception text."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups([0])
            os.setgid(0)
            os.setuid(NOBODY)
            out = []
            for method, path, kw in requests:
                a = call(sock, method, path, **kw)
                out.append({"status": a.status, "headers": a.headers, "body": a.body.decode("utf-8", "replace")})
            data = json.dumps(out)
        except Exception as e:  # noqa: BLE001
            data = json.dumps({"exception": repr(e)})
        os.write(w, data.encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    got = json.loads(data)
    if isinstance(got, dict):
        return got["exception"]
    return [Answer(g["status"], g["headers"], g["body"].encode()) for g in got]


def forbidden(c, sock):
    """A non-clinician is refused (403, audited) before anything about the request is judged."""
    if os.geteuid() != 0:
        c.skip("403 for a non-clinician (uid 65534)", "run as root to check it")
        return
    bolus = json.dumps(BOLUS).encode()
    writes = [
        ("suspend, no body", "POST", "/v1/suspend", {}, "suspend", {}),
        ("refill", "POST", "/v1/refill", {"body": REFILL}, "refill", REFILL),
        ("bolus, not JSON", "POST", "/v1/bolus", {"raw": b"{dose}", "headers": JSON}, "bolus", "{dose}"),
        ("bolus as text/plain", "POST", "/v1/bolus", {"raw": bolus, "headers": {"Content-Type": "text/plain"}}, "bolus", BOLUS),
        ("bolus, no Content-Type", "POST", "/v1/bolus", {"raw": bolus}, "bolus", BOLUS),
        ("bolus with an unknown field", "POST", "/v1/bolus", {"body": dict(BOLUS, x=1)}, "bolus", dict(BOLUS, x=1)),
        ("program, bad Idempotency-Key", "PUT", "/v1/program", {"body": PROGRAM, "headers": {"Idempotency-Key": "a b"}},
         "program", PROGRAM),
        ("ack of an unknown alarm", "POST", "/v1/alarms/9/ack", {}, "alarm_ack", {}),
        ("cancel bolus with a field", "DELETE", "/v1/bolus", {"body": {"x": 1}}, "cancel_bolus", {"x": 1}),
        ("clock sync over 1 MiB", "POST", "/v1/clock/sync", {"raw": b" " * ((1 << 20) + 10), "headers": JSON}, "clock_sync", None),
        ("capture start", "POST", "/v1/capture", {"body": {"name": "sneaky"}}, "capture_start", {"name": "sneaky"}),
        ("capture stop", "DELETE", "/v1/capture", {}, "capture_stop", {}),
    ]
    reads = [
        ("health", "GET", "/v1/health", {}, 200, None),
        ("review", "POST", "/v1/program/review", {"body": PROGRAM}, 200, None),
        ("review, not JSON", "POST", "/v1/program/review", {"raw": b"{", "headers": JSON}, 400, "bad_json"),
        ("bolus review", "POST", "/v1/bolus/review", {"body": BOLUS}, 200, None),
        ("refill review", "POST", "/v1/refill/review", {"body": REFILL}, 200, None),
        ("drug library", "GET", "/v1/drugs", {}, 200, None),
        ("not the audit trail's backup (every patient's name)", "GET", "/v1/audit/backup", {}, 403, "forbidden"),
    ]
    answers = as_nobody(sock, [(m, p, kw) for _, m, p, kw, _, _ in writes] + [(m, p, kw) for _, m, p, kw, _, _ in reads])
    if isinstance(answers, str):
        c.report(False, "requests as uid 65534", answers)
        return
    for (what, method, path, kw, kind, request), a in zip(writes, answers):
        label = f"{method} {path} -> non-clinician: {what}"
        problems = c.conforms(method, path, a) + c.expectations(a, 403, code="forbidden")
        cid = a.error().get("command_id")
        if not cid:
            problems.append("no command_id: the refusal was not audited")
        if problems:
            c.report(False, label, "; ".join(problems))
            continue
        c.report(True, label, f"403 forbidden, audited as {cid}")

        sent = json.dumps(kw["body"]).encode() if "body" in kw else kw.get("raw", b"")

        def audited(a, kind=kind, request=request, sent=sent):
            cmd = a.command()
            p = []
            if cmd.get("kind") != kind:
                p.append(f"kind {cmd.get('kind')!r}, expected {kind!r}")
            if cmd.get("requested_by", {}).get("uid") != NOBODY:
                p.append(f"requested_by {cmd.get('requested_by')}")
            if cmd.get("frames") or cmd.get("device_status") is not None:
                p.append("it reached the pump")
            if (cmd.get("outcome") or {}).get("error", {}).get("code") != "forbidden":
                p.append(f"outcome {cmd.get('outcome')}")
            # What was sent is kept unparsed: an excerpt, its size and hash (RefusedBody).
            kept = (cmd.get("request") or {}).get("refused_body") or {}
            if request is not None:
                expected = {"excerpt": sent[:1024].decode(), "encoding": "utf8", "bytes_read": len(sent), "complete": True,
                            "sha256": hashlib.sha256(sent).hexdigest()}
                if kept != expected:
                    p.append(f"request {str(cmd.get('request'))[:100]!r}, expected refused_body {str(expected)[:100]!r}")
            elif not (kept.get("bytes_read", 0) <= 65536 and kept.get("complete") is False):
                p.append(f"request {str(cmd.get('request'))[:100]!r}: a body over 64 KiB is kept cut, not whole")
            return p

        c.check(f"the audited refusal ({what})", "GET", f"/v1/commands/{cid}", 200, state="failed", extra=audited)
    for (what, method, path, _, status, code), a in zip(reads, answers[len(writes):]):
        problems = c.conforms(method, path, a) + c.expectations(a, status, code=code)
        c.report(not problems, f"{method} {path} -> non-clinician may read: {what}", "; ".join(problems) or f"{a.status}")


# --------------------------------------------------------------- dose safety

LIBRARY_FILE = os.path.join(HERE, "..", "..", "spec", "drug-library.json")


def rules(review, severity):
    return {f["rule"] for f in review.get("findings", []) if f["severity"] == severity}


def judged(verdict, hard=(), soft=(), info=(), of=lambda a: a.json()):
    """An `extra` for check(): the review (the answer, or `of` it) has this
    verdict and exactly these rules, per severity."""
    def extra(a):
        r = of(a)
        p = []
        if r["verdict"] != verdict:
            p.append(f"verdict {r['verdict']!r}, expected {verdict!r}")
        for sev, want in (("hard", hard), ("soft", soft), ("info", info)):
            if rules(r, sev) != set(want):
                p.append(f"{sev} findings {sorted(rules(r, sev))}, expected {sorted(want)}")
        return p
    return extra


def in_review(a):
    return a.json()["review"]


def both(*extras):
    return lambda a: [p for e in extras for p in e(a)]


def doses_agree(review):
    """Every Dose in a review: mg and mcg are its base_value (ng) in those units."""
    from decimal import Decimal
    p = []

    def walk(node, path):
        if isinstance(node, dict):
            if set(node) == {"mg", "mcg", "base_value", "base_unit", "text"}:
                ng = node["base_value"]
                if Decimal(node["mg"]) * 1000000 != ng or Decimal(node["mcg"]) * 1000 != ng:
                    p.append(f"{path}: {node['mg']} mg / {node['mcg']} mcg is not {ng} ng")
                return
            for k, v in node.items():
                walk(v, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")
    walk(review, "review")
    return p


def overridden_with(reason, rule_names):
    def extra(a):
        r = a.json().get("review", a.json())
        p = []
        for f in r["findings"]:
            if f["rule"] in rule_names and (f["overridden"] or {}).get("reason") != reason:
                p.append(f"{f['rule']} overridden {f['overridden']}")
            if f["rule"] not in rule_names and f["overridden"] is not None:
                p.append(f"{f['rule']} overridden without an override")
        return p
    return extra


def note_names(rule_names, reason):
    uid = os.geteuid()

    def extra(a):
        note = a.command().get("note") or ""
        p = [f"the note does not name {r}" for r in rule_names if r not in note]
        if reason not in note:
            p.append("the note does not hold the reason")
        if f"uid {uid}" not in note:
            p.append(f"the note does not name uid {uid}")
        return p or []
    return extra


def program_at(rate, unit="mg/day"):
    return {"mode": "continuous", "steps": [{"start_min": 0, "rate": {"value": rate, "unit": unit}}]}


def override(*limits, reason=REASON):
    return [{"limit": x, "reason": reason} for x in limits]


def drugs_served(a):
    """GET /v1/drugs holds the built-in library (spec/drug-library.json): every drug, limit and source."""
    with open(LIBRARY_FILE) as f:
        lib = json.load(f)
    got = a.json()
    p = []
    if got["name"] != lib["name"] or got["source"] != lib.get("source"):
        p.append(f"name/source {got['name']!r}, {got['source']!r}")
    if set(got["drugs"]) != set(lib["drugs"]):
        p.append(f"drugs {sorted(got['drugs'])}, the file has {sorted(lib['drugs'])}")
        return p
    for drug, want in lib["drugs"].items():
        have = got["drugs"][drug]
        if have["display_unit"] != want["display_unit"]:
            p.append(f"{drug}.display_unit")
        if (have["patient_bolus"] is None) != ("patient_bolus" not in want):
            p.append(f"{drug}.patient_bolus")
        for group, limits in want.items():
            if not isinstance(limits, dict):
                continue
            for name, limit in limits.items():
                served = (have.get(group) or {}).get(name)
                if served is None or served["source"] != limit["source"]:
                    p.append(f"{drug}.{group}.{name} missing or with another source")
                elif isinstance(limit["value"], int) and served["value"] != limit["value"]:
                    p.append(f"{drug}.{group}.{name} is {served['value']}, the file says {limit['value']}")
    morphine = got["drugs"]["morphine"]["daily_dose"]
    if (morphine["soft_max"]["value"]["base_value"], morphine["hard_max"]["value"]["base_value"]) != (20000000, 30000000):
        p.append(f"morphine daily dose {morphine}")
    return p



def captures(c):
    """Recording at run time: start, state, the three conflicts, a bad name, stop; each write audited."""
    S = c.check
    name = "check-" + key()[:8]
    audited = lambda a: [] if a.json().get("command_id") or a.error().get("command_id") else ["not audited (no command_id)"]
    S("capture state, idle", "GET", "/v1/capture", 200, extra=lambda a: [] if a.json() == {"recording": False} else [a.text])
    S("capture stop, none running", "DELETE", "/v1/capture", 409, code="not_capturing", extra=audited)
    S("capture start", "POST", "/v1/capture", 201, body={"name": name}, request_valid=True, extra=audited)
    S("capture state, recording", "GET", "/v1/capture", 200,
      extra=lambda a: [] if a.json()["recording"] and a.json()["path"].endswith(f"/captures/{name}.pcapng") else [a.text])
    S("capture start, one running", "POST", "/v1/capture", 409, body={"name": name + "-b"}, code="capture_running", extra=audited)
    S("fresh status while recording", "GET", "/v1/status?refresh=true", 200)
    S("capture stop", "DELETE", "/v1/capture", 200,
      extra=both(audited, lambda a: [] if a.json()["capture"]["packets"] >= 2 and not a.json()["capture"]["recording"] else [a.text]))
    S("capture start, file exists", "POST", "/v1/capture", 409, body={"name": name}, code="capture_exists", extra=audited)
    S("capture start, name with a slash", "POST", "/v1/capture", 400, body={"name": "../x"}, code="bad_request", field="name",
      request_valid=False)
    S("capture start, unknown field", "POST", "/v1/capture", 400, body={"file": "/etc/x"}, code="unknown_field", request_valid=False)
    S("capture start, default name", "POST", "/v1/capture", 201, raw=b"", extra=audited)
    S("capture stop again", "DELETE", "/v1/capture", 200, body={}, extra=audited)

def users(c):
    """Station accounts: add, list, a taken name, bad names and passwords, a new password, disable."""
    S = c.check
    name = "chk" + key()[:6].lower()
    pw = "correct horse battery"
    listed = lambda a: [] if any(u["name"] == name for u in a.json()["users"]) else [f"{name} not listed"]
    S("users, add a nurse", "POST", "/v1/users", 201, body={"name": name, "role": "nurse", "password": pw}, request_valid=True,
      extra=lambda a: [] if a.json()["user"]["role"] == "nurse" and not a.json()["user"]["disabled"] else [a.text])
    S("users, list", "GET", "/v1/users", 200, extra=listed)
    S("users, the name is taken", "POST", "/v1/users", 409, body={"name": name, "role": "viewer", "password": pw}, code="account_exists")
    S("users, a password too short", "POST", "/v1/users", 400, body={"name": name + "b", "role": "viewer", "password": "short"},
      code="bad_password", field="password")
    S("users, a name with capitals", "POST", "/v1/users", 400, body={"name": "Alice", "role": "viewer", "password": pw},
      code="bad_account", field="name")
    S("users, an unknown role", "POST", "/v1/users", 400, body={"name": name + "c", "role": "admin", "password": pw},
      code="out_of_range", field="role", request_valid=False)
    S("users, a new password", "PUT", f"/v1/users/{name}/password", 200, body={"password": pw + "!"}, request_valid=True)
    S("users, a new password for nobody", "PUT", "/v1/users/nobody-here/password", 404, body={"password": pw}, code="unknown_account")
    S("users, disable", "POST", f"/v1/users/{name}/disable", 200, raw=b"",
      extra=lambda a: [] if a.json()["user"]["disabled"] else [a.text])


def backup(c):
    """The audit trail's backup: an SQLite file whose SHA-256 and counts are in the headers."""
    S = c.check

    def whole(a):
        p = []
        if not a.body.startswith(b"SQLite format 3\x00"):
            p.append(f"not an SQLite file: {a.body[:16]!r}")
        if a.headers.get("backup-sha256") != hashlib.sha256(a.body).hexdigest():
            p.append(f"Backup-SHA256 {a.headers.get('backup-sha256')!r} is not the body's")
        if a.headers.get("content-length") != str(len(a.body)):
            p.append(f"Content-Length {a.headers.get('content-length')!r} for {len(a.body)} bytes")
        for name in ("backup-schema", "backup-commands", "backup-events", "backup-patients", "backup-visits"):
            if not re.fullmatch(r"[0-9]+", a.headers.get(name, "")):
                p.append(f"{name} is {a.headers.get(name)!r}")
        if a.body[18:20] != b"\x01\x01":
            p.append("the copy is in WAL mode: it needs a -wal beside it")
        return p

    S("audit backup", "GET", "/v1/audit/backup", 200, extra=whole)


def dose_safety(c, sock):
    """The library's limits through the reviews and the writes. Starts with
    morphine 10 mg/mL and PROGRAM_LOW (1.22 mg/day) active, no increase yet;
    ends the same way, after a refill that cleared the program."""
    S = c.check
    S("drug library", "GET", "/v1/drugs", 200, extra=drugs_served)

    # Program reviews.
    S("program review, acceptable", "POST", "/v1/program/review", 200, body=PROGRAM_LOW, request_valid=True,
      extra=both(judged("acceptable"), lambda a: doses_agree(a.json()),
                 lambda a: [] if a.json()["change"]["direction"] == "none"
                 and a.json()["proposed"]["projection"]["empty_at"] is not None else [f"change {a.json()['change']}"]))
    S("program review, +110 % needs an override", "POST", "/v1/program/review", 200, body=PROGRAM, request_valid=True,
      extra=both(judged("needs_override", soft=["change.max_percent"]),
                 lambda a: [] if a.json()["change"]["direction"] == "increase" and a.json()["change"]["percent"]
                 else [f"change {a.json()['change']}"]))
    four = ["daily_dose.soft_max", "change.max_percent", "change.max_absolute", "reservoir.empty_soon"]
    S("program review, 29 mg/day: four soft limits", "POST", "/v1/program/review", 200, body=program_at("29"),
      request_valid=True, extra=both(judged("needs_override", soft=four), lambda a: doses_agree(a.json())))
    S("program review, 29 mg/day, all four overridden", "POST", "/v1/program/review", 200,
      body=dict(program_at("29"), overrides=override(*four)), request_valid=True,
      extra=both(judged("acceptable", soft=four), overridden_with(REASON, four)))
    S("program review, 29 mg/day, one left", "POST", "/v1/program/review", 200,
      body=dict(program_at("29"), overrides=override(*four[:3])), request_valid=True,
      extra=judged("needs_override", soft=four))
    S("program review, 35 mg/day: over the hard maximum", "POST", "/v1/program/review", 200, body=program_at("35"),
      request_valid=True, extra=judged("refused", hard=["daily_dose.hard_max"], soft=four[1:]))
    big_patient = dict(PROGRAM_LOW, patient_bolus=dict(PROGRAM_LOW["patient_bolus"], dose={"value": "1", "unit": "mg"}))
    S("program review, patient bolus over the library's", "POST", "/v1/program/review", 200, body=big_patient,
      request_valid=True, extra=judged("refused", hard=["patient_bolus.max_dose"]))
    S("program review, an override for a limit not hit", "POST", "/v1/program/review", 400,
      body=dict(PROGRAM_LOW, overrides=override("daily_dose.soft_max")), request_valid=True,
      code="unused_override", field="overrides[0].limit")
    S("program review, an override for a hard limit", "POST", "/v1/program/review", 400,
      body=dict(program_at("35"), overrides=override("daily_dose.hard_max")), request_valid=True,
      code="unused_override", field="overrides[0].limit")
    S("program review, a reason of 9 characters", "POST", "/v1/program/review", 400,
      body=dict(PROGRAM, overrides=override("change.max_percent", reason="too short")), request_valid=False,
      code="out_of_range", field="overrides[0].reason")
    S("program review, a reason of spaces around 5", "POST", "/v1/program/review", 400,
      body=dict(PROGRAM, overrides=override("change.max_percent", reason="    brief    ")),
      code="out_of_range", field="overrides[0].reason")
    S("program review, an override with another field", "POST", "/v1/program/review", 400,
      body=dict(PROGRAM, overrides=[{"limit": "change.max_percent", "reason": REASON, "by": "dr x"}]), request_valid=False,
      code="unknown_field", field="overrides[0].by")
    S("program review, an override without a reason", "POST", "/v1/program/review", 400,
      body=dict(PROGRAM, overrides=[{"limit": "change.max_percent"}]), request_valid=False,
      code="missing_field", field="overrides[0].reason")
    S("program review, 21 overrides", "POST", "/v1/program/review", 400,
      body=dict(PROGRAM, overrides=override(*["change.max_percent"] * 21)), request_valid=False,
      code="out_of_range", field="overrides")
    S("program review, overrides not an array", "POST", "/v1/program/review", 400,
      body=dict(PROGRAM, overrides={"limit": "change.max_percent", "reason": REASON}), request_valid=False,
      code="wrong_type", field="overrides")

    # Program writes: refused 409 until the soft limit is overridden by name.
    k = key()
    S("program +110 % without an override", "PUT", "/v1/program", 409, body=PROGRAM, headers={"Idempotency-Key": k},
      request_valid=True, code="override_required", field="steps", state="failed",
      extra=both(judged("needs_override", soft=["change.max_percent"], of=in_review),
                 lambda a: [] if a.command()["idempotency_key"] is None else ["the refused command holds its key"]))
    p = S("program +110 % with the override (the key the 409 released)", "PUT", "/v1/program", 200,
          body=dict(PROGRAM, overrides=override("change.max_percent")), headers={"Idempotency-Key": k},
          request_valid=True, state="succeeded", replayed=False,
          extra=both(judged("acceptable", soft=["change.max_percent"], of=in_review),
                     overridden_with(REASON, ["change.max_percent"]), note_names(["change.max_percent"], REASON)))
    if p is not None and p.status == 200:
        cid = p.command_id()
        S("the overridden command in the audit trail", "GET", f"/v1/commands/{cid}", 200, state="succeeded",
          extra=both(note_names(["change.max_percent"], REASON),
                     lambda a: [] if a.command()["request"].get("overrides") == override("change.max_percent")
                     else [f"request {a.command()['request']}"]))
        S("program +110 % replayed without the override: the same plan", "PUT", "/v1/program", 200, body=PROGRAM,
          headers={"Idempotency-Key": k}, replayed=True, cid=cid)
        crc = p.command()["outcome"]["program_crc"]
        wait_for(lambda: any(e["name"] == "PROGRAM_COMMITTED" and e["value1"] == crc
                             for e in call(sock, "GET", "/v1/events?since=0&limit=1000").json()["events"]), 10)
    sooner = dict(PROGRAM, steps=[dict(s) for s in PROGRAM["steps"]])
    sooner["steps"][1] = {"start_min": 480, "rate": {"value": "3.2", "unit": "mg/day"}}
    S("program review, a second increase within 24 h", "POST", "/v1/program/review", 200, body=sooner,
      request_valid=True, extra=judged("needs_override", soft=["change.min_interval"]))
    S("program, a second increase within 24 h", "PUT", "/v1/program", 409, body=sooner, request_valid=True,
      code="override_required", state="failed",
      extra=lambda a: [] if "change.min_interval" in a.error()["message"] else [f"message {a.error()['message']!r}"])
    S("program, an override for a limit not hit", "PUT", "/v1/program", 400,
      body=dict(PROGRAM, overrides=override("change.min_interval")), request_valid=True,
      code="unused_override", field="overrides[0].limit", state="failed",
      extra=lambda a: [] if a.json()["review"]["kind"] == "program" else ["no review"])
    S("program, over the hard maximum", "PUT", "/v1/program", 400, body=program_at("35"), request_valid=True,
      code="hard_limit", field="steps", state="failed",
      extra=judged("refused", hard=["daily_dose.hard_max"], of=in_review,
                   soft=["change.max_percent", "change.max_absolute", "change.min_interval", "reservoir.empty_soon"]))

    # Bolus reviews and writes (morphine: soft 1 mg, hard 2 mg).
    over_soft = {"dose": {"value": "1.5", "unit": "mg"}, "duration": {"value": "30", "unit": "min"}}
    over_hard = {"dose": {"value": "3", "unit": "mg"}, "duration": {"value": "30", "unit": "min"}}
    S("bolus review, acceptable", "POST", "/v1/bolus/review", 200, body=BOLUS, request_valid=True,
      extra=both(judged("acceptable"), lambda a: doses_agree(a.json()),
                 lambda a: [] if a.json()["dose"]["base_value"] == 100000 and a.json()["volume"]["base_value"] == 10000
                 else [f"dose {a.json()['dose']}, volume {a.json()['volume']}"]))
    S("bolus review, over the soft maximum", "POST", "/v1/bolus/review", 200, body=over_soft, request_valid=True,
      extra=judged("needs_override", soft=["clinician_bolus.soft_max"]))
    S("bolus review, overridden", "POST", "/v1/bolus/review", 200, request_valid=True,
      body=dict(over_soft, overrides=override("clinician_bolus.soft_max")),
      extra=both(judged("acceptable", soft=["clinician_bolus.soft_max"]), overridden_with(REASON, ["clinician_bolus.soft_max"])))
    S("bolus review, over the hard maximum", "POST", "/v1/bolus/review", 200, body=over_hard, request_valid=True,
      extra=judged("refused", hard=["clinician_bolus.hard_max"]))
    S("bolus review, an override for a limit not hit", "POST", "/v1/bolus/review", 400, request_valid=True,
      body=dict(BOLUS, overrides=override("clinician_bolus.soft_max")), code="unused_override", field="overrides[0].limit")
    k = key()
    S("bolus over the soft maximum", "POST", "/v1/bolus", 409, body=over_soft, headers={"Idempotency-Key": k},
      request_valid=True, code="override_required", field="dose", state="failed",
      extra=judged("needs_override", soft=["clinician_bolus.soft_max"], of=in_review))
    S("bolus over the soft maximum, overridden", "POST", "/v1/bolus", 200, headers={"Idempotency-Key": k},
      body=dict(over_soft, overrides=override("clinician_bolus.soft_max")), request_valid=True, state="succeeded",
      extra=both(judged("acceptable", soft=["clinician_bolus.soft_max"], of=in_review),
                 note_names(["clinician_bolus.soft_max"], REASON)))
    S("cancel the overridden bolus", "DELETE", "/v1/bolus", 200)
    S("bolus with an override for a limit not hit", "POST", "/v1/bolus", 400, request_valid=True,
      body=dict(BOLUS, overrides=override("clinician_bolus.soft_max")), code="unused_override",
      field="overrides[0].limit", state="failed", extra=judged("acceptable", of=in_review))
    S("bolus over the hard maximum", "POST", "/v1/bolus", 400, body=over_hard, request_valid=True,
      code="hard_limit", field="dose", state="failed", extra=judged("refused", hard=["clinician_bolus.hard_max"], of=in_review))
    S("bolus over the hard maximum, \"overridden\"", "POST", "/v1/bolus", 400, request_valid=True,
      body=dict(over_hard, overrides=override("clinician_bolus.hard_max")), code="unused_override",
      field="overrides[0].limit", state="failed")

    # Refill reviews and writes (morphine 0.5…25 mg/mL; the pump holds 10 mg/mL and a program).
    stronger = dict(REFILL, concentration={"value": "20", "unit": "mg/mL"})
    S("refill review, the same drug and concentration", "POST", "/v1/refill/review", 200, body=REFILL, request_valid=True,
      extra=both(judged("acceptable", info=["refill.not_reconciled"]), lambda a: [] if a.json()["proposed"]["program_kept"] else ["program not kept"]))
    S("refill review, another concentration", "POST", "/v1/refill/review", 200, body=stronger, request_valid=True,
      extra=both(judged("needs_override", soft=["refill.concentration_change"], info=["refill.clears_program", "refill.not_reconciled"]),
                 lambda a: [] if not a.json()["proposed"]["program_kept"] else ["program kept"]))
    S("refill review, over the library's concentration", "POST", "/v1/refill/review", 200, request_valid=True,
      body=dict(REFILL, concentration={"value": "30", "unit": "mg/mL"}),
      extra=judged("refused", hard=["concentration.range"], soft=["refill.concentration_change"], info=["refill.clears_program", "refill.not_reconciled"]))
    S("refill review, another drug", "POST", "/v1/refill/review", 200, request_valid=True,
      body=dict(REFILL, drug="hydromorphone"), extra=judged("acceptable", info=["refill.clears_program", "refill.not_reconciled"]))
    S("refill review, over the device's concentration", "POST", "/v1/refill/review", 400, request_valid=None,
      body=dict(REFILL, concentration={"value": "60", "unit": "mg/mL"}), code="device_limit")
    S("refill review, an override for a limit not hit", "POST", "/v1/refill/review", 400, request_valid=True,
      body=dict(REFILL, overrides=override("refill.concentration_change")), code="unused_override",
      field="overrides[0].limit")
    S("refill at another concentration", "POST", "/v1/refill", 409, body=stronger, request_valid=True,
      code="override_required", field="concentration", state="failed",
      extra=judged("needs_override", soft=["refill.concentration_change"], info=["refill.clears_program", "refill.not_reconciled"], of=in_review))
    S("refill at another concentration, overridden", "POST", "/v1/refill", 200, request_valid=True,
      body=dict(stronger, overrides=override("refill.concentration_change")), state="succeeded",
      extra=note_names(["refill.concentration_change"], REASON))
    S("the refill cleared the program", "GET", "/v1/program", 200,
      extra=lambda a: [] if a.json()["program"] is None else ["a program is still active"])
    S("refill back to 10 mg/mL, overridden", "POST", "/v1/refill", 200, request_valid=True,
      body=dict(REFILL, overrides=override("refill.concentration_change")), state="succeeded",
      extra=judged("acceptable", soft=["refill.concentration_change"], info=["refill.not_reconciled"], of=in_review))
    S("program review with no program: a start", "POST", "/v1/program/review", 200, body=PROGRAM_LOW,
      extra=both(judged("acceptable"), lambda a: [] if a.json()["current"]["program"] is None
                 and a.json()["change"]["direction"] == "start" else [f"current {a.json()['current']}"]))
    S("program after the refill", "PUT", "/v1/program", 200, body=PROGRAM_LOW, state="succeeded")
    S("a write with nothing to review carries no review", "POST", "/v1/clock/sync", 200,
      extra=lambda a: [] if "review" not in a.json() else [f"review {a.json().get('review')}"])


PATIENT = {
    "name": "Ada Example",
    "identifier": "MRN-0042",
    "implant_date": "2024-03-01",
    "pump_model": "IP-40",
    "catheter": {"prometra_trimmed_length": {"value": "15", "unit": "cm"}},
}
ACK = {"acknowledge": {"reason": "left suspended on purpose: the drug is restarted at tomorrow's visit"}}


def located(prefix, key):
    """An `extra`: Location names the new record (`prefix` + its id under `key`)."""
    def extra(a):
        want = prefix + str(a.json()[key]["id"])
        return [] if a.headers.get("location") == want else [f"Location {a.headers.get('location')!r}, expected {want!r}"]
    return extra


def condition_codes(conditions):
    return sorted(x["code"] for x in conditions)


def visits(c, sock, control):
    """Patients and visits: the records and their refusals, a visit from
    start to report, the wrong-patient guard, the end that needs an
    acknowledgement, the post-MRI check, and a viewer's 403."""
    S = c.check
    implant = (call(sock, "GET", "/v1/device").json().get("implant") or {}).get("serial")
    if not c.report(bool(implant), "an implant in session for the visits", f"implant {implant!r}"):
        return
    mine = dict(PATIENT, implant_serial=implant)
    S("no patients yet", "GET", "/v1/patients", 200, extra=lambda a: [] if a.json()["patients"] == [] else ["records already"])

    # A record refused: nothing added.
    cath = lambda **k: dict(mine, catheter=k)
    bad_patients = [
        ("name missing", {k: v for k, v in mine.items() if k != "name"}, "missing_field", "name", False),
        ("implant_serial missing", {k: v for k, v in mine.items() if k != "implant_serial"}, "missing_field", "implant_serial", False),
        ("name only spaces", dict(mine, name="   "), "out_of_range", "name", None),
        ("name a number", dict(mine, name=5), "wrong_type", "name", False),
        ("implant_serial of 13", dict(mine, implant_serial="IP40-00000007"), "out_of_range", "implant_serial", False),
        ("implant_date 2024-13-01", dict(mine, implant_date="2024-13-01"), "out_of_range", "implant_date", False),
        ("pump_model with a tab", dict(mine, pump_model="IP\t40"), "out_of_range", "pump_model", False),
        ("unknown field", dict(mine, ward="B"), "unknown_field", "ward", False),
        ("catheter length in mL", cath(prometra_trimmed_length={"value": "15", "unit": "mL"}), "wrong_unit",
         "catheter.prometra_trimmed_length.unit", False),
        ("catheter volume per length in mL", cath(implanted_length={"value": "95", "unit": "cm"},
                                                  volume_per_length={"value": "0.0026", "unit": "mL"}),
         "wrong_unit", "catheter.volume_per_length.unit", False),
        ("catheter volume per length per hour", cath(implanted_length={"value": "95", "unit": "cm"},
                                                     volume_per_length={"value": "1", "unit": "mg/h"}),
         "wrong_unit", "catheter.volume_per_length.unit", False),
        ("catheter length in inches", cath(prometra_trimmed_length={"value": "6", "unit": "in"}), "unknown_unit",
         "catheter.prometra_trimmed_length.unit", False),
        ("catheter length 0.05 cm", cath(implanted_length={"value": "0.05", "unit": "cm"},
                                         volume_per_length={"value": "2.6", "unit": "uL/cm"}),
         "bad_quantity", "catheter.implanted_length.value", None),
        ("catheter length a bare number", cath(implanted_length=95, volume_per_length={"value": "2.6", "unit": "uL/cm"}),
         "bare_number", "catheter.implanted_length", False),
        ("catheter length alone", cath(implanted_length={"value": "95", "unit": "cm"}), "missing_field", "catheter", False),
        ("catheter empty", cath(), "missing_field", "catheter", False),
        ("Prometra's with a length", cath(prometra_trimmed_length={"value": "15", "unit": "cm"},
                                          implanted_length={"value": "95", "unit": "cm"}),
         "bad_request", "catheter", None),
        ("Prometra's trimmed 110 cm", cath(prometra_trimmed_length={"value": "110", "unit": "cm"}), "out_of_range",
         "catheter.prometra_trimmed_length", None),
        ("catheter 301 cm", cath(implanted_length={"value": "301", "unit": "cm"}, volume_per_length={"value": "2.6", "unit": "uL/cm"}),
         "out_of_range", "catheter.implanted_length", None),
        ("catheter 2 mL/cm", cath(implanted_length={"value": "95", "unit": "cm"}, volume_per_length={"value": "2", "unit": "mL/cm"}),
         "out_of_range", "catheter.volume_per_length", None),
        ("catheter total 11 mL", cath(total_volume={"value": "11", "unit": "mL"}), "out_of_range", "catheter.total_volume", None),
        # The length and volume per cm beside a total are judged too (a length past 2^63 nm once stopped pumpd).
        ("catheter total with a length of 10^17 cm", cath(total_volume={"value": "0.25", "unit": "mL"},
                                                          implanted_length={"value": "999999999999999999", "unit": "cm"}),
         "out_of_range", "catheter.implanted_length", None),
        ("catheter total with 9999999999999 mL/cm", cath(total_volume={"value": "0.25", "unit": "mL"},
                                                         volume_per_length={"value": "9999999999999", "unit": "mL/cm"}),
         "out_of_range", "catheter.volume_per_length", None),
        ("body an array", [mine], "wrong_type", None, False),
    ]
    for what, body, code, field, valid in bad_patients:
        S(f"patient refused: {what}", "POST", "/v1/patients", 400, body=body, code=code, field=field, request_valid=valid)
    S("patient refused: no body", "POST", "/v1/patients", 400, code="bad_json")
    S("patient refused: text/plain", "POST", "/v1/patients", 415, raw=json.dumps(mine).encode(),
      headers={"Content-Type": "text/plain"}, code="unsupported_media_type")
    S("health after the refusals", "GET", "/v1/health", 200)

    # Prometra's catheter: (110 − 15) cm × 0.0026 mL/cm = 0.247 mL.
    a = S("patient for the implant in session", "POST", "/v1/patients", 201, body=mine, request_valid=True,
          extra=both(located("/v1/patients/", "patient"), lambda a: [] if (
              a.json()["patient"]["implant_serial"] == implant
              and a.json()["patient"]["catheter"]["implanted_length"] == {"value": "95", "unit": "cm", "base_value": 950, "base_unit": "mm"}
              and a.json()["patient"]["catheter"]["volume_per_length"]["base_value"] == 2600
              and a.json()["patient"]["catheter"]["volume"]["value"] == "0.247"
              and a.json()["patient"]["catheter"]["total_volume"] is None) else [f"patient {a.json()['patient']}"]))
    if a is None or a.status != 201:
        return
    pid = a.json()["patient"]["id"]
    S("a second record for the same implant", "POST", "/v1/patients", 409, body=dict(mine, identifier="MRN-0043"),
      code="implant_taken", field="implant_serial", request_valid=True)
    # Another patient's pump, its catheter by length and volume per cm: 50 cm × 2.6 uL/cm = 0.13 mL.
    other = {"name": "Bo Other", "identifier": "MRN-0099", "implant_serial": "IP40-OTHER01",
             "catheter": {"implanted_length": {"value": "500", "unit": "mm"}, "volume_per_length": {"value": "2.6", "unit": "uL/cm"}}}
    b = S("patient for another implant", "POST", "/v1/patients", 201, body=other, request_valid=True,
          extra=lambda a: [] if a.json()["patient"]["catheter"]["volume"]["value"] == "0.13"
          and a.json()["patient"]["implant_date"] is None and a.json()["patient"]["pump_model"] is None
          else [f"patient {a.json()['patient']}"])
    oid = b.json()["patient"]["id"] if b is not None and b.status == 201 else "p2"
    S("patients", "GET", "/v1/patients", 200,
      extra=lambda a: [] if [p["id"] for p in a.json()["patients"]] == [pid, oid] else [f"{a.json()['patients']}"])
    S("one patient, no drug history yet", "GET", f"/v1/patients/{pid}", 200,
      extra=lambda a: [] if a.json()["patient"]["drug_history"] == [] else [f"{a.json()['patient']['drug_history']}"])
    S("unknown patient", "GET", "/v1/patients/p999", 404, code="unknown_patient")
    S("change a record", "PUT", f"/v1/patients/{oid}", 200, request_valid=True,
      body={"pump_model": "IP-20", "catheter": {"total_volume": {"value": "0.2", "unit": "mL"}}},
      extra=lambda a: [] if a.json()["patient"]["pump_model"] == "IP-20" and a.json()["patient"]["catheter"]["volume"]["value"] == "0.2"
      and a.json()["patient"]["catheter"]["implanted_length"] is None else [f"{a.json()['patient']}"])
    S("change nothing", "PUT", f"/v1/patients/{oid}", 200, body={}, request_valid=True)
    S("change to an implant another record names", "PUT", f"/v1/patients/{oid}", 409, body={"implant_serial": implant},
      code="implant_taken", field="implant_serial", request_valid=True)
    S("change an unknown record", "PUT", "/v1/patients/p999", 404, body={"name": "X"}, code="unknown_patient", request_valid=True)
    S("change with a bad date", "PUT", f"/v1/patients/{oid}", 400, body={"implant_date": "1.3.2024"}, code="out_of_range",
      field="implant_date", request_valid=False)
    S("change with no body", "PUT", f"/v1/patients/{oid}", 400, code="bad_json")

    # A visit: only for the patient whose pump is under the head.
    S("no visit open", "GET", "/v1/visits", 200, extra=lambda a: [] if a.json() == {"open": None, "visits": []} else [f"{a.json()}"])
    S("visit for another patient's pump", "POST", "/v1/visits", 409, body={"patient": oid}, code="wrong_patient", field="patient",
      request_valid=True, extra=lambda a: [] if implant in a.error()["message"] and pid in a.error()["message"] else [a.error()["message"]])
    S("visit for an unknown patient", "POST", "/v1/visits", 404, body={"patient": "p999"}, code="unknown_patient", field="patient",
      request_valid=True)
    S("visit, patient missing", "POST", "/v1/visits", 400, body={}, code="missing_field", field="patient", request_valid=False)
    S("visit, patient a number", "POST", "/v1/visits", 400, body={"patient": 1}, code="wrong_type", field="patient", request_valid=False)
    S("visit, unknown field", "POST", "/v1/visits", 400, body={"patient": pid, "implant": implant}, code="unknown_field",
      request_valid=False)
    v = S("visit", "POST", "/v1/visits", 201, body={"patient": pid}, request_valid=True,
          extra=both(located("/v1/visits/", "visit"), lambda a: [] if (
              a.json()["visit"]["open"] and a.json()["visit"]["patient_id"] == pid
              and a.json()["visit"]["implant_serial"] == implant and a.json()["patient"]["id"] == pid
              and len(a.json()["visit"]["proposals"]) == len(a.json()["visit"]["start_findings"])
              and a.json()["visit"]["after"] is None and a.json()["visit"]["ended"] is None) else [f"{a.json()['visit']}"]))
    if v is None or v.status != 201:
        return
    vid = v.json()["visit"]["id"]
    for proposal in v.json()["visit"]["proposals"]:
        if proposal["kind"] == "retimed_program":
            S("the re-timed program proposed, reviewed", "POST", proposal["review_path"], 200, body=proposal["program"],
              request_valid=True, extra=lambda a: [] if a.json()["change"]["direction"] == "none" else [f"{a.json()['change']}"])
    S("a second visit while one is open", "POST", "/v1/visits", 409, body={"patient": pid}, code="visit_open", request_valid=True)
    S("visits, one open", "GET", "/v1/visits", 200,
      extra=lambda a: [] if a.json()["open"]["id"] == vid and [x["id"] for x in a.json()["visits"]] == [vid] else [f"{a.json()}"])
    S("visits of the other patient", "GET", f"/v1/visits?patient={oid}&limit=5", 200,
      extra=lambda a: [] if a.json()["visits"] == [] and a.json()["open"]["id"] == vid else [f"{a.json()}"])
    S("visits limit 0", "GET", "/v1/visits?limit=0", 400, code="out_of_range", field="limit")
    S("visits limit +5", "GET", "/v1/visits?limit=%2B5", 400, code="out_of_range", field="limit")
    S("the visit", "GET", f"/v1/visits/{vid}", 200,
      extra=lambda a: [] if [x["kind"] for x in a.json()["commands"]] == ["visit_start"]
      and a.json()["commands"][0]["visit_id"] == vid and "proposals" not in a.json()["visit"] else [f"{a.json()['commands']}"])
    S("unknown visit", "GET", "/v1/visits/v999", 404, code="unknown_visit")
    S("end-check, the pump suspended", "GET", f"/v1/visits/{vid}/end-check", 200,
      extra=lambda a: [] if a.json()["acknowledgement_required"] and "pump_suspended" in condition_codes(a.json()["conditions"])
      else [f"{a.json()}"])
    S("end-check of an unknown visit", "GET", "/v1/visits/v999/end-check", 404, code="unknown_visit")

    # A refill in the visit, with the volume withdrawn first: reconciled against what the pump
    # counts (within the 2 mL tolerance: said; beyond it: a soft finding that needs a reason),
    # and carrying the patient and the visit.
    counted = call(sock, "GET", "/v1/status?refresh=true").json()["reservoir"]["value"]
    withdrawn = dict(REFILL, withdrawn={"value": counted, "unit": "mL"})
    S("refill review with the volume withdrawn", "POST", "/v1/refill/review", 200, body=withdrawn, request_valid=True,
      extra=judged("acceptable", info=["refill.reconciled"]))
    S("refill review, 3.1 mL withdrawn where the pump counts more", "POST", "/v1/refill/review", 200, request_valid=True,
      body=dict(REFILL, withdrawn={"value": "3.1", "unit": "mL"}),
      extra=judged("needs_override", soft=["refill.volume_discrepancy"]))
    r = S("refill with the volume withdrawn", "POST", "/v1/refill", 200, body=withdrawn, headers={"Idempotency-Key": (k := key())},
          request_valid=True, state="succeeded",
          extra=both(judged("acceptable", info=["refill.reconciled"], of=in_review), lambda a: [] if a.command()["patient_id"] == pid
                     and a.command()["visit_id"] == vid and a.command()["request"]["withdrawn"] == withdrawn["withdrawn"]
                     else [f"command {a.command()}"]))
    S("refill replayed with another volume withdrawn", "POST", "/v1/refill", 422, headers={"Idempotency-Key": k},
      body=dict(REFILL, withdrawn={"value": "3", "unit": "mL"}), code="idempotency_key_reused", request_valid=True,
      cid=r.command_id() if r else None)
    S("refill, withdrawn 41 mL", "POST", "/v1/refill", 400, body=dict(REFILL, withdrawn={"value": "41", "unit": "mL"}),
      code="device_limit", field="withdrawn", request_valid=True)
    S("refill, withdrawn in mg", "POST", "/v1/refill", 400, body=dict(REFILL, withdrawn={"value": "3", "unit": "mg"}),
      code="wrong_unit", field="withdrawn.unit", request_valid=False)
    refilled = lambda: [e for e in call(sock, "GET", "/v1/events?since=0&limit=1000").json()["events"] if e["name"] == "REFILLED"]
    wait_for(lambda: refilled()[-1]["patient_id"] == pid, 10)
    S("the refill's event names the patient", "GET", "/v1/events?since=0&limit=1000", 200,
      extra=lambda a: [] if [e for e in a.json()["events"] if e["name"] == "REFILLED"][-1]["patient_id"] == pid
      else [f"{[e for e in a.json()['events'] if e['name'] == 'REFILLED'][-1]}"])
    S("the patient's drug history", "GET", f"/v1/patients/{pid}", 200,
      extra=lambda a: [] if [h["command_id"] for h in a.json()["patient"]["drug_history"]] == [r.command_id()]
      else [f"{a.json()['patient']['drug_history']}"])

    # The wrong-patient guard: no implant in session (telemetry lost before a
    # new session's HELLO) is not the visit's implant; every write refused, nothing sent.
    if control is None:
        c.skip("the wrong-patient guard", "no simulator control socket")
    else:
        sim(control, {"telemetry": False})
        sim(control, {"unplug": 1})
        wait_for(lambda: health(sock)["link"] == "down", 5)
        if not wait_for(lambda: health(sock)["link"] == "up" and call(sock, "GET", "/v1/device").json()["implant"] is None, 30):
            c.report(False, "a session with no implant in range", json.dumps(call(sock, "GET", "/v1/device").json()))
        S("suspend with the visit's implant gone", "POST", "/v1/suspend", 409, code="wrong_patient", state="failed",
          extra=lambda a: [] if a.error().get("command_id") == a.command_id() and not a.command()["frames"]
          and implant in a.error()["message"] else [f"{a.json()}"])
        S("refill with the visit's implant gone", "POST", "/v1/refill", 409, body=REFILL, code="wrong_patient", state="failed")
        S("confirm with no implant in range", "POST", f"/v1/visits/{vid}/confirm", 409, body={"implant_serial": implant},
          code="no_implant", request_valid=True)
        S("end-check with no implant in range", "GET", f"/v1/visits/{vid}/end-check", 200,
          extra=lambda a: [] if condition_codes(a.json()["conditions"]) == ["pump_unchecked"] else [f"{a.json()}"])
        sim(control, {"telemetry": True})
        sim(control, {"unplug": 1})
        wait_for(lambda: health(sock)["link"] == "down", 5)
        if not wait_for(lambda: settled(sock) and (call(sock, "GET", "/v1/device").json()["implant"] or {}).get("serial") == implant, 30):
            c.report(False, "the visit's implant back in session", json.dumps(call(sock, "GET", "/v1/device").json()))
    S("confirm an implant not in session", "POST", f"/v1/visits/{vid}/confirm", 409, body={"implant_serial": "IP40-NOTHERE"},
      code="wrong_patient", field="implant_serial", request_valid=True)
    S("confirm, implant_serial missing", "POST", f"/v1/visits/{vid}/confirm", 400, body={}, code="missing_field",
      field="implant_serial", request_valid=False)
    S("confirm the visit's own implant: nothing to change", "POST", f"/v1/visits/{vid}/confirm", 200, body={"implant_serial": implant},
      request_valid=True, extra=lambda a: [] if a.json()["visit"]["implant_serial"] == implant else [f"{a.json()}"])
    S("confirm an unknown visit", "POST", "/v1/visits/v999/confirm", 404, body={"implant_serial": implant}, code="unknown_visit")

    # The post-MRI check, in the visit: the pump is suspended, so it does not infuse.
    S("MRI check, the pump suspended", "POST", "/v1/mri-check", 200,
      extra=lambda a: [] if not a.json()["mri_check"]["resumed"] and a.json()["mri_check"]["command_id"]
      and command(sock, a.json()["mri_check"]["command_id"])["visit_id"] == vid else [f"{a.json()}"])
    S("MRI check with {}", "POST", "/v1/mri-check", 200, body={}, request_valid=True)
    S("MRI check with a field", "POST", "/v1/mri-check", 400, body={"scan": 1}, code="unknown_field", request_valid=False)

    # The end: not quietly while the pump is suspended.
    S("end, the pump left suspended", "POST", f"/v1/visits/{vid}/end", 409, code="acknowledgement_required", field="acknowledge",
      extra=lambda a: [] if "pump_suspended" in condition_codes(a.json()["conditions"]) else [f"{a.json()}"])
    S("end with {}, the pump left suspended", "POST", f"/v1/visits/{vid}/end", 409, body={}, code="acknowledgement_required",
      request_valid=True)
    S("still open", "GET", "/v1/visits", 200, extra=lambda a: [] if a.json()["open"] is not None else ["the visit ended"])
    S("end, a reason of spaces", "POST", f"/v1/visits/{vid}/end", 400, body={"acknowledge": {"reason": "   "}},
      code="out_of_range", field="acknowledge.reason", request_valid=False)
    S("end, no reason", "POST", f"/v1/visits/{vid}/end", 400, body={"acknowledge": {}}, code="missing_field",
      field="acknowledge.reason", request_valid=False)
    S("end, a reason of 501", "POST", f"/v1/visits/{vid}/end", 400, body={"acknowledge": {"reason": "x" * 501}},
      code="out_of_range", field="acknowledge.reason", request_valid=False)
    S("end acknowledged", "POST", f"/v1/visits/{vid}/end", 200, body=ACK, request_valid=True,
      extra=lambda a: [] if not a.json()["visit"]["open"] and a.json()["visit"]["after"] is not None
      and a.json()["visit"]["acknowledgement"]["reason"] == ACK["acknowledge"]["reason"]
      and "pump_suspended" in condition_codes(a.json()["visit"]["acknowledgement"]["conditions"]) else [f"{a.json()}"])
    S("end again", "POST", f"/v1/visits/{vid}/end", 409, code="visit_ended")
    S("end-check once ended", "GET", f"/v1/visits/{vid}/end-check", 409, code="visit_ended")
    S("confirm once ended", "POST", f"/v1/visits/{vid}/confirm", 409, body={"implant_serial": implant}, code="visit_ended")
    S("end an unknown visit", "POST", "/v1/visits/v999/end", 404, code="unknown_visit")

    # The report, every field against the schema.
    def report_holds(a):
        rep, p = a.json()["report"], []
        kinds = [x["kind"] for x in rep["commands"]]
        if kinds[0] != "visit_start" or kinds[-1] != "visit_end" or "refill" not in kinds or "mri_check" not in kinds:
            p.append(f"commands {kinds}")
        if [x["review"]["kind"] for x in rep["reviews"]] != ["refill"]:
            p.append(f"reviews {rep['reviews']}")
        if rep["patient"]["name"] != PATIENT["name"] or rep["implant"] != {"serial": implant, "model": "IP-40", "implant_date": "2024-03-01"}:
            p.append(f"patient {rep['patient']}, implant {rep['implant']}")
        if rep["after"]["status"]["pump_state"] != "suspended" or rep["visit"]["acknowledgement"] is None:
            p.append(f"after {rep['after']['status']['pump_state']}, acknowledgement {rep['visit']['acknowledgement']}")
        if rep["next_refill_at"] is None or rep["next_refill_at"] != rep["low_reservoir_at"]:
            # 40 mL with a 4 mL alarm: the alarm level comes before 3.0 mL left.
            p.append(f"next refill {rep['next_refill_at']}, low reservoir {rep['low_reservoir_at']}")
        return p
    S("the report", "GET", f"/v1/visits/{vid}/report", 200, extra=report_holds)
    def printable(a):
        p = []
        if not a.headers.get("content-type", "").startswith("text/html"):
            p.append(f"content-type {a.headers.get('content-type')}")
        text = a.body.decode("utf-8", "replace")
        for must in (PATIENT["name"], PATIENT["identifier"], implant, vid):
            if must not in text:
                p.append(f"the printable report lacks {must!r}")
        return p
    S("the report, printable", "GET", f"/v1/visits/{vid}/report", 200, headers={"Accept": "text/html"}, extra=printable)
    S("the report, JSON preferred", "GET", f"/v1/visits/{vid}/report", 200, headers={"Accept": "application/json, text/html"},
      extra=lambda a: [] if a.headers.get("content-type", "").startswith("application/json") else [f"{a.headers.get('content-type')}"])
    S("the report of an unknown visit", "GET", "/v1/visits/v999/report", 404, code="unknown_visit")

    # A second visit, the pump running at its end: it ends without a word.
    v2 = S("a second visit", "POST", "/v1/visits", 201, body={"patient": pid},
           extra=lambda a: [] if a.json()["visit"]["before"]["status"]["pump_state"] == "suspended" else [f"{a.json()['visit']['before']}"])
    if v2 is not None and v2.status == 201:
        vid2 = v2.json()["visit"]["id"]
        S("the same program in the second visit", "PUT", "/v1/program", 200, body=PROGRAM_LOW, request_valid=True, state="succeeded",
          extra=lambda a: [] if a.command()["visit_id"] == vid2 else [f"visit_id {a.command()['visit_id']}"])
        S("resume in the second visit", "POST", "/v1/resume", 200, state="succeeded",
          extra=lambda a: [] if a.command()["visit_id"] == vid2 else [f"visit_id {a.command()['visit_id']}"])
        S("end-check, the pump running", "GET", f"/v1/visits/{vid2}/end-check", 200,
          extra=lambda a: [] if a.json() == {"conditions": [], "acknowledgement_required": False} else [f"{a.json()}"])
        S("end, quietly", "POST", f"/v1/visits/{vid2}/end", 200,
          extra=lambda a: [] if a.json()["visit"]["acknowledgement"] is None
          and a.json()["visit"]["after"]["status"]["pump_state"] == "running" else [f"{a.json()['visit']}"])
        S("the second report", "GET", f"/v1/visits/{vid2}/report", 200,
          extra=lambda a: [] if a.json()["report"]["low_reservoir_at"] and a.json()["report"]["empty_at"]
          and a.json()["report"]["next_refill_at"] <= a.json()["report"]["low_reservoir_at"] else [f"{a.json()['report']}"])
        S("visits, newest first", "GET", "/v1/visits", 200,
          extra=lambda a: [] if a.json()["open"] is None and [x["id"] for x in a.json()["visits"]] == [vid2, vid] else [f"{a.json()}"])
        fhir(c, pid, vid, vid2, implant)

    # After an MRI scan, outside a visit: a motor stall, then the pump resumes once interrogated.
    if control is not None:
        sim(control, {"stall": True})
        S("MRI check, still stalled", "POST", "/v1/mri-check", 200,
          extra=lambda a: [] if a.json()["mri_check"]["stall_active"] and not a.json()["mri_check"]["resumed"]
          and command(sock, a.json()["mri_check"]["command_id"])["visit_id"] is None else [f"{a.json()}"])
        sim(control, {"stall": False})
        call(sock, "POST", "/v1/alarms/motor_stall/ack")
        wait_for(lambda: call(sock, "POST", "/v1/mri-check").json()["mri_check"]["resumed"], 10, step=0.3)
        S("MRI check, resumed", "POST", "/v1/mri-check", 200,
          extra=lambda a: [] if a.json()["mri_check"]["resumed"] and a.json()["mri_check"]["stalled"]
          and a.json()["mri_check"]["evidence"] else [f"{a.json()}"])
    S("the visits' records in the audit trail", "GET", "/v1/audit?limit=200", 200,
      extra=lambda a: [] if {"patient_add", "patient_update", "visit_start", "visit_end", "mri_check"}
      <= {x["kind"] for x in a.json()["commands"]} else [f"{sorted({x['kind'] for x in a.json()['commands']})}"])

    viewer(c, sock, pid, vid)


def fhir(c, pid, vid, vid2, implant):
    """The FHIR export (a Bundle, application/fhir+json) of each visit and of
    the patient over periods, and its refusals. Tests/fhir validates the
    resources themselves with a FHIR library; this checks the contract."""
    S = c.check

    def bundle(a):
        if not a.headers.get("content-type", "").startswith("application/fhir+json"):
            return None, [f"content-type {a.headers.get('content-type')!r}"]
        b = a.json()
        return b, []

    def kinds(b):
        return [e["resource"]["resourceType"] for e in b["entry"]]

    def holds(statements, first_visit=False):
        def extra(a):
            b, p = bundle(a)
            if b is None:
                return p
            k = kinds(b)
            if k[:2] != ["Patient", "Device"] or k.count("Observation") != 3 or k.count("MedicationStatement") != statements:
                p.append(f"resources {k}")
            device = b["entry"][1]["resource"]
            if device.get("serialNumber") != implant or device.get("modelNumber") != "IP-40":
                p.append(f"device {device}")
            if statements and not first_visit:
                ms = [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "MedicationStatement"][-1]
                rate = ms["dosage"][0]["doseAndRate"][0]["rateQuantity"]
                # PROGRAM_LOW: (1.2 × 480 + 1.4 × 840) ÷ 1440 mg/day = 1.216666… mg/day, to the nanogram, written exactly.
                if rate["code"] != "mg/d" or b'"rateQuantity":{"value":1.216666,' not in a.body:
                    p.append(f"rate {rate}")
            return p
        return extra

    S("FHIR: the second visit (a program pushed in it)", "GET", f"/v1/fhir/visits/{vid2}", 200, extra=holds(1))
    S("FHIR: the first visit (a refill, no program change)", "GET", f"/v1/fhir/visits/{vid}", 200, extra=holds(0, first_visit=True))
    S("FHIR: an unknown visit", "GET", "/v1/fhir/visits/v999", 404, code="unknown_visit")
    S("FHIR: the patient, by dates", "GET", f"/v1/fhir/patients/{pid}?from=2000-01-01&to=2100-12-31", 200, extra=holds(1))
    S("FHIR: the patient, by RFC 3339 times", "GET",
      f"/v1/fhir/patients/{pid}?from=2000-01-01T00:00:00%2B01:00&to=2100-01-01T00:00:00.5Z", 200, extra=holds(1))
    S("FHIR: a period before any record", "GET", f"/v1/fhir/patients/{pid}?from=2000-01-01&to=2000-01-02", 200,
      extra=lambda a: [] if kinds(a.json()) == ["Patient", "Device"] else [f"resources {kinds(a.json())}"])
    S("FHIR: from missing", "GET", f"/v1/fhir/patients/{pid}?to=2100-12-31", 400, code="missing_field", field="from")
    S("FHIR: to missing", "GET", f"/v1/fhir/patients/{pid}?from=2000-01-01", 400, code="missing_field", field="to")
    S("FHIR: from not a date", "GET", f"/v1/fhir/patients/{pid}?from=yesterday&to=2100-12-31", 400, code="out_of_range", field="from")
    S("FHIR: 30 February", "GET", f"/v1/fhir/patients/{pid}?from=2026-02-30&to=2100-12-31", 400, code="out_of_range", field="from")
    S("FHIR: a time without its offset", "GET", f"/v1/fhir/patients/{pid}?from=2000-01-01&to=2100-01-01T00:00:00", 400,
      code="out_of_range", field="to")
    S("FHIR: to before from", "GET", f"/v1/fhir/patients/{pid}?from=2026-03-02&to=2026-03-01", 400, code="out_of_range", field="to")
    S("FHIR: an unknown patient", "GET", "/v1/fhir/patients/p999?from=2000-01-01&to=2100-12-31", 404, code="unknown_patient")
    S("FHIR: not a POST", "POST", f"/v1/fhir/visits/{vid}", 405, code="method_not_allowed")


def viewer(c, sock, pid, vid):
    """A viewer (uid 65534) gets 403 on every patient and visit endpoint and
    never sees patient data; the changes it tried are audited."""
    if os.geteuid() != 0:
        c.skip("403 for a viewer on patients and visits (uid 65534)", "run as root to check it")
        return
    tries = [
        ("GET", "/v1/patients", {}, False),
        ("GET", f"/v1/patients/{pid}", {}, False),
        ("POST", "/v1/patients", {"body": dict(PATIENT, implant_serial="IP40-VIEWER")}, True),
        ("PUT", f"/v1/patients/{pid}", {"body": {"name": "Someone Else"}}, True),
        ("GET", "/v1/visits", {}, False),
        ("GET", f"/v1/visits/{vid}", {}, False),
        ("POST", "/v1/visits", {"body": {"patient": pid}}, True),
        ("GET", f"/v1/visits/{vid}/end-check", {}, False),
        ("POST", f"/v1/visits/{vid}/end", {}, True),
        ("GET", f"/v1/visits/{vid}/report", {}, False),
        ("POST", "/v1/mri-check", {}, True),
        ("GET", f"/v1/fhir/visits/{vid}", {}, False),
        ("GET", f"/v1/fhir/patients/{pid}?from=2000-01-01&to=2100-12-31", {}, False),
    ]
    answers = as_nobody(sock, [(m, p, kw) for m, p, kw, _ in tries])
    if isinstance(answers, str):
        c.report(False, "patients and visits as uid 65534", answers)
        return
    for (method, path, kw, audited), a in zip(tries, answers):
        problems = c.conforms(method, path, a) + c.expectations(a, 403, code="forbidden")
        if PATIENT["name"].encode() in a.body or PATIENT["identifier"].encode() in a.body:
            problems.append("the answer holds patient data")
        cid = a.error().get("command_id")
        if audited and not cid:
            problems.append("no command_id: the refused change was not audited")
        if not audited and cid:
            problems.append(f"a refused read recorded as {cid}")
        if audited and cid and not problems:
            cmd = command(sock, cid)
            if cmd["state"] != "failed" or cmd["requested_by"]["uid"] != NOBODY or cmd["requested_by"]["role"] != "viewer":
                problems.append(f"audited as {cmd}")
        c.report(not problems, f"{method} {path} -> viewer", "; ".join(problems) if problems else f"403{' ' + cid if cid else ''}")


def faults(c, sock, control):
    S = c.check
    settle = lambda: wait_for(lambda: settled(sock), 60)

    # The implant out of range: reads and the status check before a write are refused by the device.
    sim(control, {"telemetry": False})
    S("status, implant out of range", "GET", "/v1/status?refresh=true", 422, code="device_refused")
    S("program, implant out of range", "GET", "/v1/program", 422, code="device_refused")
    S("review, implant out of range", "POST", "/v1/program/review", 422, body=PROGRAM, code="device_refused")
    S("suspend, implant out of range", "POST", "/v1/suspend", 422, code="device_refused", state="failed")
    S("program push, implant out of range", "PUT", "/v1/program", 422, body=PROGRAM, code="device_refused", state="failed")
    sim(control, {"telemetry": True})
    settle()

    # A stopping alarm: the device refuses RESUME with PUMP_FAULT.
    sim(control, {"stall": True})
    S("resume with a motor stall", "POST", "/v1/resume", 422, code="device_refused")
    sim(control, {"stall": False})
    call(sock, "POST", "/v1/alarms/motor_stall/ack")

    # The head unplugged: no session.
    sim(control, {"unplug": 6})
    if not wait_for(lambda: health(sock)["link"] == "down", 10):
        c.report(False, "link down when the head is unplugged", json.dumps(health(sock)))
    S("health, link down", "GET", "/v1/health", 200)
    S("device, link down", "GET", "/v1/device", 200)
    S("cached status, link down", "GET", "/v1/status", 200)
    S("fresh status, link down", "GET", "/v1/status?refresh=true", 503, code="device_unavailable")
    S("program, link down", "GET", "/v1/program", 503, code="device_unavailable")
    S("suspend, link down", "POST", "/v1/suspend", 503, code="device_unavailable", state="failed")
    if not settle():
        c.report(False, "link back after the unplug", json.dumps(health(sock)))
    call(sock, "DELETE", "/v1/bolus")

    # Exactly the bolus made uncertain: all four transmissions of START_BOLUS
    # lose their answers (it ran). The status read before it, and the new
    # session that settles it, go through. The link waits at least 250 ms
    # before that session, so the writes right after the 202 meet it unsettled.
    sim(control, {"drop_only": "START_BOLUS"})
    sim(control, {"drop_responses": 4})
    k = key()
    a = S("bolus, every answer lost", "POST", "/v1/bolus", 202, body=BOLUS, headers={"Idempotency-Key": k},
          code="outcome_uncertain", state="uncertain", replayed=False,
          extra=lambda a: [] if a.error().get("command_id") == a.command_id() else ["error.command_id is not the command"])
    if a is not None and a.status == 202:
        cid = a.command_id()
        S("resume while one is uncertain", "POST", "/v1/resume", 409, code="uncertain_command", error_cid=cid, state="failed")
        S("replay while uncertain", "POST", "/v1/bolus", 202, body=BOLUS, headers={"Idempotency-Key": k},
          code="outcome_uncertain", replayed=True, cid=cid, state="uncertain")
        S("health lists it", "GET", "/v1/health", 200,
          extra=lambda h: [] if cid in h.json()["uncertain_commands"] or command(sock, cid)["final"] else ["not listed"])
        wait_for(lambda: command(sock, cid)["final"], 30)
        S("uncertain bolus settled as applied", "GET", f"/v1/commands/{cid}", 200, state="applied",
          extra=lambda a: [] if any(e.get("name") == "BOLUS_STARTED" for e in a.command()["outcome"] or [])
          else [f"outcome {a.command()['outcome']}"])
        S("replay once applied", "POST", "/v1/bolus", 200, body=BOLUS, headers={"Idempotency-Key": k},
          replayed=True, cid=cid, state="applied")
        S("health lists none", "GET", "/v1/health", 200,
          extra=lambda h: [] if not h.json()["uncertain_commands"] else [f"{h.json()['uncertain_commands']}"])
    settle()
    S("cancel the applied bolus", "DELETE", "/v1/bolus", 200)

    # Exactly the bolus lost on the way in: uncertain, then settled as not applied.
    sim(control, {"drop_requests": 4})
    k = key()
    a = S("bolus, every request lost", "POST", "/v1/bolus", 202, body=BOLUS, headers={"Idempotency-Key": k},
          code="outcome_uncertain", state="uncertain")
    if a is not None and a.status == 202:
        cid = a.command_id()
        wait_for(lambda: command(sock, cid)["final"], 30)
        S("lost bolus settled as not applied", "GET", f"/v1/commands/{cid}", 200, state="not_applied",
          extra=lambda a: [] if (a.command()["outcome"] or {}).get("error", {}).get("code") == "not_applied"
          and a.command()["outcome"]["error"].get("command_id") == cid else [f"outcome {a.command()['outcome']}"])
        S("replay once not applied", "POST", "/v1/bolus", 409, body=BOLUS, headers={"Idempotency-Key": k},
          code="not_applied", replayed=True, cid=cid, error_cid=cid, state="not_applied")
        S("same key, other request, once not applied", "POST", "/v1/bolus", 422, headers={"Idempotency-Key": k},
          body={"dose": {"value": "0.2", "unit": "mg"}, "duration": BOLUS["duration"]},
          code="idempotency_key_reused", replayed=False, cid=cid, error_cid=cid)
    sim(control, {"drop_only": ""})
    sim(control, {"drop_requests": 0})
    sim(control, {"drop_responses": 0})
    settle()
    S("bolus once settled, with a new key", "POST", "/v1/bolus", 200, body=BOLUS, headers={"Idempotency-Key": key()},
      state="succeeded")
    S("cancel it", "DELETE", "/v1/bolus", 200)
    S("events after the faults", "GET", "/v1/events?since=0&limit=1000", 200,
      extra=lambda a: [] if sum(e["name"] == "BOLUS_STARTED" and e["details"]["dose"]["base_value"] == 100000
                                for e in a.json()["events"]) >= 1 else ["no BOLUS_STARTED"])
    S("audit after the faults", "GET", "/v1/audit?limit=1000", 200)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("socket", help="pumpd's API socket")
    ap.add_argument("--spec", default=DEFAULT_SPEC)
    ap.add_argument("--sim-control", help="pumpsim's control socket (default: simulator/control.sock beside the API socket)")
    ap.add_argument("--no-faults", action="store_true", help="skip the fault-injection checks")
    args = ap.parse_args()
    spec = Spec(args.spec)
    control = args.sim_control or os.path.join(os.path.dirname(os.path.abspath(args.socket)), "simulator", "control.sock")
    if not os.path.exists(control):
        control = None
    c = Checker(args.socket, spec)
    start = time.monotonic()
    try:
        run(c, args.socket, control, args.no_faults)
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        c.report(False, "the check script itself", repr(e))
    print(f"\n({time.monotonic() - start:.0f} s)")
    print(f"{c.passed} passed, {c.failed} failed, {c.skipped} skipped")
    sys.exit(1 if c.failed else 0)


if __name__ == "__main__":
    main()

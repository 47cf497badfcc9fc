#!/usr/bin/env python3
"""pumpd's API under abuse: schemathesis against the contract, then attacks by hand.

    python3 Tests/reliability/abuse_api.py SOCKET [--pid PID] [--quick]
            [--seed N] [--work-dir DIR] [--spec spec/openapi.yaml]
            [--max-probe-failure-pct P] [--skip-schemathesis] [--skip-hand]
            [--attacks B1,B3,...]

SOCKET is a running pumpd's API socket, on its embedded simulator only (the
schemathesis part sends writes: refills, programs, boluses). The caller must
be a clinician (root by default). scripts/abuse-api starts pumpd in a fresh
temporary directory and runs this; see it for the usual way.

Part A, schemathesis (spec/openapi.yaml): schemathesis speaks HTTP over TCP,
so an in-process forwarder listens on 127.0.0.1 (an ephemeral port) and
passes every byte both ways to the Unix socket. Two runs, both seeded, one
worker, each bounded by a wall-clock timeout:
  A1  every operation but the two NDJSON streams, --checks all, the phases
      and --max-examples below (full: all four phases, 100 examples per
      operation; --quick: examples, fuzzing and stateful, 8 examples);
  A2  the two streams (GET /v1/events/stream, /v1/logs/stream), coverage
      phase, negative mode only (their 200 never ends by contract, so a
      positive case can only time out: only their 4xx and 405 are checked).
The one adjustment to a check (positive_data_acceptance) is written to a
schemathesis.toml in the work dir and explained in POSITIVE_STATUSES below.
From the NDJSON report every case is counted: server errors (5xx),
schema violations (status_code_conformance, content_type_conformance,
response_headers_conformance, response_schema_conformance), every other
check's failures, errors (network, timeouts), and, beyond schemathesis:
each line of GET /v1/logs (NDJSON, which schemathesis cannot validate) is
validated against LogLine, and every schema-valid (positive) case that was
refused is checked to be refused for a reason the schema cannot express
(POSITIVE_REFUSALS). pumpd's own request counter (/metrics) is read before
and after, as a server-side count of the requests and their 5xx.

Part B, by hand. A probe thread calls GET /v1/health every 50 ms on a fresh
connection (timeout 5 s) the whole time and records latency and failures.
Before the attacks the pump is quiesced (a running bolus cancelled, infusion
suspended) so that its event log stays still; then each attack runs, and
after each: pumpd's pid alive, /v1/health answering 200, the probe's
p50/p99/max latency and failures during the attack (and 1 s after it),
pumpd's VmRSS, VmHWM, open fds and CPU seconds before/after (/proc/PID).
  B1 huge bodies: 2 MiB, 64 MiB (full only) to POST /v1/program/review with
     Content-Length (413 expected within 2 s, then a request pipelined on the
     same connection answered: the connection is handled, not smuggled), and
     a chunked body that never ends (sent as fast as it goes, full 10 s /
     quick 3 s); a chunked body that stalls after one chunk.
  B2 slow clients (slowloris): N connections sending a request one byte per
     second (full 200 for 20 s, quick 20 for 5 s).
  B3 N concurrent connections (full 1000, quick 100), all opened at once,
     then each sends GET /v1/status; RLIMIT_NOFILE is raised as needed. The
     connects are non-blocking (Python with a timeout, as curl, Go or Node
     do): one that finds pumpd's listen backlog full fails at once (EAGAIN).
  B3b the same with blocking connects (as pumpctl does): the kernel waits.
  B4 invalid UTF-8 in a JSON body, in the path, in the query, in headers.
  B5 deeply nested JSON: depth 100, 10,000 and 1,000,000 of `[`.
  B6 garbage: not HTTP, bad request lines, oversized and malformed headers,
     framing conflicts.
  B7 a body shorter than its Content-Length, then the client closes (many
     times); the same with a half-close; the same held open.
(--attacks B3,B3b runs only the attacks named.) Nothing may change on the
pump: the pump's event_head (GET
/v1/status?refresh=true) and pumpd's command count (/metrics) are compared
before and after part B.

Exits 1 on any 5xx, any schema violation or other schemathesis failure or
error, any response to a hand attack that breaks the contract, pumpd dying,
a change on the pump, or a probe failure rate above --max-probe-failure-pct
(default 1 %) during any attack; prints one summary table at the end.
Needs schemathesis (Tests/reliability/requirements.txt; it brings PyYAML and
jsonschema_rs, used here too).
"""

import argparse
import base64
import collections
import glob
import json
import os
import random
import re
import resource
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

try:
    import yaml
    import jsonschema_rs
except ImportError as e:  # pragma: no cover
    sys.exit(f"abuse_api: {e}; install its dependencies: python3 -m pip install -r "
             f"{os.path.join(os.path.dirname(os.path.abspath(__file__)), 'requirements.txt')}")

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SPEC = os.path.normpath(os.path.join(HERE, "..", "..", "spec", "openapi.yaml"))
MIB = 1 << 20

# positive_data_acceptance expects a schema-valid request to be answered 2xx,
# 3xx, 401, 403, 404, 409, 429 or 5xx (schemathesis' default). pumpd's contract
# refuses some schema-valid requests on purpose, for reasons a JSON schema
# cannot express: 400 for a quantity that is not a whole number of its base
# unit (`bad_quantity`), a value past a range stated only in prose
# (`out_of_range`), the device's or the drug library's limits (`device_limit`,
# `hard_limit`), an override naming a limit the change does not hit
# (`unused_override`); 422 when the pump refuses (`device_refused`, e.g. resume
# with no program) or when the Idempotency-Key was used for another request
# (`idempotency_key_reused`: schemathesis draws the same keys for different
# requests), and `bad_password` for a password of at most 72 characters but
# more than 72 bytes of UTF-8 (bcrypt's limit, which a schema's maxLength,
# counted in characters, cannot state). So the check runs with 400 and 422 added, and this script checks
# that every such refusal of positive data carries one of these codes and no
# other (a parse-level code such as `bad_json` or `unknown_field` for
# schema-valid data is a disagreement between the schema and pumpd).
POSITIVE_STATUSES = ["2xx", "3xx", "400", "401", "403", "404", "409", "422", "429", "5xx"]
POSITIVE_REFUSALS = {
    400: {"bad_quantity", "out_of_range", "device_limit", "hard_limit", "unused_override", "bad_password"},
    422: {"device_refused", "idempotency_key_reused"},
}
SCHEMA_CHECKS = ("status_code_conformance", "content_type_conformance",
                 "response_headers_conformance", "response_schema_conformance")


# ------------------------------------------------------------------ helpers

def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def ms(x):
    return "-" if x is None else f"{x * 1000:.1f}"


def peer_pid(path):
    """The pid of the process listening on a Unix socket (SO_PEERCRED)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(5)
        s.connect(path)
        pid, _uid, _gid = struct.unpack("3i", s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        return pid
    finally:
        s.close()


def proc_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except OSError:
        return False


def proc_snapshot(pid):
    """VmRSS and VmHWM (kB), open fds, threads and CPU seconds of a process."""
    snap = {"rss_kb": None, "hwm_kb": None, "fds": None, "threads": None, "cpu_s": None}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    snap["rss_kb"] = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    snap["hwm_kb"] = int(line.split()[1])
                elif line.startswith("Threads:"):
                    snap["threads"] = int(line.split()[1])
        snap["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        snap["cpu_s"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        pass
    return snap


def proc_limit_nofile(pid):
    try:
        with open(f"/proc/{pid}/limits") as f:
            for line in f:
                if line.startswith("Max open files"):
                    return line.split()[3]
    except OSError:
        pass
    return "?"


class Resp:
    def __init__(self, status, reason, headers, body, t_first, t_done):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body
        self.t_first, self.t_done = t_first, t_done

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def code(self):
        j = self.json()
        if isinstance(j, dict) and isinstance(j.get("error"), dict):
            return j["error"].get("code")
        return None

    def short(self):
        c = self.code()
        return f"{self.status}" + (f" {c}" if c else ("" if self.body else " (no body)"))


class Conn:
    """A raw HTTP/1.1 client connection to the Unix socket: send bytes, read answers."""

    def __init__(self, path, timeout=10.0, blocking_connect=False):
        # With a timeout, Python's socket is non-blocking underneath, and a
        # Unix-socket connect whose listen backlog is full fails at once with
        # EAGAIN (BlockingIOError), as it does for curl, Go or Node clients.
        # blocking_connect=True connects in blocking mode instead (as pumpctl
        # does), where the kernel waits for room in the backlog.
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(None if blocking_connect else timeout)
        self.s.connect(path)
        self.s.settimeout(timeout)
        self.buf = b""
        self.t0 = time.monotonic()
        self.eof = False

    def send(self, data):
        self.s.sendall(data)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def _more(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        self.s.settimeout(left)
        d = self.s.recv(65536)
        if not d:
            self.eof = True
            raise EOFError("connection closed")
        self.buf += d

    def _need(self, n, deadline):
        while len(self.buf) < n:
            self._more(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _line(self, deadline):
        while b"\r\n" not in self.buf:
            self._more(deadline)
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def response(self, timeout=10.0, head_only=False):
        """The next answer; raises socket.timeout or EOFError (closed before a whole answer)."""
        deadline = time.monotonic() + timeout
        start = time.monotonic()
        while b"\r\n\r\n" not in self.buf:
            self._more(deadline)
        t_first = time.monotonic() - start
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        body = b""
        if head_only:
            pass
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int(self._line(deadline).split(b";")[0] or b"0", 16)
                if size == 0:
                    self._line(deadline)
                    break
                body += self._need(size, deadline)
                self._need(2, deadline)
        elif "content-length" in headers:
            body = self._need(int(headers["content-length"]), deadline)
        elif headers.get("connection", "").lower() == "close":
            try:
                while True:
                    self._more(deadline)
            except EOFError:
                pass
            body, self.buf = self.buf, b""
        return Resp(status, reason, headers, body, t_first, time.monotonic() - start)

    def wait_close(self, timeout):
        """Seconds until the server closes the connection, or None if it did not within timeout."""
        start = time.monotonic()
        deadline = start + timeout
        try:
            while True:
                self._more(deadline)
        except EOFError:
            return time.monotonic() - start
        except (socket.timeout, TimeoutError):
            return None
        except OSError:
            return time.monotonic() - start


def request_bytes(method, path, headers=None, body=None):
    h = {"Host": "pumpd"}
    h.update(headers or {})
    if body is not None and "Content-Length" not in h and "Transfer-Encoding" not in h:
        h["Content-Length"] = str(len(body))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
    return head.encode("latin-1") + (body or b"")


def http(path, method, target, headers=None, body=None, timeout=10.0):
    """One request on a fresh connection; the answer (or raises)."""
    c = Conn(path, timeout)
    try:
        c.send(request_bytes(method, target, dict({"Connection": "close"}, **(headers or {})), body))
        return c.response(timeout)
    finally:
        c.close()


def http_json(path, method, target, body=None, timeout=15.0):
    data = None if body is None else json.dumps(body).encode()
    headers = {} if data is None else {"Content-Type": "application/json"}
    r = http(path, method, target, headers, data, timeout)
    return r.status, r.json()


def metrics(path):
    """pumpd's counters: {(name, labels): value}."""
    r = http(path, "GET", "/metrics", timeout=15)
    out = {}
    for line in r.body.decode("utf-8", "replace").splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)$', line)
        if m:
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def requests_by_status(m):
    c = collections.Counter()
    for (name, labels), v in m.items():
        if name == "pumpd_http_requests_total":
            st = re.search(r'status="(\d+)"', labels)
            if st:
                c[int(st.group(1))] += int(v)
    return c


def commands_total(m):
    return int(sum(v for (name, _), v in m.items() if name == "pumpd_commands_total"))


class Spec:
    def __init__(self, path):
        with open(path) as f:
            self.raw = yaml.safe_load(f)
        comps = self.raw["components"]
        self.error_codes = set(comps["schemas"]["ErrorCode"]["enum"])
        # LogLine and Timestamp have no OpenAPI-only keywords (nullable), so
        # they validate as JSON Schema as they are.
        self.logline = jsonschema_rs.Draft4Validator(
            {"$ref": "#/components/schemas/LogLine", "components": {"schemas": comps["schemas"]}})

    def error_problems(self, resp):
        """Why an error answer is not the contract's Error envelope (application/json)."""
        if not resp.body:
            return ["no body"]
        if not resp.headers.get("content-type", "").startswith("application/json"):
            return [f"Content-Type {resp.headers.get('content-type')!r}"]
        j = resp.json()
        if not isinstance(j, dict) or set(j) - {"error", "command", "review"} or not isinstance(j.get("error"), dict):
            return ["not an error envelope"]
        e = j["error"]
        probs = []
        if e.get("code") not in self.error_codes:
            probs.append(f"code {e.get('code')!r} is not an ErrorCode")
        if not isinstance(e.get("message"), str):
            probs.append("no message")
        extra = set(e) - {"code", "message", "field", "command_id"}
        if extra:
            probs.append(f"unknown fields {sorted(extra)}")
        return probs


# ------------------------------------------------------------------- probe

class Probe(threading.Thread):
    """GET /v1/health every `interval` s on a fresh connection; records every call."""

    def __init__(self, path, interval=0.05, timeout=5.0):
        super().__init__(daemon=True)
        self.path, self.interval, self.timeout = path, interval, timeout
        self.samples = []  # (monotonic start, latency s, ok, why)
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            t = time.monotonic()
            ok, why = False, ""
            try:
                c = Conn(self.path, self.timeout)
                try:
                    c.send(b"GET /v1/health HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
                    r = c.response(self.timeout - (time.monotonic() - t))
                finally:
                    c.close()
                j = r.json()
                ok = r.status == 200 and isinstance(j, dict) and j.get("status") == "ok"
                why = "" if ok else f"HTTP {r.status}"
            except (socket.timeout, TimeoutError):
                why = "timeout"
            except EOFError:
                why = "closed"
            except OSError as e:
                why = type(e).__name__
            lat = time.monotonic() - t
            with self.lock:
                self.samples.append((t, lat, ok, why))
            self.stopping.wait(max(0.0, self.interval - lat))

    def mark(self):
        return time.monotonic()

    def stats(self, t0, t1):
        with self.lock:
            s = [x for x in self.samples if t0 <= x[0] < t1]
        lat = [x[1] for x in s]
        fails = [x for x in s if not x[2]]
        return {"n": len(s), "fail": len(fails), "p50": pct(lat, 50), "p99": pct(lat, 99),
                "max": max(lat) if lat else None,
                "why": dict(collections.Counter(x[3] for x in fails))}


# ------------------------------------------------------- TCP -> Unix forwarder

class Forwarder(threading.Thread):
    """Listens on 127.0.0.1 (ephemeral port) and copies bytes both ways to the Unix socket."""

    def __init__(self, unix_path):
        super().__init__(daemon=True)
        self.unix_path = unix_path
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.unix_failures = 0
        self.bytes_up = 0
        self.bytes_down = 0
        self.lock = threading.Lock()

    def run(self):
        while True:
            try:
                c, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(c,), daemon=True).start()

    def stop(self):
        try:
            self.listener.close()
        except OSError:
            pass

    def pipe(self, src, dst, up):
        n = 0
        try:
            while True:
                d = src.recv(65536)
                if not d:
                    break
                dst.sendall(d)
                n += len(d)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            with self.lock:
                if up:
                    self.bytes_up += n
                else:
                    self.bytes_down += n

    def handle(self, c):
        with self.lock:
            self.connections += 1
        u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            u.connect(self.unix_path)
        except OSError:
            with self.lock:
                self.unix_failures += 1
            c.close()
            u.close()
            return
        t = threading.Thread(target=self.pipe, args=(u, c, False), daemon=True)
        t.start()
        self.pipe(c, u, True)
        t.join()
        c.close()
        u.close()


# ---------------------------------------------------------- part A: schemathesis

def schemathesis_exe():
    exe = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    return exe if os.path.exists(exe) else shutil.which("schemathesis") or "schemathesis"


def st_version():
    try:
        return subprocess.run([schemathesis_exe(), "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"? ({e})"


def run_schemathesis(name, args, spec, base_url, report_dir, config, timeout):
    os.makedirs(report_dir, exist_ok=True)
    cmd = [schemathesis_exe(), "--config-file", config, "run", spec, "--url", base_url,
           "--report", "ndjson,junit", "--report-dir", report_dir, "--no-color",
           "--generation-database", "none", "--workers", "1"] + args
    print(f"  $ {' '.join(cmd)}", flush=True)
    log = os.path.join(report_dir, "schemathesis.log")
    t = time.monotonic()
    timed_out = False
    with open(log, "w") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=report_dir)
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            p.terminate()
            try:
                rc = p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = p.wait()
    elapsed = time.monotonic() - t
    with open(log) as f:
        tail = f.read()[-1200:]
    ndjson = sorted(glob.glob(os.path.join(report_dir, "ndjson-*.ndjson")))
    res = analyse_report(ndjson[-1] if ndjson else None)
    res.update(name=name, rc=rc, elapsed=elapsed, timed_out=timed_out, log=log, log_tail=tail, cmd=cmd)
    return res


def b64(d):
    if not d:
        return b""
    if "$base64" in d:
        return base64.b64decode(d["$base64"])
    return (d.get("string") or "").encode()


def describe(inter, limit=600):
    req, resp = inter.get("request") or {}, inter.get("response") or {}
    hdrs = {k: v for k, v in (req.get("headers") or {}).items() if k.lower() not in ("user-agent", "accept", "accept-encoding", "connection", "x-schemathesis-testcaseid", "content-length")}
    body = b64(req.get("body"))
    s = f"{req.get('method')} {req.get('uri')} headers={hdrs}"
    if body:
        s += f" body={body[:limit]!r}" + ("…" if len(body) > limit else "")
    if resp:
        rb = b64(resp.get("content"))
        s += f"\n      -> {resp.get('status_code')} {rb[:limit]!r}" + ("…" if len(rb) > limit else "")
    return s


def analyse_report(path):
    res = {"cases": 0, "statuses": collections.Counter(), "phases": collections.Counter(),
           "modes": collections.Counter(), "checks": collections.defaultdict(collections.Counter),
           "failures": [], "errors": [], "server_errors": [], "positive_refusals": collections.Counter(),
           "positive_unexpected": [], "loglines": 0, "logline_problems": [], "scenario_status": collections.Counter(),
           "report": path, "engine": None, "st_summary": None}
    if not path:
        return res
    with open(path) as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if "EngineFinished" in ev:
                res["engine"] = ev["EngineFinished"].get("stop_reason")
            if "NonFatalError" in ev or "FatalError" in ev:
                res["errors"].append(json.dumps(ev)[:800])
            if "ScenarioFinished" not in ev:
                continue
            sf = ev["ScenarioFinished"]
            res["scenario_status"][sf.get("status")] += 1
            rec = sf.get("recorder") or {}
            cases = rec.get("cases") or {}
            inters = rec.get("interactions") or {}
            checks = rec.get("checks") or {}
            for cid, c in cases.items():
                res["cases"] += 1
                res["phases"][sf.get("phase")] += 1
                value = c.get("value") or {}
                meta = value.get("meta") or {}
                mode = (meta.get("generation") or {}).get("mode")
                res["modes"][mode] += 1
                inter = inters.get(cid)
                resp = (inter or {}).get("response")
                if not resp:
                    res["statuses"]["no response"] += 1
                    continue
                st = resp.get("status_code")
                res["statuses"][st] += 1
                if st >= 500:
                    res["server_errors"].append(describe(inter))
                rb = b64(resp.get("content"))
                if mode == "positive" and st in POSITIVE_REFUSALS:
                    try:
                        code = json.loads(rb)["error"]["code"]
                    except (ValueError, KeyError, TypeError):
                        code = None
                    res["positive_refusals"][(st, code)] += 1
                    if code not in POSITIVE_REFUSALS[st]:
                        res["positive_unexpected"].append(describe(inter))
                req = inter.get("request") or {}
                if (req.get("method") == "GET" and re.search(r"/v1/logs(\?|$)", req.get("uri", "")) and st == 200):
                    for ln in rb.splitlines():
                        res["loglines"] += 1
                        try:
                            obj = json.loads(ln)
                            errs = list(SPEC.logline.iter_errors(obj))
                        except ValueError as e:
                            errs = [e]
                        if errs:
                            res["logline_problems"].append(f"{ln[:200]!r}: {str(errs[0])[:200]}")
            for cid, lst in checks.items():
                for chk in lst:
                    res["checks"][chk["name"]][chk["status"]] += 1
                    if chk["status"] == "failure":
                        fi = ((chk.get("failure_info") or {}).get("failure") or {})
                        inter = inters.get(cid) or {}
                        res["failures"].append({"check": chk["name"], "title": fi.get("title"), "message": (fi.get("message") or "")[:500],
                                                "case": describe(inter)})
            if sf.get("status") == "error":
                res["errors"].append(f"{rec.get('label')} ({sf.get('phase')}): scenario error")
    return res


def print_st(res):
    print(f"  {res['name']}: {res['cases']} cases in {res['elapsed']:.1f} s, exit {res['rc']}"
          f"{' (TIMED OUT)' if res['timed_out'] else ''}, engine stop: {res['engine']}")
    print(f"    phases: {dict(res['phases'])}; modes: {dict(res['modes'])}")
    print(f"    statuses: {dict(sorted(res['statuses'].items(), key=lambda kv: str(kv[0])))}")
    print(f"    scenarios: {dict(res['scenario_status'])}")
    print("    checks (success/failure/skip per check):")
    for name in sorted(res["checks"]):
        c = res["checks"][name]
        print(f"      {name:32} {c.get('success', 0):6} / {c.get('failure', 0):3} / {c.get('skip', 0):4}")
    if res["positive_refusals"]:
        print("    schema-valid cases refused (status, code): " +
              ", ".join(f"{k[0]} {k[1]}: {v}" for k, v in sorted(res["positive_refusals"].items(), key=str)))
    if res["loglines"]:
        print(f"    GET /v1/logs NDJSON lines validated against LogLine: {res['loglines']}, problems {len(res['logline_problems'])}")
    for f in res["failures"][:30]:
        print(f"    FAIL {f['check']}: {f['title']}: {f['message'].splitlines()[0] if f['message'] else ''}\n      {f['case']}")
    for s in res["server_errors"][:20]:
        print(f"    5xx: {s}")
    for s in res["positive_unexpected"][:20]:
        print(f"    SCHEMA-VALID DATA REFUSED with an unexpected code: {s}")
    for s in res["logline_problems"][:10]:
        print(f"    LogLine violation: {s}")
    for s in res["errors"][:10]:
        print(f"    ERROR: {s}")
    if res["rc"] not in (0, None) or res["timed_out"]:
        print("    schemathesis output (tail):\n      " + res["log_tail"].replace("\n", "\n      "))


def part_a(args, sock, work):
    print("\n== Part A: schemathesis against spec/openapi.yaml", flush=True)
    ver = st_version()
    print(f"  {ver}")
    fwd = Forwarder(sock)
    fwd.start()
    base = f"http://127.0.0.1:{fwd.port}"
    print(f"  forwarder: {base} -> {sock}")
    config = os.path.join(work, "schemathesis.toml")
    with open(config, "w") as f:
        f.write("# Written by Tests/reliability/abuse_api.py: see POSITIVE_STATUSES there.\n"
                "[checks.positive_data_acceptance]\n"
                f"expected-statuses = {json.dumps(POSITIVE_STATUSES)}\n")
    m0 = metrics(sock)
    t = time.monotonic()
    if args.quick:
        a1 = ["--phases", "examples,fuzzing,stateful", "--max-examples", str(args.st_examples or 8)]
        budget = args.st_timeout or 150
    else:
        a1 = ["--phases", "examples,coverage,fuzzing,stateful", "--max-examples", str(args.st_examples or 100)]
        budget = args.st_timeout or 900
    common = ["--checks", "all", "--seed", str(args.seed), "--request-timeout", "10"]
    runs = [run_schemathesis("A1 operations (streams excluded)", common + a1 + ["--exclude-path-regex", "/stream$"],
                             args.spec, base, os.path.join(work, "st-a1"), config, budget)]
    print_st(runs[-1])
    runs.append(run_schemathesis("A2 streams (coverage, negative)", common + ["--phases", "coverage", "--mode", "negative",
                                 "--include-path-regex", "/stream$", "--max-examples", "1"],
                                 args.spec, base, os.path.join(work, "st-a2"), config, 120))
    print_st(runs[-1])
    fwd.stop()
    m1 = metrics(sock)
    seen = requests_by_status(m1)
    seen.subtract(requests_by_status(m0))
    server_seen = sum(v for v in seen.values() if v > 0)
    server_5xx = sum(v for k, v in seen.items() if k >= 500 and v > 0)
    print(f"  pumpd's /metrics over part A: {server_seen} requests answered, 5xx {server_5xx}; "
          f"by status {dict(sorted((k, v) for k, v in seen.items() if v))}")
    print(f"  forwarder: {fwd.connections} TCP connections, {fwd.unix_failures} failed to reach the socket, "
          f"{fwd.bytes_up} bytes up, {fwd.bytes_down} down")
    summary = {
        "version": ver, "cases": sum(r["cases"] for r in runs), "elapsed": time.monotonic() - t,
        "server_errors": sum(len(r["server_errors"]) for r in runs) + server_5xx,
        "schema_failures": sum(r["checks"][c].get("failure", 0) for r in runs for c in SCHEMA_CHECKS),
        "other_failures": sum(v.get("failure", 0) for r in runs for n, v in r["checks"].items() if n not in SCHEMA_CHECKS),
        "errors": sum(len(r["errors"]) for r in runs) + fwd.unix_failures,
        "positive_unexpected": sum(len(r["positive_unexpected"]) for r in runs),
        "logline_problems": sum(len(r["logline_problems"]) for r in runs),
        "bad_runs": [r["name"] for r in runs if r["timed_out"] or r["rc"] not in (0,)],
        "runs": runs, "server_seen": server_seen, "server_5xx": server_5xx,
    }
    return summary


# ------------------------------------------------------------ part B: by hand

class Attack:
    def __init__(self, name):
        self.name = name
        self.lines = []
        self.violations = []   # responses that break the contract / expectations
        self.server_errors = []
        self.notes = []

    def say(self, s):
        self.lines.append(s)
        print(f"    {s}", flush=True)

    def expect(self, ok, what):
        if not ok:
            self.violations.append(what)
            self.say(f"VIOLATION: {what}")

    def answer(self, label, resp, statuses=None, code=None, envelope=True):
        """Checks one answer: not 5xx, status and code as expected, an Error envelope."""
        if resp is None:
            return
        if resp.status >= 500:
            self.server_errors.append(f"{label}: {resp.short()}")
            self.say(f"SERVER ERROR: {label}: {resp.short()} {resp.body[:200]!r}")
        if statuses is not None and resp.status not in statuses:
            self.expect(False, f"{label}: got {resp.short()}, expected {sorted(statuses)}")
        if code is not None and resp.code() != code and resp.status in (statuses or {resp.status}):
            self.expect(False, f"{label}: code {resp.code()!r}, expected {code!r}")
        if envelope and resp.status >= 400 and resp.body:
            probs = SPEC.error_problems(resp)
            if probs:
                self.expect(False, f"{label}: {resp.status} answer breaks the Error schema: {probs}")


def exchange(sock, data, timeout=10.0, shutdown=False, then=None):
    """Sends raw bytes on a fresh connection (from a thread, so that an answer
    given before the whole request is read still arrives) and reads one answer.
    Returns (Resp or None, outcome text, Conn); the Conn is closed unless `then`.
    Resp.t_first counts from the first byte sent."""
    c = Conn(sock, timeout)
    sent = {}

    def sender():
        try:
            c.s.sendall(data)
            if shutdown:
                c.s.shutdown(socket.SHUT_WR)
        except OSError as e:
            sent["err"] = type(e).__name__

    start = time.monotonic()
    th = threading.Thread(target=sender, daemon=True)
    th.start()
    try:
        try:
            r = c.response(timeout)
            r.t_first = time.monotonic() - start - (r.t_done - r.t_first)
            note = f" (the send: {sent['err']})" if "err" in sent else ""
            return r, f"{r.short()} in {ms(r.t_first)} ms{note}", c
        except (socket.timeout, TimeoutError):
            return None, f"no answer within {timeout:.0f} s" + (f" (the send: {sent['err']})" if "err" in sent else ""), c
        except EOFError:
            return None, "closed without an answer" + (f" (the send: {sent['err']})" if "err" in sent else ""), c
        except OSError as e:
            return None, f"{type(e).__name__}" + (f" (the send: {sent['err']})" if "err" in sent else ""), c
    finally:
        th.join(1)
        if then is None:
            c.close()


def attack_bodies(a, sock, quick):
    target = "/v1/program/review"
    sizes = [2 * MIB] if quick else [2 * MIB, 64 * MIB]
    for size in sizes:
        c = Conn(sock, 30)
        head = request_bytes("POST", target, {"Content-Type": "application/json", "Content-Length": str(size)})
        start = time.monotonic()
        c.send(head)
        got = {}

        def reader():
            try:
                got["r"] = c.response(30)
                got["t"] = time.monotonic() - start
            except Exception as e:  # noqa: BLE001 - recorded
                got["e"] = f"{type(e).__name__}: {e}"
        th = threading.Thread(target=reader)
        th.start()
        sent, blk, err = 0, b" " * 65536, None
        try:
            while sent < size:
                n = min(len(blk), size - sent)
                c.send(blk[:n])
                sent += n
        except OSError as e:
            err = type(e).__name__
        t_sent = time.monotonic() - start
        th.join(30)
        r = got.get("r")
        a.say(f"{size // MIB} MiB Content-Length body: {r.short() if r else got.get('e')} after "
              f"{ms(got.get('t'))} ms; {sent / MIB:.1f} MiB sent in {t_sent:.2f} s ({err or 'no send error'})")
        a.answer(f"{size // MIB} MiB body", r, {413}, "too_large")
        a.expect(r is not None and got.get("t", 99) < 2.0, f"{size // MIB} MiB body: 413 within 2 s")
        if r is not None and err is None:
            # The connection is handled: the next request on it is answered, not taken from the body.
            try:
                c.send(request_bytes("GET", "/v1/health"))
                r2 = c.response(10)
                a.say(f"  next request on the same connection: {r2.short()}")
                a.expect(r2.status == 200, f"{size // MIB} MiB body: next request on the connection answered 200")
            except (OSError, EOFError) as e:
                a.say(f"  next request on the same connection: closed by pumpd ({type(e).__name__}): handled")
        c.close()

    # A chunked body that never ends: chunks as fast as they go.
    secs = 3 if quick else 10
    c = Conn(sock, 30)
    start = time.monotonic()
    c.send(request_bytes("POST", target, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}))
    got = {}

    def reader2():
        try:
            got["r"] = c.response(secs + 10)
            got["t"] = time.monotonic() - start
        except Exception as e:  # noqa: BLE001
            got["e"] = f"{type(e).__name__}: {e}"
    th = threading.Thread(target=reader2)
    th.start()
    sent, err = 0, None
    chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
    try:
        while time.monotonic() - start < secs:
            c.send(chunk)
            sent += 0x10000
    except OSError as e:
        err = type(e).__name__
    t_sent = time.monotonic() - start
    th.join(secs + 20)
    c.close()
    r = got.get("r")
    a.say(f"endless chunked body for {secs} s: {r.short() if r else got.get('e')} after {ms(got.get('t'))} ms; "
          f"{sent / MIB:.0f} MiB sent in {t_sent:.1f} s; "
          f"{'pumpd kept reading to the end (connection open)' if err is None else 'sending failed: ' + err + ' (pumpd closed it)'}")
    a.answer("endless chunked body", r, {413}, "too_large")
    a.expect(r is not None and got.get("t", 99) < 2.0, "endless chunked body: 413 within 2 s")
    if err is None:
        a.notes.append(f"after its 413, pumpd keeps reading (and discarding) an endless chunked body: {sent / MIB:.0f} MiB in {secs} s")

    # A chunked body that stalls after one chunk.
    hold = 3 if quick else 10
    c = Conn(sock, hold + 5)
    c.send(request_bytes("POST", target, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}) + b"5\r\n[[[[[\r\n")
    try:
        r = c.response(hold)
        a.say(f"chunked body stalled after one chunk: {r.short()} after {ms(r.t_first)} ms")
        a.answer("stalled chunked body", r, {400, 408, 413})
    except (socket.timeout, TimeoutError):
        a.say(f"chunked body stalled after one chunk: no answer and still open after {hold} s (pumpd waits for the body)")
    except EOFError:
        a.say("chunked body stalled after one chunk: closed by pumpd without an answer")
    c.close()


def attack_slowloris(a, sock, n, hold):
    req = b"GET /v1/health HTTP/1.1\r\nHost: pumpd\r\nX-Slow: " + b"a" * 4096
    conns, failed = [], 0
    for _ in range(n):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(sock)
            s.setblocking(False)
            conns.append(s)
        except OSError:
            failed += 1
    a.say(f"{len(conns)} slow connections open ({failed} failed to connect); one byte per second each for {hold} s")
    open_ = {s: 0 for s in conns}
    closed_by_server, answered = 0, collections.Counter()
    start = time.monotonic()
    tick = 0
    while time.monotonic() - start < hold:
        for s in list(open_):
            i = open_[s]
            try:
                s.send(req[i:i + 1])
                open_[s] = i + 1
            except BlockingIOError:
                pass
            except OSError:
                closed_by_server += 1
                del open_[s]
                continue
            try:
                d = s.recv(4096)
                if not d:
                    closed_by_server += 1
                    del open_[s]
                else:
                    m = re.match(rb"HTTP/1\.1 (\d+)", d)
                    answered[m.group(1).decode() if m else "?"] += 1
            except BlockingIOError:
                pass
            except OSError:
                closed_by_server += 1
                open_.pop(s, None)
        tick += 1
        time.sleep(max(0.0, start + tick - time.monotonic()))
    a.say(f"after {time.monotonic() - start:.1f} s: {len(open_)} still open, {closed_by_server} closed by pumpd, "
          f"answers seen {dict(answered)}")
    if open_:
        a.notes.append(f"slowloris: {len(open_)}/{len(conns)} connections sending one byte per second were still open after {hold} s (pumpd did not time them out)")
    for s in conns:
        s.close()


def attack_concurrent(a, sock, n, blocking_connect=False):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 512
    if soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        a.say(f"RLIMIT_NOFILE raised from {soft} to {new} (hard {hard})")
    threading.stack_size(256 * 1024)
    results = [None] * n
    barrier = threading.Barrier(n + 1)
    go = threading.Event()

    def worker(i):
        t = time.monotonic()
        try:
            c = Conn(sock, 60, blocking_connect)
        except OSError as e:
            results[i] = ("connect", type(e).__name__, time.monotonic() - t)
            try:
                barrier.wait(60)
            except threading.BrokenBarrierError:
                pass
            return
        try:
            try:
                barrier.wait(60)
            except threading.BrokenBarrierError:
                pass
            go.wait(60)
            t = time.monotonic()
            c.send(request_bytes("GET", "/v1/status"))
            r = c.response(60)
            results[i] = ("answer", r.status, time.monotonic() - t, r)
        except (socket.timeout, TimeoutError):
            results[i] = ("request", "timeout", time.monotonic() - t)
        except EOFError:
            results[i] = ("request", "closed", time.monotonic() - t)
        except OSError as e:
            results[i] = ("request", type(e).__name__, time.monotonic() - t)
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    start = time.monotonic()
    for t in threads:
        t.start()
    try:
        barrier.wait(90)
    except threading.BrokenBarrierError:
        a.say("not every connection was open within 90 s")
    t_open = time.monotonic() - start
    open_now = sum(1 for r in results if r is None)
    a.say(f"{open_now}/{n} connections open at once after {t_open:.2f} s; every one now sends GET /v1/status")
    go.set()
    t_go = time.monotonic()
    for t in threads:
        t.join(120)
    wall = time.monotonic() - t_go
    threading.stack_size(0)
    ok = [r for r in results if r and r[0] == "answer" and r[1] == 200]
    statuses = collections.Counter(r[1] for r in results if r and r[0] == "answer")
    errors = collections.Counter(f"{r[0]}:{r[1]}" for r in results if r and r[0] != "answer")
    missing = sum(1 for r in results if r is None)
    lat = [r[2] for r in results if r and r[0] == "answer"]
    a.say(f"answers {sum(statuses.values())} {dict(statuses)}, errors {sum(errors.values())} {dict(errors)}, "
          f"unfinished {missing}; all answered in {wall:.2f} s; latency p50 {ms(pct(lat, 50))} ms, "
          f"p99 {ms(pct(lat, 99))} ms, max {ms(max(lat) if lat else None)} ms")
    for r in results:
        if r and r[0] == "answer":
            a.answer("concurrent GET /v1/status", r[3], {200})
    a.expect(len(ok) == n, f"{n} concurrent GET /v1/status: {len(ok)} answered 200")
    a.figures = {"answered": len(ok), "errors": sum(errors.values()) + missing + (sum(statuses.values()) - len(ok))}


def attack_utf8(a, sock):
    J = {"Content-Type": "application/json"}
    cases = [
        # (label, raw request, acceptable statuses, code)
        ("body: invalid UTF-8 in a string", request_bytes("POST", "/v1/program/review", J, b'{"mode": "\xff\xfe"}'), {400}, "bad_json"),
        ("body: invalid UTF-8 outside strings", request_bytes("POST", "/v1/program/review", J, b'{\xc3\x28: 1}'), {400}, "bad_json"),
        ("body: overlong encoding of '/'", request_bytes("POST", "/v1/program/review", J, b'{"mode": "\xc0\xaf"}'), {400}, "bad_json"),
        ("body: UTF-8-encoded surrogate", request_bytes("POST", "/v1/program/review", J, b'{"mode": "\xed\xa0\x80"}'), {400}, "bad_json"),
        ("body: truncated sequence", request_bytes("POST", "/v1/program/review", J, b'{"mode": "\xe2\x82"}'), {400}, "bad_json"),
        ("body: invalid UTF-8 on a write (refill)", request_bytes("POST", "/v1/refill", J, b'{"drug": "\xff\xfe"}'), {400}, "bad_json"),
        ("body: a UTF-16 body", request_bytes("POST", "/v1/program/review", J, '{"mode": "daily"}'.encode("utf-16")), {400}, "bad_json"),
        ("path: raw \\xff\\xfe", b"GET /v1/\xff\xfe HTTP/1.1\r\nHost: pumpd\r\n\r\n", {400, 404}, None),
        ("path: raw invalid UTF-8 command id", b"GET /v1/commands/\xc3\x28 HTTP/1.1\r\nHost: pumpd\r\n\r\n", {400, 404}, None),
        ("path: %ff%fe command id", request_bytes("GET", "/v1/commands/%ff%fe"), {404}, "not_found"),
        ("path: %ff alarm (write)", request_bytes("POST", "/v1/alarms/%ff/ack"), {400}, "unknown_alarm"),
        ("path: %c0%af traversal", request_bytes("GET", "/v1/%c0%af%c0%afmetrics"), {404}, "not_found"),
        ("query: since=%ff", request_bytes("GET", "/v1/events?since=%ff"), {400}, "out_of_range"),
        ("query: raw since=\\xff", b"GET /v1/events?since=\xff HTTP/1.1\r\nHost: pumpd\r\n\r\n", {400}, None),
        ("header: X-Junk \\xff\\xfe", b"GET /v1/health HTTP/1.1\r\nHost: pumpd\r\nX-Junk: \xff\xfe\r\n\r\n", {200, 400}, None),
        ("header: Host \\xff", b"GET /v1/health HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n", {200, 400}, None),
        ("header: Idempotency-Key \\xff\\xfe (clock sync)", b"POST /v1/clock/sync HTTP/1.1\r\nHost: pumpd\r\nIdempotency-Key: \xff\xfe\r\n\r\n", {400}, None),
        ("header: Content-Type application/json\\xff", request_bytes("POST", "/v1/program/review", {"Content-Type": "application/json\xff"}, b'{}'), {400, 415}, None),
        ("header: name \\xff", b"GET /v1/health HTTP/1.1\r\nHost: pumpd\r\n\xff\xfe: x\r\n\r\n", {200, 400}, None),
    ]
    for label, raw, statuses, code in cases:
        r, outcome, _ = exchange(sock, raw, 10)
        a.say(f"{label}: {outcome}")
        a.expect(r is not None, f"{label}: answered")
        a.answer(label, r, statuses, code)


def attack_nested(a, sock):
    J = {"Content-Type": "application/json"}
    bodies = [
        ("[ x100 closed", b"[" * 100 + b"]" * 100, {400}, "bad_json"),
        ("[ x10,000 closed", b"[" * 10000 + b"]" * 10000, {400}, "bad_json"),
        ("[ x1,000,000 (1,000,000 bytes, under 1 MiB, unclosed)", b"[" * 1000000, {400}, "bad_json"),
        ("[ x1,000,000 closed (2 MB: over 1 MiB)", b"[" * 1000000 + b"]" * 1000000, {413}, "too_large"),
        ('{"a": x100,000 closed', b'{"a":' * 100000 + b"1" + b"}" * 100000, {400}, "bad_json"),
        ("[ x10,000 on a write (PUT /v1/program)", None, {400}, "bad_json"),
        ("[ x64 (at the limit)", b"[" * 64 + b"]" * 64, {400}, None),
        ("[ x65 (one past the limit)", b"[" * 65 + b"]" * 65, {400}, "bad_json"),
    ]
    for label, body, statuses, code in bodies:
        if body is None:
            raw = request_bytes("PUT", "/v1/program", J, b"[" * 10000 + b"]" * 10000)
        else:
            raw = request_bytes("POST", "/v1/program/review", J, body)
        r, outcome, _ = exchange(sock, raw, 20)
        a.say(f"{label}: {outcome}")
        a.expect(r is not None, f"{label}: answered")
        a.expect(r is None or r.t_first < 2.0, f"{label}: answered within 2 s")
        a.answer(label, r, statuses, code)


def attack_garbage(a, sock, seed):
    rnd = random.Random(seed)
    tls = bytes.fromhex("16030100a5010000a10303") + bytes(rnd.getrandbits(8) for _ in range(160))
    cases = [
        ("not HTTP: GARBAGE", b"GARBAGE\r\n\r\n"),
        ("HTTP/9.9", b"GET /v1/health HTTP/9.9\r\nHost: pumpd\r\n\r\n"),
        ("HTTP/0.9 request line", b"GET /v1/health\r\n\r\n"),
        ("TLS ClientHello", tls),
        ("SSH banner", b"SSH-2.0-OpenSSH_9.6\r\n"),
        ("4 KiB of random bytes", bytes(rnd.getrandbits(8) for _ in range(4096))),
        ("NUL bytes", b"\x00" * 1024),
        ("empty lines only", b"\r\n" * 100),
        ("method with spaces", b"G E T /v1/health HTTP/1.1\r\nHost: pumpd\r\n\r\n"),
        ("lowercase method", b"get /v1/health HTTP/1.1\r\nHost: pumpd\r\n\r\n"),
        ("unknown method FOO", request_bytes("FOO", "/v1/health")),
        ("absolute-form URI", b"GET http://evil.example/v1/health HTTP/1.1\r\nHost: pumpd\r\n\r\n"),
        ("asterisk-form URI", b"OPTIONS * HTTP/1.1\r\nHost: pumpd\r\n\r\n"),
        ("CONNECT", b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n"),
        ("header without a colon", b"GET /v1/health HTTP/1.1\r\nHost: pumpd\r\nNoColonHere\r\n\r\n"),
        ("NUL in a header", b"GET /v1/health HTTP/1.1\r\nHost: pumpd\r\nX-A: a\x00b\r\n\r\n"),
        ("bare LF line ends", b"GET /v1/health HTTP/1.1\nHost: pumpd\n\n"),
        ("obs-fold header", b"GET /v1/health HTTP/1.1\r\nHost: pumpd\r\nX-A: a\r\n  folded\r\n\r\n"),
        ("64 KiB header value", b"GET /v1/health HTTP/1.1\r\nHost: pumpd\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n"),
        ("1 MiB header value", b"GET /v1/health HTTP/1.1\r\nHost: pumpd\r\nX-Big: " + b"a" * MIB + b"\r\n\r\n"),
        ("10,000 headers", b"GET /v1/health HTTP/1.1\r\nHost: pumpd\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(10000)) + b"\r\n"),
        ("1 MiB URL", b"GET /v1/" + b"a" * MIB + b" HTTP/1.1\r\nHost: pumpd\r\n\r\n"),
        ("negative Content-Length", b"POST /v1/program/review HTTP/1.1\r\nHost: pumpd\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{}"),
        ("Content-Length 2^64", b"POST /v1/program/review HTTP/1.1\r\nHost: pumpd\r\nContent-Type: application/json\r\nContent-Length: 18446744073709551616\r\n\r\n{}"),
        ("two different Content-Lengths", b"POST /v1/program/review HTTP/1.1\r\nHost: pumpd\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}"),
        ("Content-Length and chunked (smuggling)", b"POST /v1/program/review HTTP/1.1\r\nHost: pumpd\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /v1/health HTTP/1.1\r\nHost: pumpd\r\n\r\n"),
        ("bad chunk size", b"POST /v1/program/review HTTP/1.1\r\nHost: pumpd\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"),
        ("Transfer-Encoding: gzip only", b"POST /v1/program/review HTTP/1.1\r\nHost: pumpd\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\n\r\n{}"),
        ("Expect: 100-continue, body never sent", b"POST /v1/program/review HTTP/1.1\r\nHost: pumpd\r\nContent-Type: application/json\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n"),
        ("Upgrade: websocket", b"GET /v1/health HTTP/1.1\r\nHost: pumpd\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"),
        ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        ("100 pipelined GET /v1/health", request_bytes("GET", "/v1/health") * 100),
    ]
    bare = []
    for label, raw in cases:
        r, outcome, c = exchange(sock, raw, 5, then=True)
        extra = ""
        if r is not None and label.startswith("100 pipelined"):
            n = 1
            try:
                while n < 100:
                    c.response(5)
                    n += 1
            except (OSError, EOFError):
                pass
            extra = f"; {n}/100 pipelined answers"
            a.expect(n == 100, f"{label}: all 100 answered")
        elif r is not None and label.startswith("Content-Length and chunked"):
            try:
                r2 = c.response(3)
                extra = f"; then a second answer {r2.short()} (the bytes after the chunked end were taken as a request)"
            except (OSError, EOFError):
                extra = "; no second answer"
        closed = c.wait_close(1) if not c.eof else 0.0
        c.close()
        a.say(f"{label}: {outcome}{extra}; connection {'closed by pumpd' if closed is not None else 'left open (closed by us after 1 s)'}")
        a.answer(label, r, None, None, envelope=False)
        if r is not None and r.status >= 400 and not r.body:
            bare.append(f"{label} ({r.status})")
        elif r is not None and r.status >= 400:
            probs = SPEC.error_problems(r)
            a.expect(not probs, f"{label}: {r.status} answer breaks the Error schema: {probs}")
            if r.status == 413:
                a.notes.append(f"garbage '{label}' (a body of a few bytes) is answered 413 too_large ('larger than 1 MiB')")
    if bare:
        a.notes.append(f"{len(bare)} of {len(cases)} garbage requests were refused by the HTTP layer with no JSON "
                       f"error body (not an operation of the contract): {', '.join(bare)}")


def attack_short_body(a, sock, repeats, hold):
    body = b'{"mode": "daily", "st'
    head = request_bytes("POST", "/v1/program/review", {"Content-Type": "application/json", "Content-Length": "1000"})
    failures = 0
    for _ in range(repeats):
        try:
            c = Conn(sock, 5)
            c.send(head + body)
            c.close()
        except OSError:
            failures += 1
    a.say(f"{repeats}x Content-Length 1000, {len(body)} bytes sent, then closed: {failures} failed to connect or send")
    r, outcome, _ = exchange(sock, head + body, 10, shutdown=True)
    a.say(f"the same, then a half-close (shutdown SHUT_WR): {outcome}")
    a.answer("short body, half-close", r, {400, 408, 413})
    if r is not None and r.status == 413:
        a.notes.append("a body cut short (21 of 1000 bytes, then EOF) is answered 413 too_large ('larger than 1 MiB'), not 400")
    c = Conn(sock, hold + 5)
    c.send(head + body)
    try:
        r = c.response(hold)
        a.say(f"the same, held open: {r.short()} after {ms(r.t_first)} ms")
        a.answer("short body, held open", r, {400, 408, 413})
    except (socket.timeout, TimeoutError):
        a.say(f"the same, held open: no answer after {hold} s, connection still open (pumpd waits for the rest)")
    except EOFError:
        a.say("the same, held open: closed by pumpd without an answer")
    c.close()


def quiesce(sock):
    """Cancels a running bolus and suspends infusion, so that the pump's event log stays still."""
    did = []
    st, s = http_json(sock, "GET", "/v1/status?refresh=true")
    if st != 200:
        return [f"status read failed: {st} {s}"]
    if (s.get("bolus_remaining") or {}).get("base_value"):
        code, _ = http_json(sock, "DELETE", "/v1/bolus")
        did.append(f"cancel bolus: {code}")
    if s.get("pump_state") != "suspended":
        code, _ = http_json(sock, "POST", "/v1/suspend")
        did.append(f"suspend: {code}")
    time.sleep(1.0)
    return did


def event_head(sock):
    st, s = http_json(sock, "GET", "/v1/status?refresh=true")
    return s.get("event_head") if st == 200 and isinstance(s, dict) else None


def health_ok(sock):
    try:
        r = http(sock, "GET", "/v1/health", timeout=10)
        return r.status == 200, r.short()
    except (OSError, EOFError) as e:
        return False, type(e).__name__


def part_b(args, sock, pid):
    print("\n== Part B: attacks by hand (a probe calls GET /v1/health every 50 ms throughout)", flush=True)
    q = args.quick
    print(f"  pumpd pid {pid}, its open-files limit {proc_limit_nofile(pid)}")
    did = quiesce(sock)
    print(f"  quiesce the pump: {', '.join(did) if did else 'nothing to do (suspended, no bolus)'}")
    head0 = event_head(sock)
    cmds0 = commands_total(metrics(sock))
    print(f"  before: event_head {head0}, pumpd commands {cmds0}")

    probe = Probe(sock)
    probe.start()
    rows = []

    def run(name, fn):
        if args.attacks and not any(name.split()[0] == w for w in args.attacks.split(",")):
            return None
        print(f"\n  -- {name}", flush=True)
        a = Attack(name)
        a.figures = {}
        before = proc_snapshot(pid)
        t0 = probe.mark()
        try:
            fn(a)
        except Exception as e:  # noqa: BLE001 - an attack that breaks is a result
            a.expect(False, f"the attack itself failed: {type(e).__name__}: {e}")
        dur = time.monotonic() - t0
        time.sleep(1.0)  # the probe's tail, and time for pumpd to close what was closed
        t1 = probe.mark()
        after = proc_snapshot(pid)
        up = proc_alive(pid)
        hok, hwhat = health_ok(sock) if up else (False, "pumpd is gone")
        stats = probe.stats(t0, t1)
        a.expect(up, "pumpd is alive")
        a.expect(hok, f"GET /v1/health after the attack: {hwhat}")
        rate = 100.0 * stats["fail"] / stats["n"] if stats["n"] else 100.0
        a.expect(rate <= args.max_probe_failure_pct,
                 f"probe failure rate {rate:.1f} % (bound {args.max_probe_failure_pct} %): {stats['why']}")
        print(f"    => {dur:.1f} s; pumpd alive {up}, health {hwhat}; probe n={stats['n']} fail={stats['fail']} "
              f"p50 {ms(stats['p50'])} ms p99 {ms(stats['p99'])} ms max {ms(stats['max'])} ms; "
              f"RSS {before['rss_kb']}->{after['rss_kb']} kB (HWM {after['hwm_kb']} kB), fds {before['fds']}->{after['fds']}, "
              f"threads {before['threads']}->{after['threads']}, pumpd CPU {((after['cpu_s'] or 0) - (before['cpu_s'] or 0)):.2f} s", flush=True)
        for n in a.notes:
            print(f"    note: {n}")
        rows.append({"name": name, "dur": dur, "up": up, "health": hok, "probe": stats, "rate": rate,
                     "before": before, "after": after, "attack": a})
        return a

    # A baseline for the probe, no attack.
    run("B0 baseline (no attack, 3 s)", lambda a: time.sleep(3))
    run("B1 huge bodies" + (" (2 MiB, chunked)" if q else " (2 MiB, 64 MiB, chunked)"), lambda a: attack_bodies(a, sock, q))
    n_slow, hold = (20, 5) if q else (200, 20)
    run(f"B2 slowloris ({n_slow} conns, {hold} s)", lambda a: attack_slowloris(a, sock, n_slow, hold))
    n_conc = 100 if q else 1000
    run(f"B3 {n_conc} concurrent connections", lambda a: attack_concurrent(a, sock, n_conc))
    run(f"B3b {n_conc} concurrent, blocking connect", lambda a: attack_concurrent(a, sock, n_conc, blocking_connect=True))
    run("B4 invalid UTF-8", lambda a: attack_utf8(a, sock))
    run("B5 deeply nested JSON", lambda a: attack_nested(a, sock))
    run("B6 garbage / not HTTP", lambda a: attack_garbage(a, sock, args.seed))
    run("B7 short body, client closes", lambda a: attack_short_body(a, sock, 50 if q else 200, 3 if q else 10))
    probe.stopping.set()
    probe.join(10)

    # The fds a closed attack leaves behind settle within seconds; one more look.
    time.sleep(2)
    final = proc_snapshot(pid)
    head1 = event_head(sock) if proc_alive(pid) else None
    cmds1 = commands_total(metrics(sock)) if proc_alive(pid) else None
    print(f"\n  after: event_head {head1}, pumpd commands {cmds1}; pumpd fds {final['fds']}, RSS {final['rss_kb']} kB")
    pump_same = head0 is not None and head0 == head1 and cmds0 == cmds1
    if not pump_same and head0 is not None and head1 is not None and head1 != head0:
        _, ev = http_json(sock, "GET", f"/v1/events?since={head0}&limit=50")
        for e in (ev or {}).get("events", []):
            print(f"    new event: {e.get('index')} {e.get('name')} origin {e.get('origin')}")
    return {"rows": rows, "head0": head0, "head1": head1, "cmds0": cmds0, "cmds1": cmds1,
            "pump_same": pump_same, "final": final}


# --------------------------------------------------------------------- main

SPEC = None


def main():
    global SPEC
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("socket")
    ap.add_argument("--pid", type=int, help="pumpd's pid (default: the socket's peer, SO_PEERCRED)")
    ap.add_argument("--quick", action="store_true", help="the CI size: ~200 schemathesis cases, smaller attacks")
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--spec", default=DEFAULT_SPEC)
    ap.add_argument("--work-dir", help="schemathesis reports and config (default: a new temporary dir)")
    ap.add_argument("--st-examples", type=int, help="schemathesis --max-examples (default: full 100, quick 8)")
    ap.add_argument("--st-timeout", type=int, help="seconds for the main schemathesis run (default: full 900, quick 150)")
    ap.add_argument("--max-probe-failure-pct", type=float, default=1.0,
                    help="the highest share of failed health probes allowed during an attack (default 1 %%)")
    ap.add_argument("--skip-schemathesis", action="store_true")
    ap.add_argument("--skip-hand", action="store_true")
    ap.add_argument("--attacks", help="only these hand attacks, comma-separated (e.g. B3,B3b; B0 is the baseline)")
    args = ap.parse_args()
    args.spec = os.path.abspath(args.spec)
    SPEC = Spec(args.spec)
    sock = os.path.abspath(args.socket)
    pid = args.pid or peer_pid(sock)
    work = args.work_dir or tempfile.mkdtemp(prefix="abuse-api.")
    os.makedirs(work, exist_ok=True)
    started = time.monotonic()
    print(f"abuse_api: {'quick' if args.quick else 'full'} run, seed {args.seed}, socket {sock}, pumpd pid {pid}, work dir {work}")
    rss0 = proc_snapshot(pid)
    ok, what = health_ok(sock)
    if not ok:
        print(f"abuse_api: pumpd does not answer GET /v1/health ({what})")
        return 1

    a = None if args.skip_schemathesis else part_a(args, sock, work)
    after_a = proc_snapshot(pid)
    a_alive = proc_alive(pid)
    b = None if args.skip_hand or not a_alive else part_b(args, sock, pid)
    total = time.monotonic() - started
    alive = proc_alive(pid)

    # ---------------------------------------------------------- summary
    fails = []
    print("\n== Summary")
    if a:
        print(f"  schemathesis: {a['version']}; {a['cases']} cases in {a['elapsed']:.0f} s "
              f"(pumpd counted {a['server_seen']} requests); server errors (5xx) {a['server_errors']}; "
              f"schema violations {a['schema_failures']}; other check failures {a['other_failures']}; "
              f"errors {a['errors']}; schema-valid data refused with an unexpected code {a['positive_unexpected']}; "
              f"LogLine violations {a['logline_problems']}")
        print(f"  pumpd RSS over part A: {rss0['rss_kb']} -> {after_a['rss_kb']} kB (HWM {after_a['hwm_kb']} kB), "
              f"fds {rss0['fds']} -> {after_a['fds']}")
        for k in ("server_errors", "schema_failures", "other_failures", "errors", "positive_unexpected", "logline_problems"):
            if a[k]:
                fails.append(f"schemathesis: {k} {a[k]}")
        if a["bad_runs"]:
            fails.append(f"schemathesis runs that did not finish cleanly: {a['bad_runs']}")
        if not args.quick and a["cases"] < 1000:
            fails.append(f"schemathesis ran {a['cases']} cases, fewer than 1000")
    if not a_alive:
        fails.append("pumpd died during part A")
    if b:
        hdr = f"  {'attack':44} {'s':>5} {'up':>3} {'hlth':>4} {'probes':>6} {'fail':>4} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>8} {'RSS kB before->after':>21} {'fds':>9} {'viol':>4} {'5xx':>3}"
        print(hdr)
        print("  " + "-" * (len(hdr) - 2))
        for r in b["rows"]:
            p, at = r["probe"], r["attack"]
            print(f"  {r['name'][:44]:44} {r['dur']:5.1f} {'yes' if r['up'] else 'NO':>3} {'ok' if r['health'] else 'NO':>4} "
                  f"{p['n']:6} {p['fail']:4} {ms(p['p50']):>7} {ms(p['p99']):>7} {ms(p['max']):>8} "
                  f"{str(r['before']['rss_kb']) + '->' + str(r['after']['rss_kb']):>21} "
                  f"{str(r['before']['fds']) + '->' + str(r['after']['fds']):>9} {len(at.violations):4} {len(at.server_errors):3}")
            for v in at.violations:
                fails.append(f"{r['name']}: {v}")
            for s in at.server_errors:
                fails.append(f"{r['name']}: 5xx {s}")
        print(f"  the pump: event_head {b['head0']} -> {b['head1']}, pumpd commands {b['cmds0']} -> {b['cmds1']}: "
              f"{'unchanged' if b['pump_same'] else 'CHANGED'}")
        if not b["pump_same"]:
            fails.append(f"the pump changed during part B: event_head {b['head0']} -> {b['head1']}, commands {b['cmds0']} -> {b['cmds1']}")
        notes = [n for r in b["rows"] for n in r["attack"].notes]
        if notes:
            print("  notes (not failures):")
            for n in dict.fromkeys(notes):
                print(f"    - {n}")
    if not alive:
        fails.append("pumpd is not alive at the end")
    print(f"  pumpd RSS at start {rss0['rss_kb']} kB, at end {proc_snapshot(pid)['rss_kb'] if alive else '-'} kB; total time {total:.0f} s")
    if fails:
        print(f"\nFAILED ({len(fails)}):")
        for f in fails:
            print(f"  - {f}")
        return 1
    print("\nPASSED: no 5xx, no schema violation, pumpd up throughout, the pump unchanged by part B, "
          f"probe failures within {args.max_probe_failure_pct} % for every attack")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Fault battery: pumpd + its embedded pumpsim, faults injected through the
simulator's control socket, outcomes counted from the simulator's own state
and event log (not from pumpd's view of them).

    python3 Tests/reliability/fault_battery.py SOCKET [--control PATH]
        [--quick] [--seed N] [--requests N] [--unplug-cycles N] [--midpush N]
        [--pumpd PATH --expiry-dir DIR]

SOCKET is a running pumpd's API socket, started on its embedded simulator in
a fresh data dir (the control socket is DATA_DIR/simulator/control.sock; by
default the socket's own folder is taken as DATA_DIR). The caller must be a
clinician (root). scripts/fault-battery starts pumpd and runs this.

Parts, in order (all seeded by --seed; the timing of a live daemon is not):

1. Requests (10,000; --quick 1,000): a seeded mix of reads (status with
   ?refresh=true, program, device) and writes (program pushes alternating two
   programs with the same average daily dose, bolus and cancel, suspend and
   resume, clock sync, alarm ack), each write with its own Idempotency-Key.
   Before each request, with seeded probabilities: 1 % {"corrupt_next":1},
   1 % {"drop_responses":1}, 0.5 % a noise burst of 1…64 random bytes (half of
   them with a 0x00 in them). A write answered 202 (outcome_uncertain) is
   followed with GET /v1/commands/ID until final; one refused 409
   uncertain_command waits for the named command to settle and is not sent
   again (its key was released). A write that got no HTTP answer at all is
   sent again with the same Idempotency-Key (the client's only safe retry).
2. Unplug cycles (100; --quick 10): {"unplug":0} or {"unplug":1}, then
   /v1/health every 10 ms until the link is up on a new connection
   (/v1/device link.connected_at changed); reconnect time from the unplug
   command to that; then a status read (?refresh=true) must answer 200.
3. Mid-push faults (20 each; --quick 5):
   (a) telemetry lost 0…50 ms after a PUT /v1/program starts (even rounds)
       or within 25 ms of when its review should be over (odd rounds: the
       time of a POST /v1/program/review just before, which grows with
       pumpd's trail), restored when the PUT has been answered;
   (b) session expiry during a push: a second pumpd (--pumpd, in
       --expiry-dir) whose simulator has --session-timeout 1; its
       COMMIT_PROGRAM requests are lost ({"drop_only":"COMMIT_PROGRAM"},
       {"drop_requests":N}, --expiry-drops, default 2: the third
       transmission arrives 1 s after the first (500 ms retransmission
       timer), past the 1 s timeout counted from STAGE_PROGRAM, and is
       answered NO_SESSION; the commit becomes uncertain).
   After each: the device's active program (its CRC, from the simulator's
   state) equals pumpd's GET /v1/program, no command is left unsettled, and a
   program staged and then lost never becomes active by itself (its CRC is
   committed only by a command that pumpd reports as having run).

Checked at the end, per pumpd, from the simulator's event log (read every
--poll-every requests and merged by index, as the log keeps only 4,096
events) and pumpd's audit trail (GET /v1/audit, every page):

- duplicate executions: commands whose attempts (session tag, seq) match more
  than one of their own state-changing events (e.g. two BOLUS_STARTED for one
  bolus), plus device events with a non-zero origin that match no command's
  attempts (a request pumpd sent but owns no command for: a resend, or an
  unaudited write);
- unreconciled: commands not in a final state once the battery waited for
  them to settle;
- missing: writes pumpd answered with a command id that is not in the audit
  trail, plus the same orphan events (a request's effect no command accounts
  for: counted in both, as both definitions include it);
- disagreements: a command's final state against the device:
  succeeded/applied <=> its event exists, failed/not_applied <=> none.

All four must be 0, every mid-push round must pass, every unplug cycle must
reconnect and read, pumpd must never answer 500 nor stop answering; otherwise
the exit status is 1 (2 for bad usage or a pumpd that cannot be reached at
all). Prints one summary table with every figure.

Standard library only.
"""

import argparse
import collections
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pyclient"))
from pumpd_client import NoAnswer, call, control  # noqa: E402

# ------------------------------------------------------------------ bodies

REFILL = {
    "drug": "morphine",
    "concentration": {"value": "10", "unit": "mg/mL"},
    "reservoir": {"value": "40", "unit": "mL"},
    "low_alarm": {"value": "4", "unit": "mL"},
}
# Two programs with the same average daily dose (2.6 mg/day plus patient
# boluses vs 2.6/3 mg/day weekly; CrashTests.programB and Bodies.daily), so
# that alternating between them never needs an override.
PROGRAM_A = {
    "mode": "daily", "utc_offset_min": 60,
    "patient_bolus": {"dose": {"value": "0.1", "unit": "mg"}, "lockout": {"value": "2", "unit": "h"}, "max_per_day": 4},
    "steps": [{"start_min": 0, "rate": {"value": "2.4", "unit": "mg/day"}},
              {"start_min": 480, "rate": {"value": "3", "unit": "mg/day"}}],
}
PROGRAM_B = {
    "mode": "weekly",
    "steps": [{"start_min": 0, "rate": {"value": "2.6", "unit": "mg/day"}},
              {"start_min": 5040, "rate": {"value": "3", "unit": "mg/day"}}],
}
PROGRAMS = {"A": PROGRAM_A, "B": PROGRAM_B}
BOLUS = {"dose": {"value": "0.5", "unit": "mg"}, "duration": {"value": "30", "unit": "min"}}

# The state-changing opcode of each attempt, and the event that says it ran (ICD §8).
PRIMARY_EVENT = {
    "COMMIT_PROGRAM": "PROGRAM_COMMITTED",
    "START_BOLUS": "BOLUS_STARTED",
    "CANCEL_BOLUS": "BOLUS_CANCELLED",
    "SUSPEND": "SUSPENDED",
    "RESUME": "RESUMED",
    "REFILL": "REFILLED",
    "SET_CLOCK": "CLOCK_SET",
    "ACK_ALARM": "ALARM_ACKED",
}
KIND_EVENT = {
    "program": "PROGRAM_COMMITTED", "bolus": "BOLUS_STARTED", "cancel_bolus": "BOLUS_CANCELLED",
    "suspend": "SUSPENDED", "resume": "RESUMED", "refill": "REFILLED", "clock_sync": "CLOCK_SET",
    "alarm_ack": "ALARM_ACKED",
}
FINAL = {"succeeded", "failed", "applied", "not_applied"}


# --------------------------------------------------------------- transport

def sim_state(path):
    return control(path, {"state": True}, timeout=30)["state"]


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def ms(v):
    return "-" if v is None else f"{v * 1000:.0f} ms"


# ------------------------------------------------------------------ target

class Target:
    """One pumpd and its simulator, and everything this run learnt of them."""

    def __init__(self, name, sock, ctl, log):
        self.name = name
        self.sock = sock
        self.ctl = ctl
        self.log = log
        self.events = {}           # index -> event, merged from every state read
        self.event_gaps = []       # (expected index, first index seen): events overwritten unread
        self.answered_ids = set()  # command ids pumpd answered writes with
        self.no_answer = 0         # requests that got no HTTP answer
        self.internal = []         # 500 answers
        self.stuck = []            # commands that did not settle within the wait
        self.problems = []         # anything else that fails the run

    def call(self, method, path, body=None, key=None, timeout=30):
        a = call(self.sock, method, path, body, key, timeout)
        if a.status == 500:
            self.internal.append(f"{method} {path}: {a.body[:300]!r}")
        cid = a.command_id
        if cid and method != "GET":
            self.answered_ids.add(cid)
        return a

    def get_json(self, path):
        a = self.call("GET", path)
        if a.status != 200:
            raise RuntimeError(f"GET {path}: {a.status} {a.body[:200]!r}")
        return a.doc

    def ctl_cmd(self, command):
        return control(self.ctl, command)

    def poll_events(self):
        """Reads the simulator's log and merges it (the log keeps 4,096)."""
        st = sim_state(self.ctl)
        evs = st["implant"]["events"]
        if evs:
            last = max(self.events) if self.events else -1
            first_new = min((e["index"] for e in evs if e["index"] > last), default=None)
            if first_new is not None and first_new != last + 1:
                self.event_gaps.append((last + 1, first_new))
        for e in evs:
            self.events.setdefault(e["index"], e)
        return st

    def wait_settled(self, seconds=60):
        """Until the link is up and no command is uncertain; False on time-out."""
        end = time.monotonic() + seconds
        h = None
        while time.monotonic() < end:
            try:
                h = self.get_json("/v1/health")
                if h["link"] == "up" and not h["uncertain_commands"]:
                    return True
            except (NoAnswer, RuntimeError):
                pass
            time.sleep(0.05)
        self.log(f"[{self.name}] not settled after {seconds} s: {h}")
        return False

    def follow(self, cid, seconds=60):
        """GET /v1/commands/ID until final (as a client follows a 202); its final record or None."""
        end = time.monotonic() + seconds
        c = None
        while time.monotonic() < end:
            try:
                a = self.call("GET", f"/v1/commands/{cid}")
                if a.status == 200:
                    c = a.get("command")
                    if c and c.get("final"):
                        return c
            except NoAnswer:
                pass
            time.sleep(0.05)
        self.stuck.append(f"{cid}: {json.dumps(c)[:400] if c else 'never readable'}")
        return None

    def audit(self):
        """Every command in the trail: (by id, what the documented paging missed).

        The documented walk passes a page's next_before_ms and next_before_id
        back as before_ms and before_id. A second walk overlaps its pages by a
        millisecond (before_ms = next_before_ms + 1, dropping repeats), which
        finds every command whatever the tie order; what the documented walk
        leaves out, or shows twice, is reported."""
        def walk(overlap):
            seen, before, pages = {}, None, 0
            while pages < 10000:
                pages += 1
                q = "/v1/audit?limit=1000"
                if before is not None:
                    q += f"&before_ms={before[0]}" + ("" if overlap else f"&before_id={urllib.parse.quote(before[1])}")
                page = self.get_json(q)
                new = 0
                for c in page["commands"]:
                    if c["id"] not in seen:
                        seen[c["id"]] = c
                        new += 1
                    elif not overlap:
                        self.problems.append(f"GET /v1/audit paging shows {c['id']} twice")
                nb = page["next_before_ms"]
                if nb is None:
                    break
                if overlap and new == 0:
                    # A whole page in one millisecond: step past it.
                    before = (nb, None)
                    continue
                before = (nb + 1, None) if overlap else (nb, page["next_before_id"])
            return seen
        full = walk(True)
        documented = walk(False)
        skipped = sorted(set(full) - set(documented), key=lambda i: int(i[1:]))
        return full, skipped


# ------------------------------------------------------------- the checks

def analyse(t, commands):
    """Duplicates, unreconciled, missing and disagreements from the device's log."""
    by_origin = collections.defaultdict(list)
    for e in t.events.values():
        if e["origin_session"] or e["origin_seq"]:
            by_origin[(e["origin_session"], e["origin_seq"])].append(e)
    owner = {}  # (tag, seq) -> command id
    attempts_twice = []
    for c in commands.values():
        for a in c.get("frames") or []:
            k = (a["session_tag"], a["seq"])
            if k in owner and owner[k] != c["id"]:
                attempts_twice.append(f"{k} is an attempt of both {owner[k]} and {c['id']}")
            owner[k] = c["id"]
    duplicate_cmds, disagreements, unreconciled = [], [], []
    ran = collections.Counter()
    for c in sorted(commands.values(), key=lambda c: int(c["id"][1:])):
        if c["kind"] not in KIND_EVENT:
            continue  # capture_start / capture_stop never go on the wire
        if c["state"] not in FINAL:
            unreconciled.append(f"{c['id']} {c['kind']} {c['state']}")
            continue
        primary = []
        for a in c.get("frames") or []:
            want = PRIMARY_EVENT.get(a["opcode"])
            primary += [e for e in by_origin.get((a["session_tag"], a["seq"]), []) if e["name"] == want]
        if len(primary) > 1:
            duplicate_cmds.append(
                f"{c['id']} {c['kind']} ({c['state']}): {len(primary)} x {primary[0]['name']} at indexes "
                f"{[e['index'] for e in primary]}, attempts {c.get('frames')}")
        if c["state"] in ("succeeded", "applied"):
            ran[c["kind"]] += 1
            if not primary:
                disagreements.append(f"{c['id']} {c['kind']} is {c['state']} but the device logged no {KIND_EVENT[c['kind']]} for its attempts {c.get('frames')}")
        elif primary:
            disagreements.append(f"{c['id']} {c['kind']} is {c['state']} but the device logged {primary[0]['name']} (index {primary[0]['index']}) for it")
    orphans = []
    for k, evs in sorted(by_origin.items(), key=lambda kv: kv[1][0]["index"]):
        if k not in owner:
            orphans += [f"index {e['index']} {e['name']} origin session {k[0]} seq {k[1]}" for e in evs]
    missing_ids = []
    for cid in sorted(t.answered_ids, key=lambda i: int(i[1:]) if i[1:].isdigit() else 0):
        if cid not in commands:
            # Not in the trail's pages: is it there at all?
            a = t.call("GET", f"/v1/commands/{cid}")
            missing_ids.append(f"{cid} (GET /v1/commands/{cid}: {a.status})")
    device = collections.Counter(e["name"] for e in t.events.values())
    return {
        "duplicate_cmds": duplicate_cmds, "orphans": orphans, "unreconciled": unreconciled,
        "missing_ids": missing_ids, "disagreements": disagreements + attempts_twice, "ran": ran, "device": device,
    }


def active_crc(st):
    p = st["implant"]["program"]
    return p["crc"] if p else None


def pumpd_crc(t):
    a = t.call("GET", "/v1/program")
    if a.status != 200:
        return ("error", a.status, a.code)
    p = a.get("program")
    return p["program_crc"] if p else None


# ------------------------------------------------------------------ parts

def preflight(t, log):
    """Refill, a program, running; both programs accepted by the drug library."""
    if not t.wait_settled(60):
        raise RuntimeError(f"[{t.name}] pumpd's link did not come up")
    t.ctl_cmd({"drop_only": ""})
    r = t.call("POST", "/v1/refill", REFILL, key=str(uuid.uuid4()))
    if r.status != 200:
        raise RuntimeError(f"[{t.name}] refill: {r.status} {r.body[:300]!r}")
    for name in ("A", "B", "A"):
        r = t.call("PUT", "/v1/program", PROGRAMS[name], key=str(uuid.uuid4()))
        if r.status != 200:
            raise RuntimeError(f"[{t.name}] program {name} was not accepted (the battery's pushes must pass the drug library): {r.status} {r.body[:600]!r}")
    r = t.call("POST", "/v1/resume", key=str(uuid.uuid4()))
    if r.status != 200:
        raise RuntimeError(f"[{t.name}] resume: {r.status} {r.body[:300]!r}")
    log(f"[{t.name}] preflight: refilled, programs A and B accepted, running")


class Battery:
    READS = [("GET status?refresh", "GET", "/v1/status?refresh=true"),
             ("GET program", "GET", "/v1/program"),
             ("GET device", "GET", "/v1/device")]
    # kind -> weight among writes
    # Program pushes are a fifth of the writes: each write's review costs
    # pumpd time in proportion to the program commands already in its trail
    # (see review_latency), so a larger share makes the run quadratic.
    WRITES = {"program": 2, "bolus": 3, "suspend": 2, "clock_sync": 1, "alarm_ack": 1}

    def __init__(self, t, rng, n, poll_every, log):
        self.t, self.rng, self.n, self.poll_every, self.log = t, rng, n, poll_every, log
        self.by_kind = collections.Counter()      # (label, status/code) -> n
        self.faults = collections.Counter()
        self.settle_waits = []                    # seconds from 202 to final
        self.final_states = collections.Counter()  # of the battery's own writes, as answered/settled
        self.next_program = "B"
        self.bolus_next = True
        self.suspend_next = True
        self.latency = collections.defaultdict(list)   # label -> seconds (first answer)
        self.block_write_latency = collections.defaultdict(list)  # block of 1000 requests -> write seconds

    def fault(self):
        r = self.rng.random()
        if r < 0.01:
            self.t.ctl_cmd({"corrupt_next": 1})
            self.faults["corrupt_next:1"] += 1
        elif r < 0.02:
            self.t.ctl_cmd({"drop_responses": 1})
            self.faults["drop_responses:1"] += 1
        elif r < 0.025:
            n = self.rng.randint(1, 64)
            burst = bytearray(self.rng.getrandbits(8) for _ in range(n))
            if self.rng.random() < 0.5:
                burst[self.rng.randrange(n)] = 0
            if 0 in burst:
                self.faults["noise (with 0x00)"] += 1
            else:
                self.faults["noise (no 0x00)"] += 1
            self.faults["noise bytes"] += n
            self.t.ctl_cmd({"noise": burst.hex()})

    def write(self):
        kinds = list(self.WRITES)
        kind = self.rng.choices(kinds, weights=[self.WRITES[k] for k in kinds])[0]
        if kind == "program":
            name = self.next_program
            return (f"PUT program {name}", "PUT", "/v1/program", PROGRAMS[name], name)
        if kind == "bolus":
            return ("POST bolus", "POST", "/v1/bolus", BOLUS, None) if self.bolus_next else ("DELETE bolus", "DELETE", "/v1/bolus", None, None)
        if kind == "suspend":
            return ("POST suspend", "POST", "/v1/suspend", None, None) if self.suspend_next else ("POST resume", "POST", "/v1/resume", None, None)
        if kind == "clock_sync":
            return ("POST clock/sync", "POST", "/v1/clock/sync", None, None)
        bit = self.rng.randrange(7)
        return ("POST alarms/ack", "POST", f"/v1/alarms/{bit}/ack", None, None)

    def run(self):
        t = self.t
        t0 = time.monotonic()
        for i in range(self.n):
            if i % self.poll_every == 0:
                t.poll_events()
            if i and i % 1000 == 0:
                self.log(f"[{t.name}] {i} requests, {time.monotonic() - t0:.0f} s, faults {dict(self.faults)}")
            self.fault()
            if self.rng.random() < 0.5:
                label, method, path = self.rng.choice(self.READS)
                try:
                    q0 = time.monotonic()
                    a = t.call(method, path)
                    self.latency[label].append(time.monotonic() - q0)
                    self.by_kind[(label, str(a.status) + (f" {a.code}" if a.code else ""))] += 1
                except NoAnswer as e:
                    t.no_answer += 1
                    t.problems.append(f"no answer: {e}")
                    self.by_kind[(label, "no answer")] += 1
                continue
            label, method, path, body, program = self.write()
            key = str(uuid.uuid4())
            a = None
            for attempt in range(3):
                try:
                    q0 = time.monotonic()
                    a = t.call(method, path, body, key=key)
                    dt = time.monotonic() - q0
                    self.latency[label.replace(" A", "").replace(" B", "")].append(dt)
                    self.block_write_latency[i // 1000].append(dt)
                    break
                except NoAnswer as e:
                    # The same request with the same key: the client's safe retry.
                    t.no_answer += 1
                    t.problems.append(f"no answer (try {attempt + 1}, sent again with the same key): {e}")
                    self.by_kind[(label, "no answer")] += 1
                    time.sleep(1)
            if a is None:
                continue
            code = a.code
            self.by_kind[(label, str(a.status) + (f" {code}" if code else "") + (" (replayed)" if a.headers.get("idempotent-replayed") == "true" else ""))] += 1
            state = a.get("command", "state")
            cid = a.get("command", "id")
            if a.status == 202 and cid:
                w0 = time.monotonic()
                c = t.follow(cid)
                self.settle_waits.append(time.monotonic() - w0)
                state = c["state"] if c else "stuck"
                # The replay answers with the settled outcome too (200 applied / 409 not_applied).
                try:
                    r = t.call(method, path, body, key=key)
                    self.by_kind[(label + " (replay after settling)", str(r.status) + (f" {r.code}" if r.code else ""))] += 1
                    if c and r.get("command", "id") != cid:
                        t.problems.append(f"replay of {cid} with its key answered command {r.get('command', 'id')}")
                except NoAnswer as e:
                    t.problems.append(f"replay: {e}")
            elif a.status == 409 and code == "uncertain_command":
                other = a.get("error", "command_id")
                if other:
                    c = t.follow(other)
            self.final_states[(label.split(" ")[0] + " " + label.split(" ")[1], state or "-")] += 1
            ran = state in ("succeeded", "applied")
            if label.startswith("PUT program") and ran:
                self.next_program = "A" if program == "B" else "B"
            elif label == "POST bolus" and (ran or code == "bolus_active"):
                self.bolus_next = False
            elif label == "DELETE bolus":
                self.bolus_next = True
            elif label == "POST suspend" and ran:
                self.suspend_next = False
            elif label == "POST resume" and (ran or code == "device_refused"):
                self.suspend_next = True
        t.poll_events()
        return time.monotonic() - t0


def review_latency(t):
    """Median of three POST /v1/bolus/review (changes nothing) and the program
    commands in the trail: what every write's review costs at this size."""
    d = []
    for _ in range(3):
        q0 = time.monotonic()
        t.call("POST", "/v1/bolus/review", BOLUS)
        d.append(time.monotonic() - q0)
    programs = 0
    before = None
    while True:
        page = t.get_json("/v1/audit?limit=1000" + (f"&before_ms={before[0]}&before_id={urllib.parse.quote(before[1])}" if before else ""))
        programs += sum(1 for c in page["commands"] if c["kind"] == "program")
        if page["next_before_ms"] is None:
            break
        before = (page["next_before_ms"], page["next_before_id"])
    return statistics.median(d), programs


def unplug_cycles(t, rng, n, log):
    times, reads, failures = [], collections.Counter(), []
    for i in range(n):
        secs = rng.choice([0, 1])
        before = t.get_json("/v1/device")["link"].get("connected_at")
        t0 = time.monotonic()
        t.ctl_cmd({"unplug": secs})
        up = None
        while time.monotonic() - t0 < 60:
            try:
                h = t.get_json("/v1/health")
                if h["link"] == "up":
                    d = t.get_json("/v1/device")["link"]
                    if d.get("state") == "up" and d.get("connected_at") != before:
                        up = time.monotonic() - t0
                        break
            except (NoAnswer, RuntimeError):
                pass
            time.sleep(0.01)
        if up is None:
            failures.append(f"cycle {i} (unplug {secs} s): link not up on a new connection within 60 s")
            reads["not reconnected"] += 1
            continue
        times.append((secs, up))
        try:
            a = t.call("GET", "/v1/status?refresh=true")
            reads[str(a.status) + (f" {a.code}" if a.code else "")] += 1
            if a.status != 200:
                failures.append(f"cycle {i} (unplug {secs} s): status read after reconnecting: {a.status} {a.body[:200]!r}")
        except NoAnswer as e:
            reads["no answer"] += 1
            failures.append(f"cycle {i}: {e}")
    log(f"[{t.name}] {n} unplug cycles: {len(times)} reconnected")
    return times, reads, failures


def midpush_telemetry(t, rng, rounds, log):
    """(a) telemetry lost 0…50 ms into a push, restored once it is answered."""
    outcomes, failures = collections.Counter(), []
    for i in range(rounds):
        t.wait_settled(60)
        st = t.poll_events()
        before, start_idx = active_crc(st), max(t.events)
        name = "A" if before == crc_of(t, "B") else "B"
        result = {}
        # Even rounds: 0…50 ms after the PUT starts. Odd rounds: within 25 ms
        # either side of when its review should be done (the review alone,
        # POST /v1/program/review, timed just before), so that the loss can
        # land on STAGE_PROGRAM, COMMIT_PROGRAM or the read-back rather than
        # on the review's reads.
        offset = 0.0
        if i % 2 == 1:
            q0 = time.monotonic()
            t.call("POST", "/v1/program/review", PROGRAMS[name])
            offset = time.monotonic() - q0

        def push():
            try:
                result["a"] = t.call("PUT", "/v1/program", PROGRAMS[name], key=str(uuid.uuid4()))
            except NoAnswer as e:
                result["e"] = e
        th = threading.Thread(target=push)
        th.start()
        delay = rng.uniform(0, 0.05) if not offset else max(0.0, offset + rng.uniform(-0.025, 0.025))
        time.sleep(delay)
        t.ctl_cmd({"telemetry": False})
        th.join(60)
        t.ctl_cmd({"telemetry": True})
        outcome, ok, _ = judge_push(t, i, before, start_idx, name, result, failures, "telemetry")
        if not ok:
            outcome += " [check failed]"
        outcomes[outcome] += 1
        log(f"[{t.name}] telemetry round {i}: lost {delay * 1000:.0f} ms into the push ({'after the review' if offset else 'from its start'}) -> {outcome}{'' if ok else ' FAILED'}")
    return outcomes, failures


def judge_push(t, i, before, start_idx, name, result, failures, what):
    """After a push under a fault: settled, device == pumpd, nothing activated by itself."""
    a = result.get("a")
    if a is None:
        failures.append(f"{what} round {i}: the PUT got no answer: {result.get('e')}")
        return "no answer", False, None
    cid = a.get("command", "id")
    c = a.get("command")
    if cid and not (c or {}).get("final"):
        c = t.follow(cid, 90)
    ok = True
    if not t.wait_settled(90):
        failures.append(f"{what} round {i}: pumpd did not settle (link up, nothing uncertain) within 90 s")
        ok = False
    state = c["state"] if c else "stuck"
    # Where it stopped, from the note ("STAGE_PROGRAM: the pump answered …").
    note = (c or {}).get("note") or ""
    step = note.split(":")[0] if note.split(":")[0].replace("_", "").isupper() else ""
    if not step and note.startswith("refused before sending"):
        step = "the review's reads"
    outcome = f"{a.status}{' ' + a.code if a.code else ''} -> {state}{' at ' + step if step else ''}"
    ok = check_program(t, i, before, start_idx, name, c, failures, what) and ok
    return outcome, ok, c


def check_program(t, i, before, start_idx, name, c, failures, what):
    """The device runs what pumpd shows; only the command's own attempts committed anything."""
    ok = True
    st = t.poll_events()
    dev = active_crc(st)
    mine = pumpd_crc(t)
    if dev != mine:
        failures.append(f"{what} round {i}: device runs program crc {dev}, pumpd's GET /v1/program says {mine}")
        ok = False
    state = c["state"] if c else "stuck"
    ran = state in ("succeeded", "applied")
    target = crc_of(t, name)
    if ran and dev != target:
        failures.append(f"{what} round {i}: command {c['id']} {state} but the device runs {dev}, not {target}")
        ok = False
    if not ran and dev != before:
        failures.append(f"{what} round {i}: command {(c or {}).get('id')} {state} (not run) but the device's program changed {before} -> {dev}: the staged program became active by itself")
        ok = False
    attempts = {(x["session_tag"], x["seq"]) for x in (c or {}).get("frames") or []}
    commits = [e for idx, e in t.events.items() if idx > start_idx and e["name"] == "PROGRAM_COMMITTED"]
    for e in commits:
        if (e["origin_session"], e["origin_seq"]) not in attempts:
            failures.append(f"{what} round {i}: PROGRAM_COMMITTED index {e['index']} (crc {e['value1']}) is not from command {(c or {}).get('id')}'s attempts {sorted(attempts)}")
            ok = False
    if len(commits) > (1 if ran else 0):
        failures.append(f"{what} round {i}: {len(commits)} PROGRAM_COMMITTED for a command that is {state}")
        ok = False
    return ok


_crc_cache = {}


def crc_of(t, name):
    """A program's CRC as the device knows it, from the battery's own successful pushes."""
    return _crc_cache.get((t.name, name))


def learn_crcs(t):
    """Pushes B then A (the state the battery expects) and notes each one's CRC."""
    for name in ("B", "A"):
        r = t.call("PUT", "/v1/program", PROGRAMS[name], key=str(uuid.uuid4()))
        if r.status != 200:
            raise RuntimeError(f"[{t.name}] program {name}: {r.status} {r.body[:300]!r}")
        _crc_cache[(t.name, name)] = r.get("command", "outcome", "program_crc")


def midpush_expiry(t, rng, rounds, drops, log):
    """(b) COMMIT_PROGRAM lost until the session expires (--session-timeout 1)."""
    outcomes, failures = collections.Counter(), []
    unanswered = 0
    for i in range(rounds):
        t.wait_settled(60)
        st = t.poll_events()
        before, start_idx = active_crc(st), max(t.events)
        name = "A" if before == crc_of(t, "B") else "B"
        t.ctl_cmd({"drop_only": "COMMIT_PROGRAM"})
        t.ctl_cmd({"drop_requests": drops})
        result = {}
        try:
            result["a"] = t.call("PUT", "/v1/program", PROGRAMS[name], key=str(uuid.uuid4()), timeout=60)
        except NoAnswer as e:
            result["e"] = e
        t.ctl_cmd({"drop_requests": 0})
        t.ctl_cmd({"drop_only": ""})
        outcome, ok, c = judge_push(t, i, before, start_idx, name, result, failures, "expiry")
        a = result.get("a")
        if a is not None and a.status == 202:
            unanswered += 1
        # The staged program went with the session: it must never be committed
        # later, by the device or by pumpd. Wait out a few more sessions.
        time.sleep(rng.uniform(1.0, 2.0))
        ok = check_program(t, i, before, start_idx, name, c, failures, "expiry (1-2 s later)") and ok
        if not ok:
            outcome += " [check failed]"
        outcomes[outcome] += 1
        log(f"[{t.name}] expiry round {i}: {outcome}{'' if ok else ' FAILED'}")
    return outcomes, failures, unanswered


# --------------------------------------------------------------- daemon b

def start_expiry_pumpd(pumpd, folder, seed, log):
    os.makedirs(folder, exist_ok=True)
    sock = os.path.join(folder, "pumpd.sock")
    err = open(os.path.join(folder, "pumpd.stderr"), "wb")
    p = subprocess.Popen(
        [pumpd, "--data-dir", folder, "--socket", sock, "--station", "off",
         "--simulator-arg=--seed", f"--simulator-arg={seed}",
         "--simulator-arg=--session-timeout", "--simulator-arg=1"],
        stdout=subprocess.DEVNULL, stderr=err)
    for _ in range(120):
        if p.poll() is not None:
            raise RuntimeError(f"the session-expiry pumpd exited at start ({p.returncode}); see {folder}/pumpd.stderr")
        try:
            if call(sock, "GET", "/v1/health", timeout=2).status == 200:
                break
        except NoAnswer:
            pass
        time.sleep(0.25)
    else:
        p.terminate()
        raise RuntimeError("the session-expiry pumpd did not answer within 30 s")
    log(f"[expiry] pumpd {p.pid} on {sock} (simulator --session-timeout 1, --seed {seed})")
    return p, sock, os.path.join(folder, "simulator", "control.sock")


def stop(p, seconds=30):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(seconds)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            return "did not stop within 30 s of SIGTERM (killed)"
    return p.returncode


# ------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("socket", help="pumpd's API socket (embedded simulator, fresh data dir)")
    ap.add_argument("--control", help="the simulator's control socket (default: simulator/control.sock beside SOCKET)")
    ap.add_argument("--quick", action="store_true", help="1,000 requests, 10 unplug cycles, 5 of each mid-push case")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--requests", type=int)
    ap.add_argument("--unplug-cycles", type=int)
    ap.add_argument("--midpush", type=int, help="rounds of each mid-push case")
    ap.add_argument("--poll-every", type=int, default=100, help="read the simulator's log every N requests (default 100)")
    ap.add_argument("--pumpd", help="pumpd binary for the session-expiry part (a second pumpd); without it that part is skipped and the run fails")
    ap.add_argument("--expiry-dir", help="data dir for the second pumpd")
    ap.add_argument("--expiry-drops", type=int, default=2, help="COMMIT_PROGRAM requests lost per expiry round (default 2: the third transmission arrives about 1 s after the first, past the 1 s timeout)")
    args = ap.parse_args()
    n_req = args.requests if args.requests is not None else (1000 if args.quick else 10000)
    n_unplug = args.unplug_cycles if args.unplug_cycles is not None else (10 if args.quick else 100)
    n_mid = args.midpush if args.midpush is not None else (5 if args.quick else 20)
    ctl = args.control or os.path.join(os.path.dirname(os.path.abspath(args.socket)), "simulator", "control.sock")
    started = time.monotonic()
    timings = {}

    def log(msg):
        print(f"{time.monotonic() - started:7.1f}s {msg}", flush=True)

    rng = random.Random(args.seed)
    main_t = Target("main", args.socket, ctl, log)
    try:
        main_t.get_json("/v1/health")
    except (NoAnswer, RuntimeError) as e:
        print(f"fault_battery: pumpd does not answer on {args.socket}: {e}", file=sys.stderr)
        return 2
    log(f"seed {args.seed}: {n_req} requests, {n_unplug} unplug cycles, {n_mid} rounds of each mid-push case")
    preflight(main_t, log)
    learn_crcs(main_t)

    review_before = review_latency(main_t)
    battery = Battery(main_t, random.Random(rng.getrandbits(64)), n_req, args.poll_every, log)
    timings["requests"] = battery.run()
    review_after = review_latency(main_t)
    log(f"[main] requests done in {timings['requests']:.0f} s")
    if not main_t.wait_settled(90):
        main_t.problems.append("not settled after the requests")

    p0 = time.monotonic()
    up_times, up_reads, up_failures = unplug_cycles(main_t, random.Random(rng.getrandbits(64)), n_unplug, log)
    timings["unplug"] = time.monotonic() - p0

    p0 = time.monotonic()
    tel_outcomes, tel_failures = midpush_telemetry(main_t, random.Random(rng.getrandbits(64)), n_mid, log)
    timings["telemetry"] = time.monotonic() - p0

    main_t.wait_settled(90)
    main_t.poll_events()
    commands, skipped = main_t.audit()
    result = analyse(main_t, commands)

    # (b) on its own pumpd.
    exp_outcomes, exp_failures, exp_expired, exp_result, exp_stop, exp_cmds, exp_skipped = collections.Counter(), [], 0, None, None, {}, []
    exp_t = None
    p0 = time.monotonic()
    exp_rng = random.Random(rng.getrandbits(64))
    if args.pumpd and args.expiry_dir:
        proc = None
        try:
            proc, esock, ectl = start_expiry_pumpd(args.pumpd, args.expiry_dir, args.seed, log)
            exp_t = Target("expiry", esock, ectl, log)
            preflight(exp_t, log)
            learn_crcs(exp_t)
            exp_outcomes, exp_failures, exp_expired = midpush_expiry(exp_t, exp_rng, n_mid, args.expiry_drops, log)
            exp_t.wait_settled(90)
            exp_t.poll_events()
            exp_cmds, exp_skipped = exp_t.audit()
            exp_result = analyse(exp_t, exp_cmds)
        except Exception as e:  # noqa: BLE001
            exp_failures.append(f"session-expiry part: {type(e).__name__}: {e}")
        finally:
            if proc is not None:
                exp_stop = stop(proc)
    else:
        exp_failures.append("session-expiry part skipped: pass --pumpd and --expiry-dir")
    timings["expiry"] = time.monotonic() - p0
    total = time.monotonic() - started

    # ------------------------------------------------------------- report
    fails = []
    rows = []

    def row(section, what, value):
        rows.append((section, what, str(value)))

    for (label, status), n in sorted(battery.by_kind.items()):
        row("requests", f"{label} -> {status}", n)
    row("requests", "total sent (the battery's own)", n_req)
    reads = sum(n for (l, _), n in battery.by_kind.items() if l.startswith("GET"))
    row("requests", "reads / writes", f"{reads} / {n_req - reads}")
    for (label, state), n in sorted(battery.final_states.items()):
        row("writes", f"{label}: final state {state}", n)
    if battery.settle_waits:
        row("writes", "202 answered, then settled: n / p50 / max wait", f"{len(battery.settle_waits)} / {ms(pct(battery.settle_waits, 50))} / {ms(max(battery.settle_waits))}")
    for label, v in sorted(battery.latency.items()):
        row("latency", f"{label}: p50 / p90 / max", f"{ms(pct(v, 50))} / {ms(pct(v, 90))} / {ms(max(v))}")
    for blk, v in sorted(battery.block_write_latency.items()):
        row("latency", f"writes in requests {blk * 1000}-{blk * 1000 + 999}: p50 / max", f"{ms(pct(v, 50))} / {ms(max(v))}")
    row("latency", "POST /v1/bolus/review before / after the requests",
        f"{ms(review_before[0])} at {review_before[1]} program commands / {ms(review_after[0])} at {review_after[1]}")
    for k in ("corrupt_next:1", "drop_responses:1", "noise (with 0x00)", "noise (no 0x00)", "noise bytes"):
        row("faults", k, battery.faults.get(k, 0))
    row("faults", "unplug (0 s / 1 s)", f"{sum(1 for s, _ in up_times if s == 0)} / {sum(1 for s, _ in up_times if s == 1)}")
    row("faults", "telemetry lost mid-push / expiry mid-push", f"{sum(tel_outcomes.values())} / {sum(exp_outcomes.values())}")

    def counts(prefix, t, cmds, res, skipped_ids):
        dup = len(res["duplicate_cmds"]) + len(res["orphans"])
        unrec = len(res["unreconciled"]) + len(t.stuck)
        miss = len(res["missing_ids"]) + len(res["orphans"])
        row(prefix, "commands in the audit trail", len(cmds))
        row(prefix, "commands by kind/state", ", ".join(f"{k}:{n}" for k, n in sorted(collections.Counter(f"{c['kind']}/{c['state']}" for c in cmds.values()).items())))
        row(prefix, "device events read (merged) / gaps", f"{len(t.events)} / {len(t.event_gaps)}")
        row(prefix, "device events by name", ", ".join(f"{k}:{n}" for k, n in sorted(res["device"].items())))
        row(prefix, "DUPLICATE executions (cmds with >1 event + orphan events)", f"{dup} ({len(res['duplicate_cmds'])} + {len(res['orphans'])})")
        row(prefix, "UNRECONCILED commands (not final + stuck on follow)", f"{unrec} ({len(res['unreconciled'])} + {len(t.stuck)})")
        row(prefix, "MISSING from the audit (answered ids + orphan events)", f"{miss} ({len(res['missing_ids'])} + {len(res['orphans'])})")
        row(prefix, "state disagrees with the device", len(res["disagreements"]))
        row(prefix, "audit pages: commands the documented (before_ms, before_id) walk skips", len(skipped_ids))
        row(prefix, "HTTP 500 answers / requests with no answer", f"{len(t.internal)} / {t.no_answer}")
        for what, items in (("duplicate", res["duplicate_cmds"]), ("orphan event", res["orphans"]), ("unreconciled", res["unreconciled"]),
                            ("stuck", t.stuck), ("missing", res["missing_ids"]), ("disagreement", res["disagreements"]),
                            ("500", t.internal), ("event gap", [f"{a}..{b - 1} overwritten unread" for a, b in t.event_gaps]),
                            ("problem", t.problems)):
            for x in items:
                fails.append(f"[{t.name}] {what}: {x}")
        if skipped_ids:
            # Not a lost command (each is still in the store: GET /v1/commands/ID),
            # but a client paging as documented does not see it.
            fails.append(f"[{t.name}] GET /v1/audit paging (before_ms, before_id = next_before_ms, next_before_id) skips {len(skipped_ids)} commands: {skipped_ids[:10]}")

    counts("main pumpd", main_t, commands, result, skipped)

    ups = [u for _, u in up_times]
    row("unplug", "cycles / reconnected", f"{n_unplug} / {len(ups)}")
    row("unplug", "reconnect p50 / p90 / max (all)", f"{ms(pct(ups, 50))} / {ms(pct(ups, 90))} / {ms(max(ups) if ups else None)}")
    for secs in (0, 1):
        u = [x for s, x in up_times if s == secs]
        row("unplug", f"reconnect p50 / p90 / max (unplug {secs} s)", f"{ms(pct(u, 50))} / {ms(pct(u, 90))} / {ms(max(u) if u else None)}")
    row("unplug", "status read after reconnecting", ", ".join(f"{k}:{n}" for k, n in sorted(up_reads.items())))
    fails += [f"[unplug] {x}" for x in up_failures]

    for k, n in sorted(tel_outcomes.items()):
        row("mid-push (a) telemetry", k, n)
    fails += [f"[telemetry] {x}" for x in tel_failures]
    for k, n in sorted(exp_outcomes.items()):
        row("mid-push (b) expiry", k, n)
    row("mid-push (b) expiry", f"rounds whose commit went unanswered (202; --expiry-drops {args.expiry_drops})", exp_expired)
    if exp_result is not None:
        counts("expiry pumpd", exp_t, exp_cmds, exp_result, exp_skipped)
        row("expiry pumpd", "stopped with SIGTERM: exit status", exp_stop)
        if exp_stop != 0:
            fails.append(f"[expiry] the second pumpd's exit status after SIGTERM: {exp_stop}")
    fails += [f"[expiry] {x}" for x in exp_failures]

    for k, v in timings.items():
        row("time", k, f"{v:.1f} s")
    row("time", "total", f"{total:.1f} s")
    row("run", "seed", args.seed)

    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    print()
    print(f"{'part':<{w1}}  {'figure':<{w2}}  value")
    print(f"{'-' * w1}  {'-' * w2}  -----")
    last = None
    for s, w, v in rows:
        print(f"{s if s != last else '':<{w1}}  {w:<{w2}}  {v}")
        last = s
    print()
    if fails:
        print(f"FAILED: {len(fails)} problem(s)")
        for f in fails[:200]:
            print("  " + f)
        if len(fails) > 200:
            print(f"  … and {len(fails) - 200} more")
        return 1
    print("PASSED: no duplicate, unreconciled or missing command; every unplug reconnected; every mid-push round consistent")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        print("FAILED: the battery itself stopped (above); pumpd may have stopped answering", file=sys.stderr)
        sys.exit(1)

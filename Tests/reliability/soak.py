#!/usr/bin/env python3
"""Memory soak: pumpd under a steady request load while its embedded
simulator's time races (pumpsim --speed S), with pumpd's resident memory
(VmRSS) sampled every second.

    python3 Tests/reliability/soak.py SOCKET --pid PUMPD_PID --speed S
        [--hours H] [--quick] [--rate R] [--warmup-s W]
        [--max-growth-kib K] [--max-slope-kib-per-h K]

SOCKET is the API socket of a pumpd started on its embedded simulator in a
fresh data dir with `--simulator-arg=--speed --simulator-arg=S` (S must be the
speed given here); scripts/soak starts it and runs this. The caller must be a
clinician (root).

What runs, for H simulated hours (default 24; --quick 2), that is H*3600/S
seconds of real time:

- at the start: refill (morphine 10 mg/mL, a small fill of 5 mL with the low
  alarm at 4.5 mL), a daily program with a patient bolus, resume, so that the
  pump infuses and events flow; whenever a status read shows the
  low-reservoir (or empty) alarm, the alarm is acknowledged, the reservoir
  refilled and the pump resumed: a cycle about every 8 simulated hours. A
  write that the drug library holds for an override (409) is sent again
  with the soft limits its review names overridden (counted);
- a steady load of R requests a second (default 20) in a seeded mix of reads:
  status (cached and ?refresh=true), program, device, health, events
  (paged), audit, logs, metrics, the reviews;
- a clinician bolus (0.5 mg over 30 min) every simulated hour, and the
  patient's button ({"patient_bolus":true} on the control socket) every
  three simulated hours;
- an event-stream reader (GET /v1/events/stream?since=0) and a log-stream
  reader (GET /v1/logs/stream) connected throughout, counting lines;
- VmRSS of pumpd and of its pumpsim (from /proc) every second.

Reported: RSS at the end of the warm-up (default: the first 10 % of the run,
at least 10 s), its maximum and its value at the end, the least-squares slope
of pumpd's RSS over the second half in KiB per simulated hour, requests
served (by path and status), errors, stream lines, events and alarms the
device logged, simulated time actually elapsed, pumpd's CPU time.

The bound (exit 1 beyond it): pumpd's RSS grows less than 8 MiB from the end
of the warm-up to the end, and its second-half slope is under 100 KiB per
simulated hour (with --quick, 2 simulated hours, the slope is too noisy to
judge and is reported only). Also exit 1 on any 5xx answer, any request that
got no answer, a stream that ended early, or pumpd exiting.

Standard library only.
"""

import argparse
import collections
import http.client
import json
import os
import random
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pyclient"))
from pumpd_client import NoAnswer, UnixHTTPConnection, call, control  # noqa: E402

# A small fill, so that simulated time empties it down to the low-reservoir
# alarm within hours (0.3 mL/day of program, 0.05 mL a clinician bolus, 0.01
# mL a patient bolus: about 1.5 mL a simulated day), yet still lasts over the
# drug library's 14 days at the program's rate.
REFILL = {
    "drug": "morphine",
    "concentration": {"value": "10", "unit": "mg/mL"},
    "reservoir": {"value": "5", "unit": "mL"},
    "low_alarm": {"value": "4.5", "unit": "mL"},
}
PROGRAM = {
    "mode": "daily", "utc_offset_min": 60,
    "patient_bolus": {"dose": {"value": "0.1", "unit": "mg"}, "lockout": {"value": "2", "unit": "h"}, "max_per_day": 4},
    "steps": [{"start_min": 0, "rate": {"value": "2.4", "unit": "mg/day"}},
              {"start_min": 480, "rate": {"value": "3", "unit": "mg/day"}}],
}
BOLUS = {"dose": {"value": "0.5", "unit": "mg"}, "duration": {"value": "30", "unit": "min"}}


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_s(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def child_named(pid, name):
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
            comm = s[s.index("(") + 1:s.rindex(")")]
            ppid = int(s.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and comm == name:
            return int(d)
    return None


def slope(xs, ys):
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


class StreamReader(threading.Thread):
    """Keeps one NDJSON stream open and counts its lines; notes when it ends."""

    def __init__(self, sock, path, stop):
        super().__init__(daemon=True)
        self.sock, self.path, self.stop = sock, path, stop
        self.lines = 0
        self.last_index = None
        self.ends = []
        self.bad_lines = 0
        self.status = None

    def run(self):
        while not self.stop.is_set():
            conn = UnixHTTPConnection(self.sock, None)
            try:
                conn.request("GET", self.path, headers={"Host": "pumpd"})
                r = conn.getresponse()
                self.status = r.status
                if r.status != 200:
                    self.ends.append(f"{self.path}: {r.status}")
                    time.sleep(1)
                    continue
                while not self.stop.is_set():
                    line = r.readline()
                    if not line:
                        break
                    self.lines += 1
                    try:
                        o = json.loads(line)
                        if "index" in o:
                            if self.last_index is not None and o["index"] != self.last_index + 1:
                                self.ends.append(f"{self.path}: index {o['index']} after {self.last_index}")
                            self.last_index = o["index"]
                    except ValueError:
                        self.bad_lines += 1
                if not self.stop.is_set():
                    self.ends.append(f"{self.path}: ended after {self.lines} lines")
            except (OSError, http.client.HTTPException) as e:
                if not self.stop.is_set():
                    self.ends.append(f"{self.path}: {type(e).__name__}: {e}")
                    time.sleep(1)
            finally:
                conn.close()
            if self.path.startswith("/v1/events/stream") and self.last_index is not None:
                self.path = f"/v1/events/stream?since={self.last_index + 1}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("socket")
    ap.add_argument("--pid", type=int, required=True, help="pumpd's process id")
    ap.add_argument("--speed", type=float, required=True, help="the simulator's --speed")
    ap.add_argument("--hours", type=float, help="simulated hours (default 24; --quick 2)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rate", type=float, default=20, help="requests a second (default 20)")
    ap.add_argument("--warmup-s", type=float, help="warm-up in real seconds (default 10 %% of the run, at least 10 s)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-growth-kib", type=int, default=8 * 1024)
    ap.add_argument("--max-slope-kib-per-h", type=float, default=100)
    ap.add_argument("--control", help="the simulator's control socket (default: simulator/control.sock beside SOCKET)")
    args = ap.parse_args()
    hours = args.hours if args.hours is not None else (2 if args.quick else 24)
    duration = hours * 3600 / args.speed
    warmup = args.warmup_s if args.warmup_s is not None else max(10.0, duration * 0.1)
    judge_slope = not args.quick and hours >= 6
    sock = args.socket
    ctl = args.control or os.path.join(os.path.dirname(os.path.abspath(sock)), "simulator", "control.sock")
    rng = random.Random(args.seed)
    started = time.monotonic()

    def log(msg):
        print(f"{time.monotonic() - started:7.1f}s {msg}", flush=True)

    problems = []
    overridden = collections.Counter()
    served = collections.Counter()
    errors = collections.Counter()

    def req(method, path, body=None, key=None, label=None):
        label = label or (f"{method} {path}" if "refresh" in path else f"{method} {path.split('?')[0]}")
        try:
            a = call(sock, method, path, body, key)
        except NoAnswer as e:
            errors[f"{label}: no answer ({type(e.__cause__).__name__})"] += 1
            return None, None
        st, doc = a.status, a.doc
        served[(label, st)] += 1
        if st >= 500:
            errors[f"{label}: {st} {((doc or {}).get('error') or {}).get('code')}"] += 1
        return st, doc

    # Ready: link up.
    for _ in range(600):
        try:
            h = call(sock, "GET", "/v1/health", timeout=5)
            if h.status == 200 and h.get("link") == "up":
                break
        except NoAnswer:
            pass
        time.sleep(0.1)
    else:
        print("soak: pumpd's link did not come up", file=sys.stderr)
        return 2
    sim_pid = child_named(args.pid, "pumpsim")
    state0 = control(ctl, {"state": True}, check=False).get("state") or {}

    def resume(why):
        st, doc = req("POST", "/v1/resume", key=str(uuid.uuid4()), label="POST /v1/resume")
        if st != 200:
            problems.append(f"resume ({why}): {st} {json.dumps(doc)[:300]}")

    def reviewed_write(method, path, body, why):
        """A write; if the drug library asks for an override (409), the soft
        limits its review names are overridden, as a clinician would, and
        the write sent again with a new key. Returns (status, doc)."""
        st, doc = req(method, path, body, key=str(uuid.uuid4()), label=f"{method} {path}")
        code = ((doc or {}).get("error") or {}).get("code")
        if st == 409 and code == "override_required":
            rules = sorted({f["rule"] for f in (doc.get("review") or {}).get("findings", []) if f["severity"] == "soft" and not f["overridden"]})
            overridden[f"{path}: {', '.join(rules)}"] += 1
            body = dict(body, overrides=[{"limit": r, "reason": "soak test: simulated time, simulated pump"} for r in rules])
            st, doc = req(method, path, body, key=str(uuid.uuid4()), label=f"{method} {path} (with overrides)")
        if st != 200:
            problems.append(f"{method} {path} ({why}): {st} {json.dumps(doc)[:400]}")
        return st, doc

    def refill(why):
        # The same drug at the same concentration keeps the program (ICD §6);
        # a refill suspends the pump, so it is resumed.
        st, _ = reviewed_write("POST", "/v1/refill", REFILL, why)
        return st == 200

    if not refill("start"):
        print(f"soak: the first refill failed: {problems}", file=sys.stderr)
        return 1
    st, doc = reviewed_write("PUT", "/v1/program", PROGRAM, "start")
    if st != 200:
        print(f"soak: the program was not accepted: {st} {json.dumps(doc)[:600]}", file=sys.stderr)
        return 1
    resume("start")
    refills = 1

    stop = threading.Event()
    ev_reader = StreamReader(sock, "/v1/events/stream?since=0", stop)
    log_reader = StreamReader(sock, "/v1/logs/stream", stop)
    ev_reader.start()
    log_reader.start()

    reads = [
        ("GET", "/v1/status"), ("GET", "/v1/status?refresh=true"), ("GET", "/v1/program"), ("GET", "/v1/device"),
        ("GET", "/v1/health"), ("GET", "/v1/events?since=0&limit=100"), ("GET", "/v1/audit?limit=20"),
        ("GET", "/v1/logs?limit=50"), ("GET", "/metrics"),
    ]
    weights = [4, 4, 2, 2, 3, 1, 1, 1, 1]
    reviews = [("POST", "/v1/program/review", PROGRAM), ("POST", "/v1/bolus/review", BOLUS)]

    samples = []  # (real s, sim h, pumpd KiB, pumpsim KiB)
    next_sample = 0.0
    next_req = 0.0
    boluses = collections.Counter()
    next_bolus_h = 0.25
    next_patient_h = 1.5
    bolus_keys = {}
    interval = 1.0 / args.rate
    t0 = time.monotonic()
    last_progress = 0.0
    last_reservoir = None
    died = False
    while True:
        now = time.monotonic() - t0
        if now >= duration:
            break
        if now >= next_sample:
            k = rss_kib(args.pid)
            if k is None:
                died = True
                problems.append(f"pumpd (pid {args.pid}) is gone at {now:.0f} s")
                break
            samples.append((now, now * args.speed / 3600, k, rss_kib(sim_pid) if sim_pid else None))
            next_sample += 1.0
        if now - last_progress >= 60:
            last_progress = now
            log(f"{now * args.speed / 3600:5.1f} sim h: pumpd {samples[-1][2]} KiB, pumpsim {samples[-1][3]} KiB, "
                f"{sum(served.values())} requests, {sum(errors.values())} errors, reservoir {last_reservoir} nL, "
                f"stream lines {ev_reader.lines}/{log_reader.lines}")
        sim_h = now * args.speed / 3600
        if sim_h >= next_bolus_h:
            next_bolus_h += 1
            key = str(uuid.uuid4())
            st, doc = req("POST", "/v1/bolus", BOLUS, key=key, label="POST /v1/bolus")
            code = ((doc or {}).get("error") or {}).get("code")
            boluses[f"{st}{' ' + code if code else ''}"] += 1
            if st == 202 and doc:
                bolus_keys[doc["command"]["id"]] = key
        if sim_h >= next_patient_h:
            next_patient_h += 3
            a = control(ctl, {"patient_bolus": True}, check=False)
            boluses["patient button: " + ("ok" if a.get("ok") else str(a.get("error"))[:60])] += 1
        if now >= next_req:
            next_req += interval
            if next_req < now:  # fell behind: do not burst to catch up
                next_req = now + interval
            r = rng.random()
            if r < 0.03:
                m, p, b = rng.choice(reviews)
                req(m, p, b)
            else:
                m, p = rng.choices(reads, weights=weights)[0]
                st, doc = req(m, p)
                if p.startswith("/v1/status") and st == 200 and doc:
                    last_reservoir = doc["reservoir"]["base_value"]
                    if "low_reservoir" in doc["alarms"] or "reservoir_empty" in doc["alarms"]:
                        # Low: acknowledged, refilled (which clears it), resumed.
                        why = f"reservoir {last_reservoir} nL, alarms {doc['alarms']} at {sim_h:.1f} sim h"
                        log(f"refill: {why}")
                        for a in doc["alarms"]:
                            st2, d2 = req("POST", f"/v1/alarms/{a}/ack", key=str(uuid.uuid4()), label="POST /v1/alarms/ack")
                            if st2 != 200:
                                problems.append(f"ack {a}: {st2} {json.dumps(d2)[:300]}")
                        if refill(why):
                            refills += 1
                            resume(why)
        time.sleep(max(0.0, min(next_req, next_sample) - (time.monotonic() - t0)))
    elapsed = time.monotonic() - t0

    # The end: one last sample, the device's own account.
    state1 = control(ctl, {"state": True}, check=False).get("state") or {}
    st, h = req("GET", "/v1/health")
    cpu = cpu_s(args.pid)
    stop.set()
    for cid in bolus_keys:  # uncertain boluses settle from the log
        for _ in range(100):
            s2, d2 = req("GET", f"/v1/commands/{cid}")
            if d2 and d2["command"]["final"]:
                break
            time.sleep(0.1)
    time.sleep(0.2)
    for r in (ev_reader, log_reader):
        for e in r.ends:
            problems.append(f"stream: {e}")
    if errors:
        for k, n in errors.items():
            problems.append(f"{n} x {k}")
    if h and h.get("uncertain_commands"):
        problems.append(f"uncertain commands at the end: {h['uncertain_commands']}")

    # ------------------------------------------------------------ figures
    after = [s for s in samples if s[0] >= warmup]
    if not after:
        print("soak: no samples after the warm-up", file=sys.stderr)
        return 1
    start_k, end_k = after[0][2], samples[-1][2]
    max_k = max(s[2] for s in after)
    half = [s for s in samples if s[0] >= duration / 2]
    sl = slope([s[1] for s in half], [s[2] for s in half])
    sim_after = [s for s in after if s[3] is not None]
    sim_sl = slope([s[1] for s in half if s[3] is not None], [s[3] for s in half if s[3] is not None])
    growth = end_k - start_k
    imp0, imp1 = state0.get("implant", {}), state1.get("implant", {})
    sim_hours = (state1.get("sim_time_ms", 0) - state0.get("sim_time_ms", 0)) / 3_600_000
    ev_names = collections.Counter(e["name"] for e in imp1.get("events", []) if e["index"] >= imp0.get("event_head", 0))
    total_req = sum(served.values())

    rows = []

    def row(part, what, value):
        rows.append((part, what, str(value)))

    row("run", "simulated hours (asked / by the simulator's clock)", f"{hours:g} / {sim_hours:.2f}")
    row("run", "speed / real seconds / warm-up", f"{args.speed:g}x / {elapsed:.0f} s / {warmup:.0f} s")
    row("run", "seed", args.seed)
    row("pumpd RSS", "at the end of the warm-up", f"{start_k} KiB")
    row("pumpd RSS", "max after the warm-up", f"{max_k} KiB")
    row("pumpd RSS", "at the end", f"{end_k} KiB")
    row("pumpd RSS", "growth, warm-up to end (bound)", f"{growth:+d} KiB (< {args.max_growth_kib} KiB)")
    row("pumpd RSS", "slope, second half (bound)",
        f"{sl:+.1f} KiB/sim h" + (f" (< {args.max_slope_kib_per_h:g})" if judge_slope else " (reported only: too short to judge)") if sl is not None else "-")
    row("pumpd RSS", "samples / first sample (before warm-up)", f"{len(samples)} / {samples[0][2]} KiB")
    if sim_after:
        row("pumpsim RSS", "end of warm-up / max / end", f"{sim_after[0][3]} / {max(s[3] for s in sim_after)} / {sim_after[-1][3]} KiB")
        row("pumpsim RSS", "slope, second half", f"{sim_sl:+.1f} KiB/sim h" if sim_sl is not None else "-")
    row("pumpd CPU", "user+system over the run", f"{cpu:.1f} s" if cpu is not None else "-")
    row("requests", "served / rate", f"{total_req} / {total_req / elapsed:.1f} per s")
    for (label, st_), n in sorted(served.items()):
        row("requests", f"{label} -> {st_}", n)
    row("requests", "errors (5xx or no answer)", sum(errors.values()))
    for k, n in sorted(boluses.items()):
        row("boluses", k, n)
    row("streams", "event stream lines / log stream lines", f"{ev_reader.lines} / {log_reader.lines}")
    row("streams", "ended or broke early", len(ev_reader.ends) + len(log_reader.ends))
    row("device", "events logged during the run", ", ".join(f"{k}:{n}" for k, n in sorted(ev_names.items())))
    row("device", "reservoir start / end", f"{imp0.get('reservoir_nl')} / {imp1.get('reservoir_nl')} nL")
    row("device", "refills (incl. the first) / alarms at the end", f"{refills} / {imp1.get('alarm_names')}")
    row("device", "soft limits overridden (write: rules)", ", ".join(f"{k} x{n}" for k, n in overridden.items()) or "none")
    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    print()
    print(f"{'part':<{w1}}  {'figure':<{w2}}  value")
    print(f"{'-' * w1}  {'-' * w2}  -----")
    last = None
    for p_, w, v in rows:
        print(f"{p_ if p_ != last else '':<{w1}}  {w:<{w2}}  {v}")
        last = p_

    if growth >= args.max_growth_kib:
        problems.append(f"pumpd's RSS grew {growth} KiB from the end of the warm-up to the end (bound {args.max_growth_kib} KiB)")
    if judge_slope and sl is not None and sl >= args.max_slope_kib_per_h:
        problems.append(f"pumpd's RSS rose {sl:.1f} KiB per simulated hour over the second half (bound {args.max_slope_kib_per_h:g})")
    if died:
        problems.append("pumpd exited during the soak")
    print()
    if problems:
        print(f"FAILED: {len(problems)} problem(s)")
        for p_ in problems[:100]:
            print("  " + p_)
        return 1
    print("PASSED: memory within the bound, no errors, streams connected throughout")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)

"""Three stations (three pumpd, each on its embedded pumpsim) replicating into
one real PostgreSQL (Tests/clinic/pg.py), while the database is stopped and
started again and the network to it is cut, with writes going on all along.
At the end every journal entry of every station is in the clinic's database
exactly once, in order, its chain whole and ending at the station's own head
hash; the refill calendar matches what each station projects for its pump;
and a row edited in a station's SQLite or in PostgreSQL is caught.

BIN=DIR holds pumpd and pumpctl (default .build/debug).
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from pg import BlackholeProxy, Cluster

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("BIN", os.path.join(REPO, ".build", "debug"))
PUMPD = os.path.join(BIN, "pumpd")
PUMPCTL = os.path.join(BIN, "pumpctl")

# Each station's implant and the volume it is filled with: the smaller the
# reservoir, the sooner its low alarm, so the calendar's order is known.
STATIONS = [("ward-a", "IPA-000001", "40"), ("ward-b", "IPB-000002", "20"), ("ward-c", "IPC-000003", "10")]
# One rate all day (2.4 mg/day) and one patient bolus a day at most.
PROGRAM = {
    "mode": "daily",
    "utc_offset_min": 0,
    "patient_bolus": {"dose": {"value": "0.1", "unit": "mg"}, "lockout": {"value": "120", "unit": "min"}, "max_per_day": 1},
    "steps": [{"start_min": 0, "rate": {"value": "2.4", "unit": "mg/day"}}],
}


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("pumpd", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class Station:
    def __init__(self, name, serial, reservoir_ml, pg, password_file, base):
        self.name, self.serial, self.reservoir_ml = name, serial, reservoir_ml
        self.dir = os.path.join(base, name)
        os.mkdir(self.dir, 0o700)
        self.data = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "pumpd.sock")
        self.proxy = BlackholeProxy(pg.port)
        self.url = pg.url(name, port=self.proxy.port)
        self.password_file = password_file
        self.log = open(os.path.join(self.dir, "pumpd.log"), "w")
        self.proc = None
        self.writes = 0
        self.write_errors = []

    def start(self):
        self.proc = subprocess.Popen(
            [PUMPD, "--data-dir", self.data, "--socket", self.socket, "--station", "off", "--log-format", "json",
             "--clinician-uid", str(os.geteuid()),
             "--replica", self.url, "--replica-password-file", self.password_file, "--station-name", self.name,
             "--replica-timeout-seconds", "3"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            assert self.proc.poll() is None, f"{self.name}: pumpd exited {self.proc.returncode}; {self.log_tail()}"
            try:
                if self.get("/v1/health")["link"] == "up":
                    return
            except (OSError, http.client.HTTPException, KeyError, ValueError):
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name}: pumpd's link did not come up; {self.log_tail()}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.name}: pumpd did not stop on SIGTERM within 30 s")
        return self.proc.returncode if self.proc else None

    def log_tail(self, n=20):
        self.log.flush()
        with open(self.log.name) as f:
            return "\n--- pumpd log (end) ---\n" + "".join(f.readlines()[-n:])

    def request(self, method, path, body=None, headers=None):
        c = UnixHTTP(self.socket)
        try:
            c.request(method, path, body=None if body is None else json.dumps(body),
                      headers={"Content-Type": "application/json", **(headers or {})})
            r = c.getresponse()
            data = r.read()
            return r.status, (json.loads(data) if data and r.getheader("Content-Type", "").startswith("application/json") else data)
        finally:
            c.close()

    def get(self, path):
        status, body = self.request("GET", path)
        assert status == 200, f"{self.name}: GET {path} → {status} {body}"
        return body

    def write(self, method, path, body=None, key=None):
        headers = {"Idempotency-Key": key} if key else {}
        status, answer = self.request(method, path, body, headers)
        assert status in (200, 201), f"{self.name}: {method} {path} → {status} {answer}"
        return answer

    def simulator(self, command):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.connect(os.path.join(self.data, "simulator", "control.sock"))
            s.sendall((json.dumps(command) + "\n").encode())
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        finally:
            s.close()
        answer = json.loads(buf or b"{}")
        assert answer.get("ok") is True, f"pumpsim refused {command}: {answer}"

    def set_up_patient_and_pump(self):
        """Its own implant under the head, a patient's record, a refill and a program."""
        self.simulator({"implant_serial": self.serial})
        deadline = time.time() + 30
        while (self.get("/v1/device").get("implant") or {}).get("serial") != self.serial or self.get("/v1/health")["link"] != "up":
            assert time.time() < deadline, f"{self.name}: the implant {self.serial} did not come under the head"
            time.sleep(0.2)
        self.write("POST", "/v1/patients", {"name": f"Patient of {self.name}", "identifier": f"MRN-{self.name}",
                                            "implant_serial": self.serial, "pump_model": "IP-40"})
        self.write("POST", "/v1/refill", {"drug": "morphine", "concentration": {"value": "10", "unit": "mg/mL"},
                                          "reservoir": {"value": self.reservoir_ml, "unit": "mL"},
                                          "low_alarm": {"value": "4", "unit": "mL"}}, key=f"refill-{self.name}")
        self.write("PUT", "/v1/program", PROGRAM, key=f"program-{self.name}")

    def keep_writing(self, stop):
        """Clock syncs, one after another, until told to stop: each a command with its events."""
        while not stop.is_set():
            try:
                self.write("POST", "/v1/clock/sync")
                self.writes += 1
            except (AssertionError, OSError, http.client.HTTPException) as e:
                self.write_errors.append(str(e))
            time.sleep(0.05)

    def replica(self):
        return self.get("/v1/health")["replica"]

    def metric(self, name):
        status, text = self.request("GET", "/metrics")
        assert status == 200
        for line in text.decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"{self.name}: no {name} in /metrics")


def clinic(pg, login, password_file, *args):
    r = subprocess.run([PUMPCTL, "clinic", *args, "--database", pg.url(login), "--password-file", password_file],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    return r


@pytest.fixture(scope="module")
def clinic_db():
    pg = Cluster()
    base = tempfile.mkdtemp(prefix="pumpd-replication.")
    os.chmod(base, 0o700)
    stations = []
    try:
        reader = pg.create_login("reports", "pumpd_reader")
        for name, serial, ml in STATIONS:
            stations.append(Station(name, serial, ml, pg, pg.create_login(name, "pumpd_station"), base))
        yield pg, stations, reader
    finally:
        for s in stations:
            s.stop()
            s.proxy.close()
        pg.close()
        shutil.rmtree(base, ignore_errors=True)


def wait_caught_up(stations, seconds=90):
    deadline = time.time() + seconds
    while True:
        states = {s.name: s.replica() for s in stations}
        if all(r["state"] == "up" and r["lag_records"] == 0 for r in states.values()):
            return states
        assert time.time() < deadline, f"not caught up after {seconds} s: {states}"
        time.sleep(0.25)


def test_three_stations_through_a_stopped_database_and_a_cut_network(clinic_db):
    pg, stations, reader = clinic_db
    for s in stations:
        s.start()
        s.set_up_patient_and_pump()
    wait_caught_up(stations)

    stop = threading.Event()
    writers = [threading.Thread(target=s.keep_writing, args=(stop,), daemon=True) for s in stations]
    for w in writers:
        w.start()
    try:
        time.sleep(2)
        # The database stops for 6 s; the stations keep writing and say they are behind.
        pg.stop()
        time.sleep(3)
        behind = {s.name: s.replica() for s in stations}
        time.sleep(3)
        for name, r in behind.items():
            assert r["state"] == "connecting" and r["lag_records"] > 0 and r["last_error"], (name, r)
        pg.start()
        time.sleep(3)
        # The network to two of them is cut for 6 s: packets swallowed, nothing refused.
        for s in stations[1:]:
            s.proxy.cut()
        time.sleep(6)
        cut = {s.name: s.replica() for s in stations[1:]}
        for s in stations[1:]:
            s.proxy.restore()
        for name, r in cut.items():
            assert r["lag_records"] > 0, (name, r)
        time.sleep(2)
    finally:
        stop.set()
        for w in writers:
            w.join(30)
    for s in stations:
        assert s.writes > 50 and not s.write_errors, (s.name, s.writes, s.write_errors[:3])

    wait_caught_up(stations)
    rows = {}
    for s in stations:
        local = s.get("/v1/audit/verify")
        assert local["intact"], (s.name, local["breaks"][:3])
        n = local["entries"]
        got = pg.psql(f"SELECT count(*), count(DISTINCT seq), min(seq), max(seq), bool_and(chain_ok) "
                      f"FROM pumpd.record WHERE station = '{s.name}'").strip().split("|")
        assert got == [str(n), str(n), "1", str(n), "t"], (s.name, got, n)
        head = pg.psql(f"SELECT last_seq, last_hash FROM pumpd.station WHERE station = '{s.name}'").strip().split("|")
        assert head == [str(n), local["head_hash"]], (s.name, head, local["head_hash"])
        # In order: each batch was taken after the one before it.
        order = pg.psql(f"SELECT bool_and(ok) FROM (SELECT received_at >= lag(received_at, 1, received_at) OVER (ORDER BY seq) AS ok "
                        f"FROM pumpd.record WHERE station = '{s.name}') o").strip()
        assert order == "t", s.name
        rows[s.name] = n
    assert pg.psql("SELECT count(*) FROM pumpd.chain_break").strip() == "0"

    verify = clinic(pg, "reports", reader, "verify", "--json")
    assert verify.returncode == 0, verify.stdout + verify.stderr

    # The calendar (soonest first) is what each station projects for its own pump.
    cal = clinic(pg, "reports", reader, "calendar", "--days", "400", "--json")
    assert cal.returncode == 0, cal.stderr
    pumps = json.loads(cal.stdout)["pumps"]
    assert [p["implant_serial"] for p in pumps] == ["IPC-000003", "IPB-000002", "IPA-000001"], pumps
    now = time.time()
    for s in stations:
        p = next(p for p in pumps if p["implant_serial"] == s.serial)
        projected = now + s.metric("pumpd_pump_low_reservoir_in_seconds")
        assert abs(p["low_alarm_at"] - projected) < 120, (s.name, p["low_alarm_at"], projected)
        assert p["station"] == s.name and p["patient_name"] == f"Patient of {s.name}", p
        # What Prometheus sees of it: up, caught up, every entry shipped (some twice are not counted twice).
        assert s.metric("pumpd_replica_up") == 1 and s.metric("pumpd_replica_lag_records") == 0, s.name
        assert s.metric("pumpd_replica_lag_seconds") == 0 and s.metric("pumpd_replica_failures_total") >= 1, s.name
        assert s.metric("pumpd_journal_entries") >= rows[s.name], s.name
    print(f"journal entries replicated: {rows}; writes: {[s.writes for s in stations]}")


def test_an_edit_in_sqlite_or_in_postgresql_is_caught(clinic_db):
    pg, stations, reader = clinic_db
    a, b = stations[0], stations[1]
    # In PostgreSQL: station b's record 3, edited by someone who can switch the guard off.
    pg.psql("ALTER TABLE pumpd.record DISABLE TRIGGER record_append_only; "
            f"UPDATE pumpd.record SET payload = payload || ' ' WHERE station = '{b.name}' AND seq = 3; "
            "ALTER TABLE pumpd.record ENABLE TRIGGER record_append_only")
    r = clinic(pg, "reports", reader, "verify")
    assert r.returncode != 0 and b.name in r.stdout and "3" in r.stdout, r.stdout + r.stderr
    # Every pumpd stops cleanly on SIGTERM, after all that (a stop waiting on the
    # database once ended in ServiceLifecycle's fatalError: RELIABILITY.md §8, 23).
    for s in stations:
        assert s.stop() == 0, f"{s.name}: exit {s.proc.returncode}; {s.log_tail()}"
    # In SQLite: station a's trail (pumpd stopped), one of its commands edited.
    subprocess.run(["sqlite3", os.path.join(a.data, "audit.sqlite"), "UPDATE command SET note = 'edited' WHERE id = 'c2'"], check=True)
    r = subprocess.run([PUMPCTL, "audit", "verify", "--trail", os.path.join(a.data, "audit.sqlite"), "--json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    report = json.loads(r.stdout)
    assert r.returncode == 1 and not report["intact"], r.stdout + r.stderr
    assert report["breaks"][0]["source"] == "command" and report["breaks"][0]["key"] == "c2", report["breaks"]


def test_a_second_trail_under_a_known_name_is_stopped_not_merged(clinic_db):
    """Another station started under ward-a's name (or ward-a's trail restored
    from an older copy): the clinic holds entries this trail does not have, so
    the shipper stops, says why, and ships nothing; the clinic's copy is untouched."""
    pg, stations, reader = clinic_db
    a = stations[0]
    held = pg.psql(f"SELECT last_seq, last_hash FROM pumpd.station WHERE station = '{a.name}'").strip()
    base = tempfile.mkdtemp(prefix="pumpd-replication-twin.")
    try:
        twin = Station(a.name, "IPZ-000009", "10", pg, a.password_file, base)
        twin.start()
        deadline = time.time() + 30
        while (r := twin.replica())["state"] != "diverged":
            assert time.time() < deadline, r
            time.sleep(0.2)
        assert "holds" in r["last_error"] and a.name in r["last_error"], r
        twin.write("POST", "/v1/clock/sync")  # the station itself goes on
        time.sleep(1)
        assert pg.psql(f"SELECT last_seq, last_hash FROM pumpd.station WHERE station = '{a.name}'").strip() == held
        assert twin.stop() == 0
        twin.proxy.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)

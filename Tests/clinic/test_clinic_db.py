"""The clinic's PostgreSQL for real (Tests/clinic/pg.py starts Debian's
PostgreSQL 15): the schema of deploy/postgres as a station and a reader meet
it, its views' answers, and `pumpctl clinic` against it (BIN=DIR holds the
pumpctl to run; default .build/debug).

Journals are made here, hash chain included (journal.py), and ingested with
pumpd.ingest as a station's role over TCP with its password, as a shipper does.
"""

import json
import os
import subprocess
import time

import psycopg
import pytest

from journal import Journal, command_row, finding, ingest, patient_row, pump_row, review
from pg import REPO, BlackholeProxy, Cluster, free_port

BIN = os.environ.get("BIN", os.path.join(REPO, ".build", "debug"))
PUMPCTL = os.path.join(BIN, "pumpctl")

NOW_S = int(time.time())
DAY = 86400


def ms(iso_day, hour=9):
    """Unix ms of an ISO day (UTC) at an hour."""
    from datetime import datetime, timezone
    d = datetime.fromisoformat(iso_day).replace(hour=hour, tzinfo=timezone.utc)
    return int(d.timestamp()) * 1000


def login(pg, role, password_file, port=None, database="clinic"):
    return psycopg.connect(host="127.0.0.1", port=port or pg.port, user=role, dbname=database,
                           password=Cluster.read_password(password_file), connect_timeout=10)


def pumpctl(pg, role, password_file, *args, port=None, database="clinic", env=None, timeout=120):
    argv = [PUMPCTL, "clinic", *args, "--database", pg.url(role, port=port, database=database), "--password-file", password_file]
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def pumpctl_json(pg, role, password_file, *args):
    r = pumpctl(pg, role, password_file, *args, "--json")
    assert r.returncode == 0, f"pumpctl clinic {' '.join(args)}: exit {r.returncode}\n{r.stderr}"
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def pg():
    cluster = Cluster()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def logins(pg):
    return {
        "ward-a": pg.create_login("ward-a", "pumpd_station"),
        "ward-b": pg.create_login("ward-b", "pumpd_station"),
        "ward-x": pg.create_login("ward-x", "pumpd_station"),
        "reports": pg.create_login("reports", "pumpd_reader"),
    }


# ---- the clinic: two stations' journals --------------------------------------

def clinic_journals():
    """Ward A and ward B as their stations would have journalled them.

    PH1-0001: Ada's pump, seen at ward A, then later at ward B (the newer
    snapshot, low alarm in 5 days less an hour, so 4 whole days from now). PH1-0002: Grace's (low alarm in 30 days).
    PH1-0003: Alan's at ward B, already at its low alarm. PH1-0004: a pump at
    ward B with no patient record (low alarm in 9 days and 23 hours). PH1-0005: Edsger's
    record at ward B, whose pump never reported.
    """
    a = Journal("ward-a")
    a.add("patient", "p1", patient_row("p1", "PH1-0001", "Ada Lovelace", "MRN-1001", ms("2026-01-05")), ms("2026-01-05"))
    a.add("patient", "p2", patient_row("p2", "PH1-0002", "Grace Hopper", "MRN-1002", ms("2026-01-05", 10)), ms("2026-01-05", 10))
    a.add("pump", "PH1-0001", pump_row("PH1-0001", "p1", reservoir=9_000_000, low_alarm_at=NOW_S + 3 * DAY,
                                       empty_at=NOW_S + 20 * DAY, recorded_ms=(NOW_S - 2 * DAY) * 1000), (NOW_S - 2 * DAY) * 1000)
    a.add("pump", "PH1-0002", pump_row("PH1-0002", "p2", drug="baclofen", drug_code=4, concentration=500_000, daily=150_000,
                                       reservoir=35_250_000, low_alarm_at=NOW_S + 30 * DAY, empty_at=NOW_S + 60 * DAY,
                                       recorded_ms=(NOW_S - DAY) * 1000), (NOW_S - DAY) * 1000)
    # c1: a program whose increase passes change.max_percent, overridden; pending, then succeeded.
    c1_review = review("program", "morphine", 10_000_000, [
        finding("change.max_percent", "the average daily dose goes from 2 mg/day to 3 mg/day, an increase of 50 %",
                reason="titration agreed with the pain team; patient reviewed today"),
        finding("reservoir.empty_soon", "the reservoir runs empty in 20 d", reason=None, severity="info"),
    ], ms("2026-02-03") // 1000)
    a.add("command", "c1", command_row("c1", ms("2026-02-03"), "program", state="pending", review_value=c1_review), ms("2026-02-03"))
    a.add("command", "c1", command_row("c1", ms("2026-02-03"), "program", state="succeeded", review_value=c1_review), ms("2026-02-03") + 900)
    # c2: a bolus under every limit: no override.
    a.add("command", "c2", command_row("c2", ms("2026-02-10"), "bolus", review_value=review("bolus", "morphine", 10_000_000, [], 0)),
          ms("2026-02-10"))
    # c3: a refill to a new drug whose concentration passes a soft limit, overridden by another clinician; its answer was lost.
    c3_review = review("refill", "morphine", 10_000_000, [
        finding("concentration.range", "25 mg/mL of hydromorphone is above the library's usual range", field="concentration",
                reason="compounded by pharmacy at 25 mg/mL on the consultant's order"),
    ], 0, detail={"refill": {"proposed": {"drug": "hydromorphone"}, "current": {"drug": "morphine"}, "programKept": False}})
    a.add("command", "c3", command_row("c3", ms("2026-02-20"), "refill", account="bob", role="clinician", state="uncertain",
                                       patient_id="p2", review_value=c3_review), ms("2026-02-20"))
    a.add("security", "s1", {"id": 1, "atMs": ms("2026-02-20"), "kind": "sign_in", "actor": "bob", "subject": "bob", "detail": None},
          ms("2026-02-20"))

    b = Journal("ward-b", version="1.9.1")
    b.add("patient", "p1", patient_row("p1", "PH1-0003", "Alan Turing", "MRN-2001", ms("2026-01-02")), ms("2026-01-02"))
    b.add("patient", "p2", patient_row("p2", "PH1-0005", "Edsger Dijkstra", "MRN-2002", ms("2026-01-02", 11)), ms("2026-01-02", 11))
    b.add("pump", "PH1-0003", pump_row("PH1-0003", "p1", drug="ziconotide", drug_code=3, concentration=100_000, daily=2_400,
                                       reservoir=1_500_000, low_alarm_at=NOW_S - 2 * DAY, low_alarm_already=1,
                                       empty_at=NOW_S + 4 * DAY, recorded_ms=(NOW_S - 3600) * 1000, alarms=["low_reservoir"]),
          (NOW_S - 3600) * 1000)
    b.add("pump", "PH1-0001", pump_row("PH1-0001", None, reservoir=7_750_000, low_alarm_at=NOW_S + 5 * DAY - 3600,
                                       empty_at=NOW_S + 18 * DAY, recorded_ms=(NOW_S - 600) * 1000), (NOW_S - 600) * 1000)
    b.add("pump", "PH1-0004", pump_row("PH1-0004", None, reservoir=12_000_000, low_alarm_at=NOW_S + 10 * DAY - 3600,
                                       empty_at=None, recorded_ms=(NOW_S - 7200) * 1000), (NOW_S - 7200) * 1000)
    # c1 at ward B: a clinician bolus over its soft maximum, from the socket (uid, no account).
    b1_review = review("bolus", "ziconotide", 100_000, [
        finding("clinician_bolus.soft_max", "a bolus of 1 mcg exceeds the soft maximum of 0.5 mcg", field="dose",
                reason="breakthrough pain after the catheter revision"),
    ], 0)
    b.add("command", "c1", command_row("c1", ms("2026-01-10"), "bolus", account=None, role="clinician", uid=1000,
                                       patient_id="p1", review_value=b1_review), ms("2026-01-10"))
    b.add("event", "17", {"index": 17, "time": NOW_S - 3600, "code": 0x0201, "name": "LOW_RESERVOIR", "originSeq": 0,
                          "originSession": 0, "value1": 1_500_000, "value2": 0, "receivedMs": (NOW_S - 3590) * 1000,
                          "patientId": "p1"}, (NOW_S - 3590) * 1000)
    return a, b


@pytest.fixture(scope="module")
def clinic(pg, logins):
    a, b = clinic_journals()
    with login(pg, "ward-a", logins["ward-a"]) as conn:
        assert ingest(conn, "ward-a", a.records[:5]) == 5
        assert ingest(conn, "ward-a", a.records[5:], version=a.version) == len(a.records)
    with login(pg, "ward-b", logins["ward-b"]) as conn:
        assert ingest(conn, "ward-b", b.records, version=b.version) == len(b.records)
    return {"ward-a": a, "ward-b": b}


# ---- the schema as a station meets it ----------------------------------------

def test_a_resent_batch_is_taken_once(pg, logins, clinic):
    a = clinic["ward-a"]
    with login(pg, "ward-a", logins["ward-a"]) as conn:
        # A retry after a lost answer: the same records again, and resume says where the chain stands.
        assert ingest(conn, "ward-a", a.records[3:]) == len(a.records)
        with conn.cursor() as cur:
            cur.execute("SELECT last_seq, last_hash FROM pumpd.resume('ward-a')")
            assert cur.fetchone() == (len(a.records), a.records[-1].hash)
    assert pg.psql("SELECT count(*) FROM pumpd.record WHERE station = 'ward-a'").strip() == str(len(a.records))
    assert pg.psql("SELECT count(*) FROM pumpd.chain_break WHERE station = 'ward-a'").strip() == "0"
    assert pg.psql("SELECT bool_and(chain_ok) FROM pumpd.record WHERE station = 'ward-a'").strip() == "t"


def test_a_gap_is_refused_and_nothing_is_kept(pg, logins, clinic):
    a = clinic["ward-a"]
    extra = Journal("ward-a")
    extra.records, extra.prev = list(a.records), a.records[-1].hash
    extra.add("security", "s2", {"id": 2, "atMs": NOW_S * 1000, "kind": "sign_out", "actor": "bob", "subject": "bob", "detail": None}, NOW_S * 1000)
    skipped = extra.add("security", "s3", {"id": 3, "atMs": NOW_S * 1000, "kind": "sign_in", "actor": "eve", "subject": "eve", "detail": None}, NOW_S * 1000)
    with login(pg, "ward-a", logins["ward-a"]) as conn:
        with pytest.raises(psycopg.errors.InvalidParameterValue) as refused:
            ingest(conn, "ward-a", [skipped])
        assert f"sent record {skipped.seq} where {skipped.seq - 1} was next" in str(refused.value)
    assert pg.psql("SELECT max(seq) FROM pumpd.record WHERE station = 'ward-a'").strip() == str(len(a.records))


def test_a_bad_hash_is_kept_and_flagged(pg, logins):
    j = Journal("ward-x")
    j.add("security", "s1", {"id": 1, "atMs": 1, "kind": "sign_in", "actor": "x", "subject": "x", "detail": None}, 1)
    bad = j.add("security", "s2", {"id": 2, "atMs": 2, "kind": "sign_in", "actor": "y", "subject": "y", "detail": None}, 2)
    bad.hash = "f" * 64  # what a station with a bug, or a changed trail, would send
    with login(pg, "ward-x", logins["ward-x"]) as conn:
        assert ingest(conn, "ward-x", j.records) == 2
    assert pg.psql("SELECT seq, chain_ok FROM pumpd.record WHERE station = 'ward-x' ORDER BY seq").split() == ["1|t", "2|f"]
    reasons = pg.psql("SELECT seq || ' ' || found_by || ' ' || reason FROM pumpd.chain_break WHERE station = 'ward-x'").strip()
    assert reasons.startswith("2 ingest record 2: its hash is not the SHA-256 of its prev_hash and payload"), reasons
    # The same record sent again with another hash is flagged, not taken.
    again = Journal("ward-x")
    again.add("security", "s1", {"id": 1, "atMs": 1, "kind": "sign_in", "actor": "x", "subject": "x", "detail": "changed"}, 1)
    with login(pg, "ward-x", logins["ward-x"]) as conn:
        ingest(conn, "ward-x", again.records)
    assert "the station sent record 1 again with hash" in pg.psql("SELECT reason FROM pumpd.chain_break WHERE station = 'ward-x' AND seq = 1")
    stations = {s["station"]: s for s in pumpctl_json(pg, "reports", logins["reports"], "stations")["stations"]}
    assert stations["ward-x"]["chain_breaks"] == 2 and stations["ward-x"]["first_break_seq"] == 1


@pytest.mark.parametrize("sql", [
    "UPDATE pumpd.record SET payload = 'x' WHERE station = 'ward-a'",
    "DELETE FROM pumpd.record WHERE station = 'ward-a'",
    "SELECT count(*) FROM pumpd.record",
    "SELECT count(*) FROM pumpd.chain_break",
    "SELECT * FROM pumpd.clinic_pumps",
    "INSERT INTO pumpd.chain_break (station, seq, found_by, reason) VALUES ('ward-b', 1, 'x', 'y')",
    "UPDATE pumpd.station SET last_seq = 0",
])
def test_a_station_may_only_ingest_and_resume(pg, logins, clinic, sql):
    with login(pg, "ward-a", logins["ward-a"]) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(sql)


def test_not_even_the_owner_changes_a_record(pg, clinic):
    with pytest.raises(RuntimeError, match="append-only"):
        pg.psql("UPDATE pumpd.record SET key = 'c9' WHERE station = 'ward-a' AND seq = 1")
    with pytest.raises(RuntimeError, match="append-only"):
        pg.psql("DELETE FROM pumpd.record WHERE station = 'ward-a' AND seq = 1")


def test_a_reader_reads_the_views_and_cannot_ingest(pg, logins, clinic):
    with login(pg, "reports", logins["reports"]) as conn:
        assert conn.execute("SELECT count(*) FROM pumpd.clinic_stations").fetchone()[0] >= 2
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT pumpd.ingest('ward-a', 'x', '{}', '{}', '{}', '{}', '{}', '{}', '{}')")


def test_the_password_is_checked(pg, logins):
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(host="127.0.0.1", port=pg.port, user="ward-a", dbname="clinic", password="not it", connect_timeout=5)


# ---- the views ----------------------------------------------------------------

def test_clinic_pumps_has_every_patient_and_pump_newest_first(pg, logins, clinic):
    with login(pg, "reports", logins["reports"]) as conn:
        rows = conn.execute(
            "SELECT implant_serial, patient_id, patient_name, drug, concentration_ng_per_ml, concentration_mg_per_ml::text, "
            "daily_dose_ng_per_day, daily_dose_mg_per_day::text, reservoir_nl, reservoir_ml::text, station, patient_station, "
            "low_alarm_at = to_timestamp(%s), low_alarm_already "
            "FROM pumpd.clinic_pumps ORDER BY implant_serial", (NOW_S + 5 * DAY - 3600,)).fetchall()
    assert rows == [
        # Ada's pump: ward B's snapshot is the newer; her record is ward A's.
        ("PH1-0001", "p1", "Ada Lovelace", "morphine", 10_000_000, "10", 2_400_000, "2.4", 7_750_000, "7.75", "ward-b", "ward-a", True, False),
        ("PH1-0002", "p2", "Grace Hopper", "baclofen", 500_000, "0.5", 150_000, "0.15", 35_250_000, "35.25", "ward-a", "ward-a", False, False),
        ("PH1-0003", "p1", "Alan Turing", "ziconotide", 100_000, "0.1", 2_400, "0.0024", 1_500_000, "1.5", "ward-b", "ward-b", False, True),
        ("PH1-0004", None, None, "morphine", 10_000_000, "10", 2_400_000, "2.4", 12_000_000, "12", "ward-b", None, False, False),
        ("PH1-0005", "p2", "Edsger Dijkstra", None, None, None, None, None, None, None, None, "ward-b", None, False),
    ]


def test_refill_calendar_is_soonest_first(pg, logins, clinic):
    with login(pg, "reports", logins["reports"]) as conn:
        due = [r[0] for r in conn.execute("SELECT implant_serial FROM pumpd.refill_calendar(14)").fetchall()]
        assert due == ["PH1-0003", "PH1-0001", "PH1-0004"]
        assert [r[0] for r in conn.execute("SELECT implant_serial FROM pumpd.refill_calendar(0)").fetchall()] == ["PH1-0003"]
        assert len(conn.execute("SELECT * FROM pumpd.refill_calendar(31)").fetchall()) == 4
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute("SELECT * FROM pumpd.refill_calendar(-1)")


def test_clinic_overrides_says_who_and_why(pg, logins, clinic):
    with login(pg, "reports", logins["reports"]) as conn:
        rows = conn.execute(
            "SELECT station, command_id, account, role, uid, patient_id, patient_name, drug, rule, reason, state, kind "
            "FROM pumpd.clinic_overrides ORDER BY at").fetchall()
        assert rows == [
            ("ward-b", "c1", None, "clinician", 1000, "p1", "Alan Turing", "ziconotide", "clinician_bolus.soft_max",
             "breakthrough pain after the catheter revision", "succeeded", "bolus"),
            ("ward-a", "c1", "alice", "clinician", 998, "p1", "Ada Lovelace", "morphine", "change.max_percent",
             "titration agreed with the pain team; patient reviewed today", "succeeded", "program"),
            ("ward-a", "c3", "bob", "clinician", 998, "p2", "Grace Hopper", "hydromorphone", "concentration.range",
             "compounded by pharmacy at 25 mg/mL on the consultant's order", "uncertain", "refill"),
        ]
        period = conn.execute("SELECT station, command_id FROM pumpd.clinic_overrides WHERE at >= '2026-02-01Z' AND at < '2026-02-11Z'").fetchall()
        assert period == [("ward-a", "c1")]


# ---- pumpctl clinic -------------------------------------------------------------

def test_pumpctl_clinic_stations(pg, logins, clinic):
    stations = {s["station"]: s for s in pumpctl_json(pg, "reports", logins["reports"], "stations")["stations"]}
    a, b = clinic["ward-a"], clinic["ward-b"]
    assert stations["ward-a"]["last_seq"] == len(a.records) and stations["ward-a"]["records"] == len(a.records)
    assert stations["ward-b"]["records"] == len(b.records) and stations["ward-b"]["pumpd_version"] == "1.9.1"
    assert stations["ward-a"]["chain_breaks"] == 0 and stations["ward-a"]["last_replicated"].endswith("Z")
    people = pumpctl(pg, "reports", logins["reports"], "stations")
    assert people.returncode == 0 and people.stdout.splitlines()[0].split() == ["STATION", "LAST", "REPLICATED", "LAST", "SEQ", "RECORDS", "BREAKS", "PUMPD"]


def test_pumpctl_clinic_pumps(pg, logins, clinic):
    pumps = {p["implant_serial"]: p for p in pumpctl_json(pg, "reports", logins["reports"], "pumps")["pumps"]}
    ada = pumps["PH1-0001"]
    assert (ada["patient_name"], ada["station"], ada["reservoir_nl"], ada["reservoir_ml"]) == ("Ada Lovelace", "ward-b", 7_750_000, "7.75")
    assert (ada["concentration_ng_per_ml"], ada["concentration_mg_per_ml"], ada["daily_dose_mg_per_day"]) == (10_000_000, "10", "2.4")
    assert ada["low_alarm_at"] == NOW_S + 5 * DAY - 3600 and ada["low_alarm_already"] is False
    assert pumps["PH1-0003"]["alarms"] == ["low_reservoir"] and pumps["PH1-0003"]["low_alarm_already"] is True
    assert pumps["PH1-0005"]["drug"] is None and pumps["PH1-0005"]["patient_name"] == "Edsger Dijkstra"
    people = pumpctl(pg, "reports", logins["reports"], "pumps")
    assert people.returncode == 0, people.stderr
    line = next(l for l in people.stdout.splitlines() if l.startswith("PH1-0001"))
    assert "Ada Lovelace (p1)" in line and "10 mg/mL" in line and "2.4 mg/day" in line and "7.75 mL" in line


def test_pumpctl_clinic_calendar(pg, logins, clinic):
    cal = pumpctl_json(pg, "reports", logins["reports"], "calendar", "--days", "14")
    assert cal["days"] == 14
    assert [(p["implant_serial"], p["days_until_low_alarm"]) for p in cal["pumps"]] == [("PH1-0003", 0), ("PH1-0001", 4), ("PH1-0004", 9)]
    assert [p["implant_serial"] for p in pumpctl_json(pg, "reports", logins["reports"], "calendar")["pumps"]] == ["PH1-0003", "PH1-0001", "PH1-0004"]
    people = pumpctl(pg, "reports", logins["reports"], "calendar", "--days", "7")
    assert people.returncode == 0, people.stderr
    lines = people.stdout.splitlines()
    assert lines[1].startswith("reached") and "PH1-0003" in lines[1] and "PH1-0001" in lines[2] and len(lines) == 3
    bad = pumpctl(pg, "reports", logins["reports"], "calendar", "--days", "-3")
    assert bad.returncode == 64


def test_pumpctl_clinic_overrides(pg, logins, clinic):
    every = pumpctl_json(pg, "reports", logins["reports"], "overrides")["overrides"]
    assert [(o["station"], o["command_id"], o["who"], o["rule"]) for o in every] == [
        ("ward-b", "c1", "uid 1000 (clinician)", "clinician_bolus.soft_max"),
        ("ward-a", "c1", "alice (clinician)", "change.max_percent"),
        ("ward-a", "c3", "bob (clinician)", "concentration.range"),
    ]
    assert every[2]["reason"] == "compounded by pharmacy at 25 mg/mL on the consultant's order" and every[2]["state"] == "uncertain"
    assert every[2]["drug"] == "hydromorphone" and every[1]["patient_name"] == "Ada Lovelace"
    february = pumpctl_json(pg, "reports", logins["reports"], "overrides", "--from", "2026-02-01", "--to", "2026-02-19")["overrides"]
    assert [(o["station"], o["command_id"]) for o in february] == [("ward-a", "c1")]
    through_20th = pumpctl_json(pg, "reports", logins["reports"], "overrides", "--from", "2026-02-01", "--to", "2026-02-20")["overrides"]
    assert [o["command_id"] for o in through_20th] == ["c1", "c3"]
    instant = pumpctl_json(pg, "reports", logins["reports"], "overrides", "--from", "2026-02-20T09:00:01Z")["overrides"]
    assert instant == []
    people = pumpctl(pg, "reports", logins["reports"], "overrides", "--to", "2026-01-31")
    assert people.returncode == 0 and "breakthrough pain after the catheter revision" in people.stdout and "uid 1000 (clinician)" in people.stdout
    assert pumpctl(pg, "reports", logins["reports"], "overrides", "--from", "2026-02-30").returncode == 64


def test_pumpctl_clinic_refuses_a_station_role(pg, logins, clinic):
    r = pumpctl(pg, "ward-a", logins["ward-a"], "pumps")
    assert r.returncode == 4, r.stderr
    assert "pumpd_reader" in r.stderr


def test_pumpctl_clinic_says_a_wrong_password(pg, logins):
    wrong = pg.write_password_file("reports-wrong", "not the password")
    r = pumpctl(pg, "reports", wrong, "stations")
    assert r.returncode == 4 and "refused reports's login" in r.stderr and "password" in r.stderr, r.stderr


def test_pumpctl_clinic_refuses_an_exposed_password_file(pg, logins):
    os.chmod(logins["reports"], 0o644)
    try:
        r = pumpctl(pg, "reports", logins["reports"], "stations")
        assert r.returncode == 78 and "chmod 600" in r.stderr
    finally:
        os.chmod(logins["reports"], 0o600)


def test_pumpctl_clinic_says_the_schema_is_too_old(pg, logins):
    # A database migrated to version 1 only, as before this change.
    pg.create_database("old_clinic", migrate=False)
    r = subprocess.run(["psql", pg.superuser_database_url("old_clinic"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1",
                        "-f", os.path.join(REPO, "deploy", "postgres", "001_records.sql")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = pumpctl(pg, "reports", logins["reports"], "pumps", database="old_clinic")
    assert r.returncode == 78, r.stderr
    assert "version 1" in r.stderr and "apply deploy/postgres/migrate" in r.stderr


def test_pumpctl_clinic_needs_an_address(pg, logins):
    r = subprocess.run([PUMPCTL, "clinic", "stations"], capture_output=True, text=True, timeout=30,
                       env={k: v for k, v in os.environ.items() if not k.startswith("PUMPD_CLINIC")})
    assert r.returncode == 64 and "PUMPD_CLINIC_DATABASE" in r.stderr
    r = subprocess.run([PUMPCTL, "clinic", "stations"], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PUMPD_CLINIC_DATABASE": pg.url("reports"), "PUMPD_CLINIC_PASSWORD_FILE": logins["reports"]})
    assert r.returncode == 0 and "ward-a" in r.stdout, r.stderr
    r = subprocess.run([PUMPCTL, "clinic", "stations", "--database", "postgres://reports:secret@127.0.0.1/clinic",
                        "--password-file", logins["reports"]], capture_output=True, text=True, timeout=30)
    assert r.returncode == 78 and "carries a password" in r.stderr


def test_pumpctl_clinic_help_teaches():
    r = subprocess.run([PUMPCTL, "clinic", "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    for text in ("pumpctl clinic calendar --days 14", "pumpctl clinic verify", "PUMPD_CLINIC_PASSWORD_FILE", "deploy/postgres/migrate"):
        assert text in r.stdout, text
    r = subprocess.run([PUMPCTL, "clinic", "overrides", "--help"], capture_output=True, text=True, timeout=30)
    assert "--from 2026-11-01 --to 2026-11-30" in r.stdout


# ---- the network and the server going away --------------------------------------

def test_pumpctl_clinic_through_a_cut_cable(pg, logins, clinic):
    with BlackholeProxy(pg.port) as proxy:
        r = pumpctl(pg, "reports", logins["reports"], "stations", "--json", port=proxy.port)
        assert r.returncode == 0 and "ward-a" in r.stdout, r.stderr
        proxy.cut()
        t0 = time.monotonic()
        r = pumpctl(pg, "reports", logins["reports"], "stations", "--timeout", "3", port=proxy.port)
        took = time.monotonic() - t0
        assert r.returncode == 6, r.stderr
        assert "sent nothing for 3 s" in r.stderr or "did not answer" in r.stderr, r.stderr
        assert took < 15, took
        proxy.restore()
        r = pumpctl(pg, "reports", logins["reports"], "stations", port=proxy.port)
        assert r.returncode == 0 and "ward-b" in r.stdout, r.stderr


def test_pumpctl_clinic_while_the_server_is_down(pg, logins, clinic):
    pg.stop()
    try:
        r = pumpctl(pg, "reports", logins["reports"], "stations")
        assert r.returncode == 6 and "cannot reach the clinic database" in r.stderr, r.stderr
    finally:
        pg.start()
    r = pumpctl(pg, "reports", logins["reports"], "stations")
    assert r.returncode == 0 and "ward-a" in r.stdout, r.stderr
    closed = free_port()
    r = pumpctl(pg, "reports", logins["reports"], "stations", port=closed)
    assert r.returncode == 6 and f"127.0.0.1:{closed}" in r.stderr, r.stderr


# ---- verify: every chain recomputed ------------------------------------------------

_databases = iter(range(1, 1000))


@pytest.fixture()
def fresh(pg, logins):
    """A database of its own, beside `clinic` in the same server, with the two
    wards' journals: verify answers for every chain in it."""
    database = pg.create_database(f"verify_{next(_databases)}")
    a, b = clinic_journals()
    for j in (a, b):
        with login(pg, j.station, logins[j.station], database=database) as conn:
            ingest(conn, j.station, j.records, version=j.version)
    return Fresh(pg, logins, database, a, b)


class Fresh:
    def __init__(self, pg, logins, database, a, b):
        self.pg, self.logins, self.database, self.a, self.b = pg, logins, database, a, b

    def verify(self, *args):
        return pumpctl(self.pg, "reports", self.logins["reports"], "verify", *args, database=self.database)

    def tamper(self, sql):
        tamper(self.pg, sql, self.database)


def tamper(pg, sql, database):
    """What a superuser could do: switch the append-only trigger off, change, switch it on."""
    pg.psql("ALTER TABLE pumpd.record DISABLE TRIGGER record_append_only", database=database)
    try:
        pg.psql(sql, database=database)
    finally:
        pg.psql("ALTER TABLE pumpd.record ENABLE TRIGGER record_append_only", database=database)


def test_verify_says_every_chain_holds(fresh):
    a, b = fresh.a, fresh.b
    r = fresh.verify()
    total = len(a.records) + len(b.records)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == f"{total} records of 2 stations, every chain holds"
    report = json.loads(fresh.verify("--json").stdout)
    assert report["intact"] is True and report["records"] == total and report["breaks"] == []


def test_verify_catches_a_payload_edited_in_postgres(fresh):
    a, b = fresh.a, fresh.b
    # Alan's ziconotide bolus override, made to look like a smaller dose.
    seq = next(r.seq for r in b.records if r.source == "command")
    fresh.tamper(f"UPDATE pumpd.record SET payload = replace(payload, 'a bolus of 1 mcg', 'a bolus of 0.4 mcg') "
                    f"WHERE station = 'ward-b' AND seq = {seq}")
    r = fresh.verify()
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"BROKEN: station ward-b, record {seq}: its hash" in r.stdout and "payload or its hash was changed" in r.stdout
    report = json.loads(fresh.verify("--json").stdout)
    assert report["intact"] is False
    assert [(x["station"], x["seq"], x["kind"]) for x in report["breaks"]] == [("ward-b", seq, "hash_mismatch")]
    holds = {s["station"]: s["holds"] for s in report["stations"]}
    assert holds == {"ward-a": True, "ward-b": False}


def test_verify_catches_a_rehashed_record_and_a_changed_row(fresh):
    a, b = fresh.a, fresh.b
    # Payload and hash both rewritten: the next record's prev_hash gives it away.
    fresh.tamper("UPDATE pumpd.record SET payload = payload || ' ', hash = encode(sha256(convert_to(prev_hash || E'\\n' || payload || ' ', 'UTF8')), 'hex') "
                    "WHERE station = 'ward-a' AND seq = 3")
    # The row the views read changed, the hashed payload left as it was.
    fresh.tamper("UPDATE pumpd.record SET row = jsonb_set(row, '{reservoirNl}', '40000000') WHERE station = 'ward-b' AND seq = 4")
    report = json.loads(fresh.verify("--json").stdout)
    assert [(x["station"], x["seq"], x["kind"]) for x in report["breaks"]] == [("ward-a", 4, "prev_mismatch"), ("ward-b", 4, "content_mismatch")]
    assert "row" in report["breaks"][1]["reason"]


def test_verify_catches_deleted_records(fresh):
    a, b = fresh.a, fresh.b
    fresh.tamper("DELETE FROM pumpd.record WHERE station = 'ward-a' AND seq IN (2, 3)")
    fresh.tamper(f"DELETE FROM pumpd.record WHERE station = 'ward-b' AND seq = {len(b.records)}")
    r = fresh.verify()
    assert r.returncode == 1
    assert "BROKEN: station ward-a, record 4: records 2…3 are missing" in r.stdout
    assert f"BROKEN: station ward-b, record {len(b.records)}: record {len(b.records)}, the station's last, is missing" in r.stdout


def test_verify_lists_the_breaks_recorded_at_ingest(fresh):
    a, b = fresh.a, fresh.b
    again = Journal("ward-a")
    again.add("patient", "p1", patient_row("p1", "PH1-0001", "Ada King", "MRN-1001", ms("2026-01-05")), ms("2026-01-05"))
    with login(fresh.pg, "ward-a", fresh.logins["ward-a"], database=fresh.database) as conn:
        ingest(conn, "ward-a", again.records)
    r = fresh.verify()
    assert r.returncode == 1
    assert "every chain recomputes" in r.stdout and "Breaks recorded in pumpd.chain_break (1)" in r.stdout
    assert "the station sent record 1 again" in r.stdout


def test_verify_streams_a_long_chain(fresh):
    a, b = fresh.a, fresh.b
    j = Journal("ward-long")
    pw = fresh.pg.create_login("ward-long", "pumpd_station")
    n = 20_000
    for i in range(1, n + 1):
        j.add("event", str(i), {"index": i, "time": 1_700_000_000 + i, "code": 0x0101, "name": "RATE_STEP", "originSeq": 0,
                                "originSession": 0, "value1": i, "value2": 0, "receivedMs": 1_700_000_000_000 + i, "patientId": "p1"},
              1_700_000_000_000 + i)
    with login(fresh.pg, "ward-long", pw, database=fresh.database) as conn:
        for start in range(0, n, 5000):
            ingest(conn, "ward-long", j.records[start:start + 5000])
    t0 = time.monotonic()
    r = fresh.verify()
    took = time.monotonic() - t0
    total = n + len(a.records) + len(b.records)
    assert r.returncode == 0 and r.stdout.strip() == f"{total} records of 3 stations, every chain holds", r.stdout + r.stderr
    print(f"\nverify: {total} records in {took:.2f} s")

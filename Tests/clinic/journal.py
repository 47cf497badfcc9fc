"""A station's journal made in Python, as a pumpd station writes it, for the
clinic database's tests: each record's payload is the JSON text
{"seq":N,"atMs":MS,"source":"SRC","key":"KEY","row":{...}}, and its hash is
hex(SHA-256(prev_hash || "\\n" || payload)), the prev of seq 1 being 64 zeros.
The rows follow the station's SQLite columns (Sources/Audit), the pump's
snapshot and the command's review (Sources/DoseSafety/Review.swift) included.
"""

import hashlib
import json
from dataclasses import dataclass

ZERO = "0" * 64


def chain_hash(prev, payload):
    return hashlib.sha256((prev + "\n" + payload).encode("utf-8")).hexdigest()


@dataclass
class Record:
    seq: int
    at_ms: int
    source: str
    key: str
    payload: str
    prev_hash: str
    hash: str


class Journal:
    def __init__(self, station, version="1.9.0"):
        self.station = station
        self.version = version
        self.records = []
        self.prev = ZERO

    def add(self, source, key, row, at_ms):
        seq = len(self.records) + 1
        payload = json.dumps({"seq": seq, "atMs": at_ms, "source": source, "key": key, "row": row},
                             separators=(",", ":"), ensure_ascii=False)
        r = Record(seq, at_ms, source, key, payload, self.prev, chain_hash(self.prev, payload))
        self.records.append(r)
        self.prev = r.hash
        return r


def ingest(conn, station, records, version="1.9.0"):
    """pumpd.ingest as a station calls it: one batch, arrays in seq order."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pumpd.ingest(%s, %s, %s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])",
            (station, version, [r.seq for r in records], [r.at_ms for r in records], [r.source for r in records],
             [r.key for r in records], [r.payload for r in records], [r.prev_hash for r in records],
             [r.hash for r in records]))
        last = cur.fetchone()[0]
    conn.commit()
    return last


# ---- rows, as the station's tables hold them --------------------------------

def patient_row(pid, serial, name, identifier, ms, changed_by="alice (clinician)"):
    return {"id": pid, "implantSerial": serial, "name": name, "identifier": identifier, "implantDate": "2024-03-18",
            "pumpModel": "PH-1", "catheterLengthMm": 600, "catheterNanolitresPerCm": 2200, "catheterVolumeNl": None,
            "createdMs": ms, "updatedMs": ms, "changedBy": changed_by}


def pump_row(serial, patient_id, *, drug="morphine", drug_code=1, concentration=10_000_000, daily=2_400_000,
             reservoir=18_500_000, capacity=40_000_000, low_alarm=4_000_000, low_alarm_at=None, low_alarm_already=0,
             empty_at=None, empty_already=0, recorded_ms, state="running", alarms=()):
    return {"implantSerial": serial, "patientId": patient_id, "drug": drug, "drugCode": drug_code,
            "concentrationNgPerMl": concentration, "currentRateNgPerDay": daily, "dailyDoseNgPerDay": daily,
            "reservoirNl": reservoir, "capacityNl": capacity, "lowAlarmNl": low_alarm, "lowAlarmAt": low_alarm_at,
            "lowAlarmAlready": low_alarm_already, "emptyAt": empty_at, "emptyAlready": empty_already,
            "batteryMv": 3050, "batteryMonthsLeft": 41, "state": state, "alarms": list(alarms),
            "deviceTime": recorded_ms // 1000, "lastRefillAt": recorded_ms // 1000 - 20 * 86400, "recordedMs": recorded_ms}


def finding(rule, message, *, severity="soft", reason=None, field="steps"):
    f = {"field": field, "message": message, "rule": rule, "severity": severity,
         "source": "drug library default: Deer et al. 2017 (PACC)"}
    if reason is not None:
        f["override"] = {"limit": rule, "reason": reason}
    return f


def review(kind, drug, concentration, findings, device_time, detail=None):
    """A Review as CommandRecord encodes it (sorted keys; Drug by name; quantities with units)."""
    return {"concentration": {"unit": "ng/mL", "value": concentration}, "detail": detail or {"none": {}},
            "deviceTime": {"seconds": device_time}, "drug": drug, "findings": findings, "kind": kind,
            "verdict": "acceptable"}


def command_row(cid, ms, kind, *, account="alice", role="clinician", uid=998, state="succeeded", patient_id="p1",
                visit_id=None, review_value=None, request=None):
    return {"id": cid, "createdMs": ms, "updatedMs": ms + 900, "uid": uid, "gid": 998, "pid": 4242, "account": account,
            "role": role, "idempotencyKey": f"key-{cid}", "kind": kind, "request": request or {"kind": kind},
            "state": state, "attempts": [{"sentMs": ms + 100, "requestId": 7}], "deviceStatus": "OK",
            "outcome": {"applied": {}}, "legacyOutcome": None, "note": f"{kind} sent", "patientId": patient_id,
            "visitId": visit_id, "review": review_value, "plan": {kind: {}}}

"""The FHIR export, validated by a FHIR library: pumpd on its embedded
simulator, a patient, two visits (a refill and a program change the pump
confirmed, one the drug library refused, one whose answer was lost and that
the event log then settled as applied; then a drug change to ziconotide and
its program), and the Bundles from `GET /v1/fhir/...` and from
`pumpctl export fhir`, each resource validated with fhir.resources' FHIR R4
(4.0.1) models, then held to FHIR's own patterns anchored (the library
matches only their start), its references, value sets and UCUM units, and
to the values the records hold: the doses to the last digit, the serial.

Environment: BIN, the folder with pumpd, pumpsim and pumpctl (default
.build/debug). scripts/check-fhir builds them and runs this.
"""

import copy
import datetime
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

import pytest

import fhir.resources
from fhir.resources import fhirtypes, get_fhir_model_class
from fhir.resources.bundle import Bundle

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "Tests", "pyclient"))
from pumpd_client import call, control  # noqa: E402

BIN = os.path.abspath(os.path.join(ROOT, os.environ.get("BIN", ".build/debug")))

PATIENT = {"name": "Ada Example", "identifier": "MRN-0042", "implant_date": "2024-03-01", "pump_model": "IP-40"}
MORPHINE = {"drug": "morphine", "concentration": {"value": "10", "unit": "mg/mL"},
            "reservoir": {"value": "40", "unit": "mL"}, "low_alarm": {"value": "4", "unit": "mL"}}
ZICONOTIDE = {"drug": "ziconotide", "concentration": {"value": "25", "unit": "mcg/mL"},
              "reservoir": {"value": "20", "unit": "mL"}, "low_alarm": {"value": "2", "unit": "mL"}}
# 2.4 mg/day for 8 h, 3 mg/day for 16 h: 2.8 mg/day on average; a patient bolus of 0.1 mg, 4 a day.
DAILY = {"mode": "daily", "utc_offset_min": 60,
         "patient_bolus": {"dose": {"value": "0.1", "unit": "mg"}, "lockout": {"value": "2", "unit": "h"}, "max_per_day": 4},
         "steps": [{"start_min": 0, "rate": {"value": "2.4", "unit": "mg/day"}},
                   {"start_min": 480, "rate": {"value": "3", "unit": "mg/day"}}]}
LOWER = {"mode": "continuous", "steps": [{"start_min": 0, "rate": {"value": "2.5", "unit": "mg/day"}}]}
OVER_HARD_MAX = {"mode": "continuous", "steps": [{"start_min": 0, "rate": {"value": "35", "unit": "mg/day"}}]}
ZICONOTIDE_START = {"mode": "continuous", "steps": [{"start_min": 0, "rate": {"value": "2", "unit": "mcg/day"}}]}

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
FHIR_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
UCUM = "http://unitsofmeasure.org"
# FHIR R4's required value sets for the codes pumpd writes.
STATUSES = {
    "Observation": {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"},
    "MedicationStatement": {"active", "completed", "entered-in-error", "intended", "stopped", "on-hold", "unknown", "not-taken"},
    "Device": {"active", "inactive", "entered-in-error", "unknown"},
}
DEVICE_NAME_TYPES = {"udi-label-name", "user-friendly-name", "patient-reported-name", "manufacturer-name", "model-name", "other"}
DATE_TIMES = {"effectiveDateTime", "start", "end", "dateAsserted"}
INSTANTS = {"issued", "timestamp"}


# ------------------------------------------------------------------- pumpd

class Pumpd:
    def __init__(self):
        for exe in ("pumpd", "pumpsim", "pumpctl"):
            if not os.access(os.path.join(BIN, exe), os.X_OK):
                pytest.exit(f"{BIN}/{exe} is missing: build it or set BIN", returncode=2)
        self.tmp = tempfile.mkdtemp(prefix="fhir.")
        self.sock = os.path.join(self.tmp, "pumpd.sock")
        self.ctl = os.path.join(self.tmp, "data", "simulator", "control.sock")
        self.stderr = open(os.path.join(self.tmp, "pumpd.stderr"), "wb")
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "pumpd"), "--data-dir", os.path.join(self.tmp, "data"), "--socket", self.sock,
             "--clinician-uid", str(os.getuid()), "--station", "off"],
            stdout=subprocess.DEVNULL, stderr=self.stderr)
        self.wait(lambda: self.api("GET", "/v1/health").doc["link"] == "up", 60, "pumpd's link up")

    def api(self, method, path, body=None):
        return call(self.sock, method, path, body)

    def ok(self, method, path, body=None, status=200):
        a = self.api(method, path, body)
        assert a.status == status, f"{method} {path}: {a.status} {a.body[:500]!r}"
        return a

    def wait(self, predicate, seconds, what):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pumpd exited {self.proc.returncode}")
            try:
                if predicate():
                    return
            except Exception:  # noqa: BLE001 (not up yet)
                pass
            time.sleep(0.2)
        raise AssertionError(f"{what}: not within {seconds} s")

    def pumpctl(self, *args):
        r = subprocess.run([os.path.join(BIN, "pumpctl"), *args, "--socket", self.sock],
                           capture_output=True, timeout=60)
        return r

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.stderr.close()
        rc = self.proc.returncode
        if rc == 0:
            shutil.rmtree(self.tmp, ignore_errors=True)
        assert rc == 0, f"pumpd exited {rc} after SIGTERM (data dir kept in {self.tmp})"


@pytest.fixture(scope="module")
def trail():
    """pumpd with two visits' records; the ids the tests ask about."""
    d = Pumpd()
    try:
        implant = d.ok("GET", "/v1/device").doc["implant"]["serial"]
        pid = d.ok("POST", "/v1/patients", dict(PATIENT, implant_serial=implant), status=201).doc["patient"]["id"]

        v1 = d.ok("POST", "/v1/visits", {"patient": pid}, status=201).doc["visit"]["id"]
        d.ok("POST", "/v1/refill", MORPHINE)
        daily = d.ok("PUT", "/v1/program", DAILY).command_id
        refused = d.api("PUT", "/v1/program", OVER_HARD_MAX)
        assert refused.status == 400 and refused.code == "hard_limit", refused.body
        # Every answer to COMMIT_PROGRAM lost: uncertain, then settled from the event log as applied.
        control(d.ctl, {"drop_only": "COMMIT_PROGRAM"})
        control(d.ctl, {"drop_responses": 4})
        lost = d.api("PUT", "/v1/program", LOWER)
        assert lost.status == 202 and lost.code == "outcome_uncertain", lost.body
        control(d.ctl, {"drop_only": ""})
        control(d.ctl, {"drop_responses": 0})
        d.wait(lambda: d.api("GET", f"/v1/commands/{lost.command_id}").doc["command"]["state"] == "applied", 60,
               f"{lost.command_id} settled as applied")
        d.ok("POST", "/v1/resume")
        d.ok("POST", f"/v1/visits/{v1}/end")

        # A drug change: the refill clears morphine's program; ziconotide starts in mcg/day.
        v2 = d.ok("POST", "/v1/visits", {"patient": pid}, status=201).doc["visit"]["id"]
        d.ok("POST", "/v1/refill", ZICONOTIDE)
        zico = d.ok("PUT", "/v1/program", ZICONOTIDE_START).command_id
        d.ok("POST", "/v1/resume")
        d.ok("POST", f"/v1/visits/{v2}/end")
        yield {"d": d, "implant": implant, "pid": pid, "v1": v1, "v2": v2,
               "daily": daily, "refused": refused.command_id, "lost": lost.command_id, "zico": zico}
    finally:
        d.stop()


# -------------------------------------------------------------- validation

def validated(text):
    """The Bundle validated with fhir.resources' R4 models (the whole Bundle,
    then each resource on its own by its resourceType), then against what
    the library leaves unchecked. Returns the document, decimals as Decimal."""
    assert fhir.resources.__fhir_version__ == "4.0.1", "the models must be FHIR R4"
    doc = json.loads(text, parse_float=Decimal)
    bundle = Bundle.parse_obj(copy.deepcopy(doc))
    assert bundle.type == "collection"
    urls = []
    for entry, parsed in zip(doc["entry"], bundle.entry):
        resource = entry["resource"]
        model = get_fhir_model_class(resource["resourceType"])
        model.parse_obj(copy.deepcopy(resource))
        assert type(parsed.resource).__name__ == resource["resourceType"]
        assert re.fullmatch("urn:uuid:" + UUID.pattern, entry["fullUrl"]), entry["fullUrl"]
        assert entry["fullUrl"] == "urn:uuid:" + resource["id"]
        assert FHIR_ID.fullmatch(resource["id"])
        if resource["resourceType"] in STATUSES:
            assert resource["status"] in STATUSES[resource["resourceType"]], resource["status"]
        for name in resource.get("deviceName", []):
            assert name["type"] in DEVICE_NAME_TYPES
        urls.append(entry["fullUrl"])
    assert len(set(urls)) == len(urls), "fullUrls are unique"
    check_values(doc, urls, "Bundle")
    return doc


def check_values(v, urls, path):
    """FHIR's patterns anchored (fhir.resources matches their start only),
    decimals as JSON numbers with exactly their digits, references that
    resolve, UCUM quantities."""
    if isinstance(v, dict):
        for k, x in v.items():
            here = f"{path}.{k}"
            if k in DATE_TIMES:
                assert isinstance(x, str) and fhirtypes.DateTime.regex.fullmatch(x), f"{here}: {x!r} is not a FHIR dateTime"
            if k in INSTANTS:
                assert isinstance(x, str) and fhirtypes.Instant.regex.fullmatch(x), f"{here}: {x!r} is not a FHIR instant"
            if k == "reference":
                assert x in urls, f"{here}: {x} names no entry"
            if k in ("valueQuantity", "rateQuantity", "doseQuantity", "numerator", "denominator"):
                assert x["system"] == UCUM and x["code"] and x["unit"], f"{here}: {x}"
                assert isinstance(x["value"], (int, Decimal)) and not isinstance(x["value"], bool), f"{here}: {x['value']!r}"
                assert FHIR_DECIMAL.fullmatch(str(x["value"])), f"{here}: {x['value']} is not written out"
            check_values(x, urls, here)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            check_values(x, urls, f"{path}[{i}]")


def resources(doc, kind):
    return [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == kind]


def observation(doc, code):
    [o] = [o for o in resources(doc, "Observation") if o["code"]["coding"][0]["code"] == code]
    return o


def rate(statement):
    return statement["dosage"][0]["doseAndRate"][0]["rateQuantity"]


# ------------------------------------------------------------------- tests

def test_the_validator_is_not_vacuous():
    """A Bundle the models must refuse is refused: a statement with no
    medication, an unknown field, a dateTime without its offset."""
    ok = {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "urn:uuid:x", "resource": {
        "resourceType": "MedicationStatement", "status": "active", "subject": {"reference": "urn:uuid:x"},
        "medicationCodeableConcept": {"text": "morphine"}}}]}
    Bundle.parse_obj(ok)
    no_medication = copy.deepcopy(ok)
    del no_medication["entry"][0]["resource"]["medicationCodeableConcept"]
    unknown_field = copy.deepcopy(ok)
    unknown_field["entry"][0]["resource"]["dose"] = 1
    for bad in (no_medication, unknown_field):
        with pytest.raises(Exception):
            Bundle.parse_obj(bad)
    assert not fhirtypes.DateTime.regex.fullmatch("2026-03-01T08:00:00")


def test_a_visit_holds_its_confirmed_program_changes_only(trail):
    d = trail["d"]
    a = d.ok("GET", f"/v1/fhir/visits/{trail['v1']}")
    assert a.headers["content-type"].startswith("application/fhir+json")
    doc = validated(a.body)
    kinds = [e["resource"]["resourceType"] for e in doc["entry"]]
    assert kinds == ["Patient", "Device", "Observation", "Observation", "Observation", "MedicationStatement", "MedicationStatement"]
    [patient] = resources(doc, "Patient")
    assert patient["identifier"][0]["value"] == "MRN-0042" and patient["identifier"][0]["type"]["coding"][0]["code"] == "MR"
    assert patient["name"][0]["text"] == "Ada Example"
    [device] = resources(doc, "Device")
    assert device["serialNumber"] == trail["implant"] and device["modelNumber"] == "IP-40"
    assert device["patient"]["reference"] == doc["entry"][0]["fullUrl"]

    statements = resources(doc, "MedicationStatement")
    # The push the library refused is not there; the one settled from the event log is.
    assert [s["identifier"][0]["value"] for s in statements] == [trail["daily"], trail["lost"]]
    daily, lost = statements
    assert rate(daily) == {"value": Decimal("2.8"), "unit": "mg/day", "system": UCUM, "code": "mg/d"}
    assert b'"rateQuantity":{"value":2.8,"unit":"mg/day"' in a.body, "2.8 written as the number 2.8"
    assert rate(lost)["value"] == Decimal("2.5") and rate(lost)["code"] == "mg/d"
    assert daily["medicationCodeableConcept"]["text"] == "morphine 10 mg/mL"
    route = daily["dosage"][0]["route"]["coding"][0]
    assert (route["system"], route["code"]) == ("http://snomed.info/sct", "72607000")
    bolus = daily["dosage"][1]
    assert bolus["asNeededBoolean"] is True
    assert bolus["doseAndRate"][0]["doseQuantity"]["value"] == Decimal("0.1") and bolus["doseAndRate"][0]["doseQuantity"]["code"] == "mg"
    assert bolus["maxDosePerPeriod"]["numerator"]["value"] == Decimal("0.4")
    # The first ended when the second took effect; the second when the ziconotide refill cleared it.
    assert daily["status"] == "completed" and daily["effectivePeriod"]["end"] == lost["effectivePeriod"]["start"]
    assert lost["status"] == "completed" and "end" in lost["effectivePeriod"]
    assert "applied" in lost["note"][0]["text"]
    assert observation(doc, "reservoir-volume")["valueQuantity"]["code"] == "mL"
    assert observation(doc, "battery-voltage")["valueQuantity"]["code"] == "V"
    # As the visit left the pump: morphine, running the lower program.
    assert observation(doc, "current-rate")["valueQuantity"] == {"value": Decimal("2.5"), "unit": "mg/day", "system": UCUM, "code": "mg/d"}


def test_pumpctl_writes_a_visit_owner_only(trail):
    d = trail["d"]
    out = os.path.join(d.tmp, "v2.fhir.json")
    r = d.pumpctl("export", "fhir", "--visit", trail["v2"], "-o", out)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600, "it names the patient"
    with open(out, "rb") as f:
        text = f.read()
    doc = validated(text)
    [statement] = resources(doc, "MedicationStatement")
    assert statement["identifier"][0]["value"] == trail["zico"]
    assert statement["medicationCodeableConcept"]["text"] == "ziconotide 25 mcg/mL"
    assert rate(statement) == {"value": 2, "unit": "mcg/day", "system": UCUM, "code": "ug/d"}
    assert statement["status"] == "active"
    assert observation(doc, "current-rate")["valueQuantity"]["code"] == "ug/d"
    # The route's Bundle is the same but for when each was made.
    route = json.loads(d.ok("GET", f"/v1/fhir/visits/{trail['v2']}").body, parse_float=Decimal)
    assert dict(route, timestamp=None) == dict(doc, timestamp=None)


def test_a_period_holds_every_change_in_effect(trail):
    d = trail["d"]
    today = datetime.datetime.now(datetime.timezone.utc).date()
    days = [str(today - datetime.timedelta(days=1)), str(today + datetime.timedelta(days=1))]
    r = d.pumpctl("export", "fhir", "--patient", trail["pid"], "--from", days[0], "--to", days[1])
    assert r.returncode == 0, r.stderr
    doc = validated(r.stdout)
    statements = resources(doc, "MedicationStatement")
    assert [s["identifier"][0]["value"] for s in statements] == [trail["daily"], trail["lost"], trail["zico"]]
    assert [rate(s)["code"] for s in statements] == ["mg/d", "mg/d", "ug/d"]
    assert [s["status"] for s in statements] == ["completed", "completed", "active"]
    # The same records, the same names, whichever export.
    visit = json.loads(d.ok("GET", f"/v1/fhir/visits/{trail['v1']}").body)
    assert {e["fullUrl"] for e in visit["entry"] if e["resource"]["resourceType"] != "Observation"} <= {e["fullUrl"] for e in doc["entry"]}
    # RFC 3339 times with an offset ("+" sent as %2B by pumpctl), the end left out.
    now = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=1))).replace(microsecond=0)
    r = d.pumpctl("export", "fhir", "--patient", trail["pid"], "--from", (now - datetime.timedelta(hours=2)).isoformat(),
                  "--to", (now + datetime.timedelta(minutes=5)).isoformat())
    assert r.returncode == 0, r.stderr
    assert len(resources(validated(r.stdout), "MedicationStatement")) == 3


def test_refusals_say_what_to_do(trail):
    d = trail["d"]
    r = d.pumpctl("export", "fhir", "--visit", "v99")
    assert r.returncode == 3 and b"unknown_visit" in r.stderr and b"pumpctl visit list" in r.stderr, r.stderr
    r = d.pumpctl("export", "fhir", "--patient", trail["pid"], "--from", "2026-02-30", "--to", "2026-03-31")
    assert r.returncode == 3 and b"from:" in r.stderr and b"out_of_range" in r.stderr, r.stderr
    r = d.pumpctl("export", "fhir", "--patient", trail["pid"], "--from", "2026-03-01")
    assert r.returncode == 64 and b"--from DATE --to DATE" in r.stderr, r.stderr
    r = d.pumpctl("export", "fhir", "--visit", trail["v1"], "--patient", trail["pid"])
    assert r.returncode == 64, r.stderr
    r = d.pumpctl("export", "fhir", "--help")
    assert r.returncode == 0 and b"MedicationStatement" in r.stdout and b"--from" in r.stdout

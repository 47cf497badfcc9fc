"""The clinical visit in the station, in a real browser against pumpd on its
embedded simulator: the patient's record made through the station's form,
the visit started for the implant under the head, the banner on every page,
a refill with the volume withdrawn, an end that is refused without a reason
while the pump is suspended, signing out with the visit unable to end
quietly, the report and how it prints, what a viewer may not see, and the
wrong-patient banner when another pump comes under the head.

A pumpd of its own (module scope), so that the open visit's wrong-patient
guard and sign-out rule never reach test_station.py's flows. The tests run
in file order and share it: the patient made first is the visit's, the
visit's refill is the one the report shows.
"""

import datetime
import re
import time
import urllib.parse
import zoneinfo

import pytest

from conftest import ACCOUNTS, Pumpd, Raw, csrf_tokens
from pumpd_client import control
from test_station import (body, click_and_wait, command_page, confirm, el, els, fill, go, here, js_post, login_ok,
                          shot, status, text)

PATIENT = {"name": "Ada Example", "identifier": "MRN-0042", "implant_date": "2024-03-01", "pump_model": "IP-40"}


@pytest.fixture(scope="module")
def visit_pumpd():
    """A pumpd with morphine loaded and a daily program, suspended (a refill
    suspends, ICD §6), through the API socket."""
    d = Pumpd("visit")
    try:
        for name in ("clin", "nurse", "viewer"):
            d.add_user(name, *ACCOUNTS[name])
        r = d.api("POST", "/v1/refill", {
            "drug": "morphine", "concentration": {"value": "10", "unit": "mg/mL"},
            "reservoir": {"value": "20", "unit": "mL"}, "low_alarm": {"value": "2", "unit": "mL"}})
        assert r.status == 200, r.body
        r = d.api("PUT", "/v1/program", {
            "mode": "daily", "utc_offset_min": 0,
            "steps": [{"start_min": 0, "rate": {"value": "1", "unit": "mg/day"}},
                      {"start_min": 480, "rate": {"value": "1.5", "unit": "mg/day"}}]})
        assert r.status == 200, r.body
    except BaseException:
        d.stop()
        raise
    yield d
    d.stop()


def implant_serial(d):
    serial = d.api("GET", "/v1/device").get("implant", "serial")
    assert serial, "pumpd reports no implant"
    return serial


def open_visit(d):
    return d.api("GET", "/v1/visits").get("open")


def leave(driver):
    """The test's own navigation away from a page that warns on leaving (a
    visit that cannot end quietly): marked as the station's own, as a form's is."""
    try:
        driver.execute_script("document.dispatchEvent(new Event('submit'));")
    except Exception:  # noqa: BLE001 - no page to leave
        pass


def visit_go(driver, d, path, name=None):
    leave(driver)
    go(driver, d, path, name)


def leaving_is_warned(driver):
    """Whether the page's beforeunload handler holds a departure."""
    return driver.execute_script(
        "const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); return e.defaultPrevented;")


def test_patient_record_and_visit_start(visit_pumpd, browser):
    d = visit_pumpd
    serial = implant_serial(d)
    login_ok(browser, d, "clin")
    go(browser, d, "/visit", "visit-none")
    assert status(browser) == 200
    assert text(browser, "#implant-in-session") == serial
    assert els(browser, "#no-patient-record"), body(browser)[:800]
    click_and_wait(browser, "#add-patient-for-implant")
    assert urllib.parse.urlsplit(browser.current_url).path == "/patients/new"
    assert el(browser, "#implant_serial").get_attribute("value") == serial, "the implant under the head is not filled in"
    for name, value in PATIENT.items():
        fill(browser, name, value, "#patient-form")
    # A catheter the API refuses is refused here by the same rule, naming the form's field.
    fill(browser, "prometra_trimmed_cm", "120", "#patient-form")
    shot(browser, "patient-new")
    click_and_wait(browser, "#add-patient-submit")
    assert status(browser) == 400, body(browser)[:800]
    assert "prometra_trimmed_cm" in text(browser, "#error"), text(browser, "#error")
    assert el(browser, "#name").get_attribute("value") == PATIENT["name"], "the form did not keep what was typed"
    fill(browser, "prometra_trimmed_cm", "15", "#patient-form")
    click_and_wait(browser, "#add-patient-submit")
    assert here(browser) == "/visit", (here(browser), body(browser)[:800])

    p = d.api("GET", "/v1/patients/p1")
    assert p.status == 200, p.body
    assert p.get("patient", "name") == PATIENT["name"] and p.get("patient", "implant_serial") == serial
    assert p.get("patient", "catheter", "volume", "value") == "0.247", p.body  # (110 − 15) cm × 0.0026 mL/cm

    shot(browser, "visit-start")
    form = el(browser, "#visit-start-form")
    chosen = form.find_element("css selector", "#patient option:checked")
    assert chosen.get_attribute("value") == "p1" and PATIENT["name"] in chosen.text, chosen.text
    check = el(browser, "#confirm-patient")
    assert check.get_attribute("required") is not None
    assert "I have confirmed this patient's identity" in text(browser, "label.inline")
    # Without the box ticked the server refuses it too (a form can be sent without the browser's check).
    code, page = js_post(browser, "/visit/start", {"csrf": csrf_tokens(browser.page_source)[0], "patient": "p1"})
    assert code == 400 and "confirm_patient" in page, (code, page[:600])
    assert open_visit(d) is None

    check.click()
    click_and_wait(browser, "#start-visit")
    assert here(browser) == "/visit", here(browser)
    shot(browser, "visit-open")
    visit = open_visit(d)
    assert visit and visit["patient_id"] == "p1" and visit["implant_serial"] == serial, visit
    banner = text(browser, "#visit-banner")
    for part in (PATIENT["name"], PATIENT["identifier"], serial, visit["id"]):
        assert part in banner, (part, banner)
    assert urllib.parse.urlsplit(el(browser, "#banner-visit-link").get_attribute("href")).path == "/visit"
    assert PATIENT["name"] in text(browser, "#visit-patient-name")
    before = text(browser, "#pump-before")
    assert "morphine" in before and "suspended" in before, before
    assert re.search(r"mg/day.*mcg/day|mcg/day.*mg/day", text(browser, "#before-average")), text(browser, "#before-average")
    # The banner is on every page.
    for path in ("/pump", "/refill", "/audit"):
        visit_go(browser, d, path)
        assert visit["id"] in text(browser, "#visit-banner"), path


def test_refill_with_the_volume_withdrawn(visit_pumpd, browser):
    d = visit_pumpd
    visit = open_visit(d)
    assert visit, "no visit is open"
    login_ok(browser, d, "clin")
    visit_go(browser, d, "/refill", "refill-withdrawn")
    field = el(browser, "#refill-form #withdrawn")
    assert field.get_attribute("required") is not None, "a drug is loaded, and the withdrawn volume is not required"
    expected = text(browser, "#expected-volume")
    m = re.match(r"(\d+(?:\.\d+)?) mL", expected)
    assert m, expected
    fill(browser, "drug", "morphine", "#refill-form")
    fill(browser, "concentration", "10", "#refill-form")
    fill(browser, "concentration_unit", "mg/mL", "#refill-form")
    fill(browser, "reservoir_ml", "20", "#refill-form")
    fill(browser, "low_alarm_ml", "2", "#refill-form")
    # Without the withdrawn volume the server refuses it, naming the field.
    code, page = js_post(browser, "/refill/review", {
        "csrf": csrf_tokens(browser.page_source)[0], "drug": "morphine", "concentration": "10", "concentration_unit": "mg/mL",
        "reservoir_ml": "20", "low_alarm_ml": "2"})
    assert code == 400 and "withdrawn" in page, (code, page[:600])
    fill(browser, "withdrawn", m.group(1), "#refill-form")
    leave(browser)
    click_and_wait(browser, "#refill-form #review")
    assert status(browser) == 200, body(browser)[:800]
    confirm(browser, ACCOUNTS["clin"][1])
    cid, state = command_page(browser)
    assert state == "succeeded", body(browser)[:800]
    row = next(c for c in d.audit() if c["id"] == cid)
    assert row.get("visit_id") == visit["id"] and row.get("patient_id") == "p1", row
    assert "withdrawn" in str(row.get("request")), row


def test_end_refused_without_a_reason_then_ended(visit_pumpd, browser):
    d = visit_pumpd
    visit = open_visit(d)
    assert visit, "no visit is open"
    assert d.sim()["implant"]["pump_state"] == "suspended", d.sim()["implant"]["pump_state"]
    login_ok(browser, d, "nurse")
    visit_go(browser, d, "/visit", "visit-end-conditions")
    codes = [li.get_attribute("data-code") for li in els(browser, "#end-conditions li[data-code]")]
    assert codes == ["pump_suspended"], codes
    assert el(browser, "body").get_attribute("data-visit-unsafe") == "true"
    assert leaving_is_warned(browser), "leaving the station with the visit unable to end quietly is not warned"
    assert el(browser, "#visit-end-form #acknowledge").get_attribute("required") is not None

    # The post-MRI check (a nurse may): suspended is not infusing, and it says so.
    click_and_wait(browser, "#mri-form #mri-check")
    shot(browser, "visit-mri")
    assert el(browser, "#mri-result").get_attribute("data-resumed") == "false", text(browser, "#mri-result")
    assert text(browser, "#mri-resumed") == "NO" and "not infusing" in text(browser, "#mri-sentence"), text(browser, "#mri-result")
    assert any(c["kind"] == "mri_check" and c.get("visit_id") == visit["id"] for c in d.audit())

    # Signing out leads to the end first; then "anyway" signs out and leaves the visit open.
    click_and_wait(browser, "#logout-form #logout")
    assert here(browser) == "/visit?logout=1", here(browser)
    shot(browser, "visit-logout")
    notice = text(browser, "#logout-notice")
    assert "stays open" in notice and "not signing out" in notice, notice
    click_and_wait(browser, "#logout-anyway")
    assert urllib.parse.urlsplit(browser.current_url).path == "/login"
    assert open_visit(d) and open_visit(d)["id"] == visit["id"], "signing out anyway ended the visit"

    login_ok(browser, d, "nurse")
    visit_go(browser, d, "/visit")
    # Sent without a reason (the browser's own check taken away): refused, 409, the conditions shown again.
    browser.execute_script("document.getElementById('acknowledge').removeAttribute('required');")
    click_and_wait(browser, "#visit-end-form #end-visit")
    shot(browser, "visit-end-refused")
    assert status(browser) == 409, (status(browser), body(browser)[:800])
    assert "acknowledge" in text(browser, "#error"), text(browser, "#error")
    assert [li.get_attribute("data-code") for li in els(browser, "#end-conditions li[data-code]")] == ["pump_suspended"]
    assert open_visit(d) is not None

    fill(browser, "acknowledge", "trial off the drug, by plan", "#visit-end-form")
    click_and_wait(browser, "#visit-end-form #end-visit")
    assert here(browser) == f"/visit/{visit['id']}/report", (here(browser), body(browser)[:800])
    assert open_visit(d) is None
    ended = d.api("GET", f"/v1/visits/{visit['id']}")
    assert ended.get("visit", "acknowledgement", "reason") == "trial off the drug, by plan", ended.body
    assert not els(browser, "body[data-visit-unsafe]")
    assert not leaving_is_warned(browser)


def test_the_report_and_how_it_prints(visit_pumpd, browser):
    d = visit_pumpd
    visit = d.api("GET", "/v1/visits").get("visits")[0]
    login_ok(browser, d, "clin")
    go(browser, d, f"/visit/{visit['id']}/report", "visit-report")
    assert status(browser) == 200
    report = text(browser, "#visit-report")
    for part in (PATIENT["name"], PATIENT["identifier"], visit["implant_serial"], "trial off the drug, by plan"):
        assert part in report, part
    commands = d.api("GET", f"/v1/visits/{visit['id']}").get("commands")
    kinds = [c["kind"] for c in commands]
    assert kinds[0] == "visit_start" and "refill" in kinds and kinds[-1] == "visit_end", kinds
    table = text(browser, "#report-commands-table")
    for c in commands:
        assert c["id"] in table, (c["id"], table)
    for css in ("#report-low-date", "#report-empty-date", "#report-next-refill"):
        assert re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", text(browser, css)), (css, text(browser, css))
    review = text(browser, "#report-reviews")
    assert "refill" in review, review

    # Printed: no navigation, no forms, black on white.
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert browser.execute_script("return window.matchMedia('print').matches;")
        hidden = browser.execute_script("""
            return ['#nav', '#logout-form', 'footer'].map(s => getComputedStyle(document.querySelector(s)).display);""")
        assert hidden == ["none", "none", "none"], hidden
        assert browser.execute_script("return getComputedStyle(document.body).color;") in ("rgb(0, 0, 0)",)
        assert browser.execute_script("return getComputedStyle(document.querySelector('#report-commands-table')).breakInside;") == "avoid"
        shot(browser, "visit-report-print")
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert browser.execute_script("return getComputedStyle(document.querySelector('#nav')).display;") != "none"


def test_viewer_sees_no_patient(visit_pumpd, browser):
    d = visit_pumpd
    r = d.api("POST", "/v1/visits", {"patient": "p1"})
    assert r.status == 201, r.body
    vid = r.get("visit", "id")
    try:
        login_ok(browser, d, "viewer")
        go(browser, d, "/pump", "viewer-visit-banner")
        assert vid in text(browser, "#visit-banner")
        assert PATIENT["name"] not in browser.page_source and PATIENT["identifier"] not in browser.page_source
        assert not els(browser, "#nav-patients") and not els(browser, "#nav-visit")
        for path in ("/patients", "/patients/new", "/visit", f"/visit/{vid}/report"):
            go(browser, d, path)
            assert status(browser) == 403, (path, status(browser))
            assert re.search(r"Refused", text(browser, "h1")), (path, text(browser, "h1"))
            assert PATIENT["name"] not in browser.page_source, path
        # A viewer's visit start is refused by the core and recorded.
        go(browser, d, "/pump")
        code, page = js_post(browser, "/visit/start", {"csrf": csrf_tokens(browser.page_source)[0], "patient": "p1", "confirm_patient": "yes"})
        assert code == 403 and "viewer" in page, (code, page[:600])
        refused = [c for c in d.audit() if c["kind"] == "visit_start" and c["state"] == "failed"]
        assert refused and "viewer" in str(refused[0]), refused[:1]
    finally:
        end = d.api("POST", f"/v1/visits/{vid}/end", {"acknowledge": {"reason": "test: the viewer's look is over"}})
        assert end.status == 200, end.body


def test_start_findings_propose_their_fixes(browser):
    """A pumpd in Berlin's time zone whose pump clock is an hour ahead and
    whose daily program runs on another UTC offset than Berlin's now (the
    daylight-saving change): the visit shows both findings, and their fixes
    lead to the clock sync and to the re-timed program's review."""
    berlin = int(datetime.datetime.now(zoneinfo.ZoneInfo("Europe/Berlin")).utcoffset().total_seconds() // 60)
    d = Pumpd("visit-clock", env={"TZ": "Europe/Berlin"})
    try:
        d.add_user("clin", *ACCOUNTS["clin"])
        assert d.api("POST", "/v1/refill", {
            "drug": "morphine", "concentration": {"value": "10", "unit": "mg/mL"},
            "reservoir": {"value": "20", "unit": "mL"}, "low_alarm": {"value": "2", "unit": "mL"}}).status == 200
        r = d.api("PUT", "/v1/program", {
            "mode": "daily", "utc_offset_min": berlin + 60,
            "steps": [{"start_min": 0, "rate": {"value": "1", "unit": "mg/day"}},
                      {"start_min": 480, "rate": {"value": "1.5", "unit": "mg/day"}}]})
        assert r.status == 200, r.body
        d.sim_control({"advance_s": 3600})
        body_ = dict(PATIENT, implant_serial=implant_serial(d))
        assert d.api("POST", "/v1/patients", body_).status == 201
        v = d.api("POST", "/v1/visits", {"patient": "p1"})
        assert v.status == 201, v.body

        login_ok(browser, d, "clin")
        visit_go(browser, d, "/visit", "visit-start-findings")
        rules = [li.get_attribute("data-rule") for li in els(browser, "#start-findings li.finding")]
        assert sorted(rules) == ["clock.off", "clock.utc_offset"], rules
        assert not els(browser, "#start-findings textarea"), "a start finding asks for an override reason"

        leave(browser)
        click_and_wait(browser, "#proposal-retimed")
        shot(browser, "review-retimed-program")
        assert status(browser) == 200, body(browser)[:800]
        assert els(browser, "#review #old") and els(browser, "#review #new") and els(browser, "#confirm-form")
        confirm(browser, ACCOUNTS["clin"][1])
        _, state = command_page(browser)
        assert state == "succeeded", body(browser)[:800]
        program = d.api("GET", "/v1/program").doc
        assert program["program"]["utc_offset_min"] == berlin, program

        visit_go(browser, d, "/visit")
        leave(browser)
        click_and_wait(browser, "#proposal-clock-sync")
        _, state = command_page(browser)
        assert state == "succeeded", body(browser)[:800]
        drift = abs(d.sim()["implant"]["device_time"] - time.time())
        assert drift < 60, f"the pump's clock is still {drift:.0f} s off"
    finally:
        leave(browser)
        browser.get("about:blank")
        d.stop()


def wrong_patient(d, browser, confirmed, other, name):
    """With the visit confirmed for `confirmed` and `other` under the head:
    the red banner, a write refused by the core's guard with nothing sent,
    and the implant in session confirmed through the banner's form."""
    login_ok(browser, d, "clin")
    go(browser, d, "/pump", name)
    alert = el(browser, "#wrong-patient")
    assert alert.get_attribute("role") == "alert"
    words = text(browser, "#wrong-patient")
    assert other in words and confirmed in words and PATIENT["name"] in words, words
    assert browser.execute_script(
        "return getComputedStyle(document.getElementById('wrong-patient')).backgroundColor;") == "rgb(163, 0, 0)"

    # A write is refused by the core's guard, nothing is sent, and the page says what to do.
    resumed = len(d.events("RESUMED"))
    raw = Raw(d, {"pumpd_session": browser.get_cookie("pumpd_session")["value"]})
    code, headers, page = raw.post("/pump/resume", {"csrf": csrf_tokens(browser.page_source)[0]})
    assert code == 303 and "/commands/" in headers.get("location", ""), (code, headers, page[:500])
    go(browser, d, urllib.parse.urlsplit(headers["location"]).path, name + "-refused")
    _, state = command_page(browser)
    assert state == "failed", body(browser)[:800]
    outcome = text(browser, "#outcome-text")
    assert other in outcome and "red banner" in outcome and "nothing was sent" in outcome, outcome
    assert "pumpctl" not in outcome, outcome
    assert len(d.events("RESUMED")) == resumed, "a write reached another patient's pump"
    # Its review is refused too: the other pump's state is no review of this patient's change.
    go(browser, d, "/bolus")
    code, page = js_post(browser, "/bolus/review", {"csrf": csrf_tokens(browser.page_source)[0], "dose": "0.1", "dose_unit": "mg", "duration_min": "10"})
    assert code == 409 and "red banner" in page, (code, page[:600])

    el(browser, "#confirm-implant-check").click()
    click_and_wait(browser, "#confirm-implant")
    assert here(browser) == "/visit", (here(browser), body(browser)[:800])
    assert not els(browser, "#wrong-patient")
    assert d.api("GET", "/v1/patients/p1").get("patient", "implant_serial") == other
    assert any(c["kind"] == "visit_confirm" and c["state"] == "succeeded" for c in d.audit())


def test_wrong_patient_after_the_pump_is_replaced(visit_pumpd, browser):
    """The visit stays open across a restart with another implant under the
    head (the simulator's implant replaced): the banner holds every write."""
    d = visit_pumpd
    r = d.api("POST", "/v1/visits", {"patient": "p1"})
    assert r.status == 201, r.body
    vid = r.get("visit", "id")
    first = implant_serial(d)
    try:
        d.restart(fresh_implant=True)
        deadline = time.monotonic() + 15
        while d.api("GET", "/v1/device").get("implant", "serial") in (None, first) and time.monotonic() < deadline:
            time.sleep(0.2)
        other = implant_serial(d)
        assert other != first, "the new implant has the old one's serial"
        assert open_visit(d)["id"] == vid
        wrong_patient(d, browser, first, other, "visit-wrong-patient")
    finally:
        d.api("POST", f"/v1/visits/{vid}/end", {"acknowledge": {"reason": "test: the replaced pump is confirmed"}})


def test_wrong_patient_banner(visit_pumpd, browser):
    """Another implant under the head mid-visit, through pumpsim's control socket."""
    d = visit_pumpd
    r = d.api("POST", "/v1/visits", {"patient": "p1"})
    assert r.status == 201, r.body
    vid = r.get("visit", "id")
    first = implant_serial(d)
    try:
        swap = control(d.ctl, {"implant_serial": "IP40-SECOND"}, check=False)
        assert swap.get("ok"), swap
        deadline = time.monotonic() + 15
        while implant_serial(d) != "IP40-SECOND" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert implant_serial(d) == "IP40-SECOND", "pumpd did not see the second implant"
        wrong_patient(d, browser, first, "IP40-SECOND", "visit-wrong-patient-swap")
    finally:
        d.api("POST", f"/v1/visits/{vid}/end", {"acknowledge": {"reason": "test: the wrong-patient check is over"}})

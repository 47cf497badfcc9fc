"""The clinician's station in a real browser (headless chromium), against a
real pumpd on its embedded simulator, to the page contract of
station-contract.md: the flows a clinician walks (log in, refill, program,
soft limit with its reason, bolus whose answer is lost, cancel, audit) and
the security a station owes (CSRF, roles, idle expiry, lockout, cookie flags).

What the station says is checked against the device's own truth where it
matters: the simulator's state and event log (its control socket), and
pumpd's audit trail through the API socket.

The tests run in file order and share one pumpd: the refill loads the drug
the program needs, the program is the one the soft limit changes, the bolus
made uncertain is the one cancelled.
"""

import json
import os
import re
import time
import urllib.parse

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import ACCOUNTS, ROOT, SCREENSHOTS, Raw, csrf_tokens

# A lost answer settles from the pump's event log as applied (it ran, once) or not_applied.
FINAL_STATES = ("succeeded", "failed", "applied", "not_applied")
UNSETTLED_STATES = ("uncertain", "pending")


# ------------------------------------------------------------------ helpers

def shot(driver, name):
    """The whole page as PNG (Chrome's DevTools capture beyond the window), or the window if that is refused."""
    path = os.path.join(SCREENSHOTS, f"{name}.png")
    try:
        import base64
        size = driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight];")
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size[0], "height": min(size[1], 6000), "scale": 1}})
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
    except Exception:  # noqa: BLE001 - a screenshot is a record, never a test failure
        driver.save_screenshot(path)


def status(driver):
    """The HTTP status of the page shown (the last answer of its navigation)."""
    return driver.execute_script(
        "const e = performance.getEntriesByType('navigation')[0]; return e ? e.responseStatus : null;")


def here(driver):
    u = urllib.parse.urlsplit(driver.current_url)
    return u.path + (f"?{u.query}" if u.query else "")


def el(driver, css):
    return driver.find_element(By.CSS_SELECTOR, css)


def els(driver, css):
    return driver.find_elements(By.CSS_SELECTOR, css)


def text(driver, css):
    """An element's text, read in one step: pages that follow the pump reload
    themselves when it logs an event, which would leave a found element stale."""
    for _ in range(20):
        try:
            t = driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.innerText : null;", css)
        except WebDriverException:
            time.sleep(0.25)
            continue
        if t is None:
            raise NoSuchElementException(f"no {css} on {here(driver)}")
        return t.strip()
    raise AssertionError(f"could not read {css} on {here(driver)}")


def body(driver):
    return el(driver, "body").text


def go(driver, d, path, name=None):
    driver.get(d.base + path)
    assert els(driver, "#simulator-banner"), f"{path}: no #simulator-banner on a pumpd running its simulator"
    if name:
        shot(driver, name)


def click_and_wait(driver, css):
    """Clicks a submit button and waits for the page it leads to.

    The old page is marked with a random value in its window; the next page
    has none. (Waiting for the old <html> element to go stale raced the
    navigation: Chrome may answer "Node with given id does not belong to the
    document" instead of "stale element" while the new document loads.)"""
    mark = driver.execute_script("window.__stationMark = Math.random().toString(); return window.__stationMark;")
    el(driver, css).click()

    def arrived(d):
        try:
            return (d.execute_script("return window.__stationMark === undefined ? null : window.__stationMark;") != mark
                    and d.execute_script("return document.readyState") == "complete")
        except WebDriverException:
            return False  # the navigation is under way

    WebDriverWait(driver, 90).until(arrived)


def fill(driver, name, value, within=None):
    scope = el(driver, within) if within else driver
    field = scope.find_element(By.NAME, name)
    if field.tag_name == "select":
        Select(field).select_by_value(value)
    elif field.get_attribute("type") in ("time", "date", "hidden"):
        driver.execute_script("arguments[0].value = arguments[1];", field, value)
    else:
        field.clear()
        field.send_keys(value)


def login(driver, d, name, password=None, shoot=None):
    go(driver, d, "/login", shoot)
    fill(driver, "name", name, "#login-form")
    fill(driver, "password", password if password is not None else ACCOUNTS[name][1], "#login-form")
    click_and_wait(driver, "#login")


def login_ok(driver, d, name):
    login(driver, d, name)
    assert here(driver) == "/pump", f"login as {name} led to {here(driver)}: {body(driver)[:500]}"
    role = ACCOUNTS[name][0]
    assert any(f"{name} ({role})" in w.text for w in els(driver, "#who")), f"#who does not say {name} ({role})"


def confirm(driver, password):
    fill(driver, "password", password, "#confirm-form")
    click_and_wait(driver, "#confirm")


def review_findings(driver):
    """{rule: severity} of the review page's findings."""
    out = {}
    for li in els(driver, "#findings li.finding"):
        classes = (li.get_attribute("class") or "").split()
        sev = next((c for c in ("hard", "soft", "info") if c in classes), "?")
        out[li.get_attribute("data-rule")] = sev
    return out


def command_page(driver):
    """(id, state) of the command page shown, after checking it is one."""
    m = re.fullmatch(r"/commands/([^/?]+)", urllib.parse.urlsplit(driver.current_url).path)
    assert m, f"expected a command page, got {here(driver)} (status {status(driver)}): {body(driver)[:800]}"
    assert text(driver, "#command-id"), "#command-id is empty"
    return m.group(1), text(driver, "#outcome-state")


def command_who(driver):
    return text(driver, "#command-detail #who")


def wait_settled(driver, seconds):
    """Waits for the command page, which refreshes itself, to show a final
    state, or any state other than uncertain and pending; never reloads it.
    Returns (that state or None, every state seen)."""
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            s = text(driver, "#outcome-state")
        except (NoSuchElementException, StaleElementReferenceException, WebDriverException):
            s = None
        if s and (not seen or seen[-1] != s):
            seen.append(s)
        if s and s not in UNSETTLED_STATES:
            return s, seen
        time.sleep(0.5)
    return None, seen


def audit_count(d, kind, states=("succeeded", "applied")):
    return sum(1 for c in d.audit() if c["kind"] == kind and c["state"] in states)


def drug_library():
    with open(os.path.join(ROOT, "Sources", "DoseSafety", "drug-library.json")) as f:
        return json.load(f)["drugs"]


def js_post(driver, path, fields):
    """A form POST made by the page itself (its cookie, same origin); the
    answer is read, not followed. Returns (status, text)."""
    return driver.execute_async_script("""
        const [path, fields, done] = arguments;
        fetch(path, {method: 'POST', credentials: 'same-origin', redirect: 'manual',
                     body: new URLSearchParams(fields)})
          .then(async r => done([r.status, await r.text()]))
          .catch(e => done([-1, String(e)]));
    """, path, fields)


def start_bolus_through_socket(d):
    """A bolus running on the pump (started through the API socket), so that
    a refused cancel can be seen to have changed nothing."""
    if d.sim()["implant"]["bolus"] is None:
        r = d.api("POST", "/v1/bolus", {"dose": {"value": "0.5", "unit": "mg"}, "duration": {"value": "30", "unit": "min"}})
        assert r.status == 200, r.body
    assert d.sim()["implant"]["bolus"] is not None


def stop_bolus_through_socket(d):
    if d.sim()["implant"]["bolus"] is not None:
        r = d.api("DELETE", "/v1/bolus")
        assert r.status == 200, r.body


def session_cookie(driver):
    c = driver.get_cookie("pumpd_session")
    assert c, f"no pumpd_session cookie; cookies: {driver.get_cookies()}"
    return c


# -------------------------------------------------------------- the flows

def test_login_as_clinician(pumpd, browser):
    go(browser, pumpd, "/login", "login")
    assert status(browser) == 200
    assert els(browser, "#login-form") and els(browser, "#login")
    assert csrf_tokens(browser.page_source), "the login form carries no csrf field"
    login_ok(browser, pumpd, "clin")
    shot(browser, "pump")
    # The pump as the API socket's setup left it: hydromorphone, 0.5 mg/day, suspended by the refill.
    assert "hydromorphone" in text(browser, "#drug").lower()
    assert re.search(r"\b2(\.0+)? mg/mL", text(browser, "#drug")), text(browser, "#drug")
    assert re.search(r"\b20(\.0+)? mL of 40(\.0+)? mL", text(browser, "#reservoir")), text(browser, "#reservoir")
    assert "suspended" in text(browser, "#pump-state").lower(), text(browser, "#pump-state")
    for css in ("#low-alarm", "#rate", "#alarms", "#battery", "#link", "#status-age", "#low-date", "#empty-date"):
        assert els(browser, css), f"/pump has no {css}"
    assert "/day" in text(browser, "#rate"), text(browser, "#rate")
    for css, href in (("#nav-pump", "/pump"), ("#nav-program", "/program"), ("#nav-bolus", "/bolus"),
                      ("#nav-refill", "/refill"), ("#nav-events", "/events"), ("#nav-audit", "/audit")):
        link = el(browser, f"#nav {css}")
        assert urllib.parse.urlsplit(link.get_attribute("href")).path == href, (css, link.get_attribute("href"))


def test_refill_with_a_new_drug(pumpd, browser):
    login_ok(browser, pumpd, "clin")
    before = len(pumpd.events("REFILLED"))
    go(browser, pumpd, "/refill", "refill")
    fill(browser, "drug", "morphine", "#refill-form")
    fill(browser, "concentration", "10", "#refill-form")
    fill(browser, "concentration_unit", "mg/mL", "#refill-form")
    fill(browser, "reservoir_ml", "20", "#refill-form")
    fill(browser, "low_alarm_ml", "2", "#refill-form")
    # With a drug in the pump, the volume drawn out is asked for, beside what the pump expects.
    expected = re.match(r"(\d+(?:\.\d+)?) mL", text(browser, "#expected-volume"))
    assert expected, text(browser, "#expected-remaining")
    fill(browser, "withdrawn", expected.group(1), "#refill-form")
    click_and_wait(browser, "#refill-form #review")
    shot(browser, "review-refill")
    assert status(browser) == 200, body(browser)[:800]
    assert els(browser, "#review #old") and els(browser, "#review #new")
    assert "hydromorphone" in text(browser, "#old").lower(), text(browser, "#old")
    new = text(browser, "#new")
    assert re.search(r"\bmorphine\b", new.lower()), new
    assert re.search(r"\b10(\.0+)? mg/mL", new), new
    assert els(browser, "svg#reservoir-chart")
    findings = review_findings(browser)
    assert findings.get("refill.clears_program") == "info", findings
    assert "hard" not in findings.values(), findings
    assert len(pumpd.events("REFILLED")) == before, "the review itself sent a refill"

    confirm(browser, ACCOUNTS["clin"][1])
    shot(browser, "command-refill")
    _, state = command_page(browser)
    assert state == "succeeded", body(browser)[:800]
    assert "clin (clinician)" in command_who(browser)
    assert "REFILL" in text(browser, "#attempts"), text(browser, "#attempts")
    assert els(browser, "#next-step"), (
        f"no #next-step after a refill that cleared the program (the device's program: "
        f"{pumpd.sim()['implant']['program']})")
    nxt = el(browser, "#next-step")
    link = nxt if nxt.tag_name == "a" else nxt.find_element(By.CSS_SELECTOR, "a")
    assert urllib.parse.urlsplit(link.get_attribute("href")).path == "/program/edit"

    implant = pumpd.sim()["implant"]
    assert re.fullmatch(r"morphine", str(implant["drug"]).lower()), implant["drug"]
    assert implant["concentration_ng_per_ml"] == 10_000_000
    assert implant["reservoir_nl"] == 20_000_000 and implant["low_alarm_nl"] == 2_000_000
    assert implant["program"] is None
    assert len(pumpd.events("REFILLED")) == before + 1

    go(browser, pumpd, "/pump")
    assert re.search(r"\bmorphine\b", text(browser, "#drug").lower()), text(browser, "#drug")
    assert re.search(r"\b20(\.0+)? mL of 40(\.0+)? mL", text(browser, "#reservoir")), text(browser, "#reservoir")
    assert re.search(r"\b2(\.0+)? mL", text(browser, "#low-alarm")), text(browser, "#low-alarm")


def edit_program(driver, d, mode, steps, shoot=None):
    """Fills /program/edit (which starts from the active program): `steps` is
    [(start, rate, unit)]; rows are added with #add-step and removed with .remove-step."""
    go(driver, d, "/program/edit")
    assert status(driver) == 200
    fill(driver, "mode", mode, "#program-form")
    while True:
        n = len(els(driver, "#program-form [name^='rate_']"))
        if n == len(steps):
            break
        if n < len(steps):
            click_and_wait(driver, "#program-form #add-step")
        else:
            last = els(driver, "#program-form .remove-step")[-1]
            assert last.get_attribute("value") == f"remove_{n - 1}", last.get_attribute("value")
            click_and_wait(driver, f"#program-form .remove-step[value='remove_{n - 1}']")
        m = len(els(driver, "#program-form [name^='rate_']"))
        assert m == (n + 1 if n < len(steps) else n - 1), f"{n} rows became {m}"
    fill(driver, "mode", mode, "#program-form")
    fill(driver, "utc_offset_min", "0", "#program-form")
    for i, (start, rate, unit) in enumerate(steps):
        fill(driver, f"start_{i}", start, "#program-form")
        fill(driver, f"rate_{i}", rate, "#program-form")
        fill(driver, f"unit_{i}", unit, "#program-form")
    if shoot:
        shot(driver, shoot)
    click_and_wait(driver, "#program-form #review")


def test_program_with_two_daily_steps(pumpd, browser):
    login_ok(browser, pumpd, "clin")
    go(browser, pumpd, "/program", "program-none")
    assert els(browser, "#no-program"), "after a refill that cleared the program, /program shows no #no-program"
    el(browser, "#edit-program")

    edit_program(browser, pumpd, "daily", [("00:00", "1", "mg/day"), ("08:00", "1.5", "mg/day")], "program-edit")
    shot(browser, "review-program")
    assert status(browser) == 200, body(browser)[:800]
    assert els(browser, "#review #old") and els(browser, "#review #new")
    # 8 h at 1 mg/day and 16 h at 1.5 mg/day: 1.333 mg/day on average, in mg and mcg.
    avg = text(browser, "#average-dose")
    assert re.search(r"1\.333", avg) and "mg" in avg and "mcg" in avg, avg
    top = text(browser, "#highest-step")
    assert "1.5" in top and "mcg" in top, top
    for css in ("#busiest-day", "#dose-change", "svg#reservoir-chart"):
        assert els(browser, css), f"program review has no {css}"
    findings = review_findings(browser)
    assert not any(s in ("hard", "soft") for s in findings.values()), findings

    before = audit_count(pumpd, "program")
    confirm(browser, ACCOUNTS["clin"][1])
    shot(browser, "command-program")
    _, state = command_page(browser)
    assert state == "succeeded", body(browser)[:800]
    assert audit_count(pumpd, "program") == before + 1

    go(browser, pumpd, "/program", "program")
    table = el(browser, "table#current-program").text
    assert "08:00" in table and "1.5" in table and "00:00" in table, table
    assert els(browser, "svg#rate-chart")
    # What pumpd and the device hold.
    program = pumpd.api("GET", "/v1/program").doc
    assert [s["start_min"] for s in program["program"]["steps"]] == [0, 480], program
    assert pumpd.sim()["implant"]["program"] is not None


def test_program_editor_refuses_bad_input(pumpd, browser):
    login_ok(browser, pumpd, "clin")
    commits = len(pumpd.events("PROGRAM_COMMITTED"))
    edit_program(browser, pumpd, "daily", [("00:00", "1", "mg/day"), ("08:00", "one and a half", "mg/day")])
    shot(browser, "program-edit-error")
    assert status(browser) == 400, (status(browser), body(browser)[:800])
    assert "rate" in text(browser, "#error").lower(), text(browser, "#error")
    assert els(browser, "#program-form"), "the form is not shown again"
    assert len(pumpd.events("PROGRAM_COMMITTED")) == commits


def test_program_past_a_soft_limit_needs_a_reason(pumpd, browser):
    morphine = drug_library()["morphine"]["daily_dose"]
    soft = float(morphine["soft_max"]["value"]["value"])
    hard = float(morphine["hard_max"]["value"]["value"])
    assert morphine["soft_max"]["value"]["unit"] == "mg/day" == morphine["hard_max"]["value"]["unit"]
    rate = f"{(soft + hard) / 2:g}"  # 25 mg/day: above the soft maximum, below the hard one

    login_ok(browser, pumpd, "clin")
    edit_program(browser, pumpd, "continuous", [("00:00", rate, "mg/day")])
    shot(browser, "review-program-soft")
    findings = review_findings(browser)
    assert findings.get("daily_dose.soft_max") == "soft", findings
    assert "hard" not in findings.values(), findings
    assert not els(browser, "#blocked")
    soft_rules = [r for r, s in findings.items() if s == "soft"]
    for r in soft_rules:
        assert els(browser, f"textarea[name='override_{r}']"), f"no textarea override_{r}"
    reasons = {r: f"Reason for {r}: escalation agreed with the pain team, case 4711" for r in soft_rules}

    # Every reason but the daily maximum's: refused, naming that rule; nothing sent.
    commits = len(pumpd.events("PROGRAM_COMMITTED"))
    for r in soft_rules:
        if r != "daily_dose.soft_max":
            fill(browser, f"override_{r}", reasons[r], "#review")
    confirm(browser, ACCOUNTS["clin"][1])
    shot(browser, "review-program-soft-refused")
    assert status(browser) == 400, (status(browser), body(browser)[:800])
    assert "daily_dose.soft_max" in text(browser, "#error"), text(browser, "#error")
    assert len(pumpd.events("PROGRAM_COMMITTED")) == commits, "a refused confirmation reached the pump"

    for r in soft_rules:
        fill(browser, f"override_{r}", reasons[r], "#review")
    confirm(browser, ACCOUNTS["clin"][1])
    shot(browser, "command-program-override")
    _, state = command_page(browser)
    assert state == "succeeded", body(browser)[:800]
    overrides = text(browser, "#overrides")
    for r in soft_rules:
        assert reasons[r] in overrides, (r, overrides)
    assert len(pumpd.events("PROGRAM_COMMITTED")) == commits + 1


def bolus_review(driver, d, dose="0.5", unit="mg", minutes="30"):
    go(driver, d, "/bolus", "bolus")
    fill(driver, "dose", dose, "#bolus-form")
    fill(driver, "dose_unit", unit, "#bolus-form")
    fill(driver, "duration_min", minutes, "#bolus-form")
    click_and_wait(driver, "#bolus-form #review")
    assert status(driver) == 200, body(driver)[:800]
    assert els(driver, "#review #new") and els(driver, "#confirm-form"), body(driver)[:800]


def test_bolus_past_a_hard_limit_is_blocked(pumpd, browser):
    bolus = drug_library()["morphine"]["clinician_bolus"]
    assert bolus["hard_max"]["value"]["unit"] == "mg"
    dose = f"{float(bolus['hard_max']['value']['value']) * 1.5:g}"  # 3 mg: above the hard maximum
    login_ok(browser, pumpd, "clin")
    go(browser, pumpd, "/bolus")
    fill(browser, "dose", dose, "#bolus-form")
    fill(browser, "dose_unit", "mg", "#bolus-form")
    fill(browser, "duration_min", "30", "#bolus-form")
    click_and_wait(browser, "#bolus-form #review")
    shot(browser, "review-bolus-blocked")
    assert review_findings(browser).get("clinician_bolus.hard_max") == "hard", review_findings(browser)
    assert text(browser, "#blocked")
    assert not els(browser, "#confirm"), "a hard finding, and still a #confirm button"
    assert not els(browser, "input[name='password']"), "a hard finding, and still a password field to confirm with"
    assert not els(browser, "#confirm-form"), "a hard finding, and still a #confirm-form (contract: only otherwise)"


def test_wrong_reauthentication_password_sends_nothing(pumpd, browser):
    login_ok(browser, pumpd, "clin")
    started = len(pumpd.events("BOLUS_STARTED"))
    boluses = audit_count(pumpd, "bolus")
    bolus_review(browser, pumpd)
    shot(browser, "review-bolus")
    confirm(browser, "not-the-password-at-all")
    shot(browser, "review-bolus-wrong-password")
    assert status(browser) == 401, (status(browser), body(browser)[:800])
    assert "password" in text(browser, "#error").lower(), text(browser, "#error")
    assert len(pumpd.events("BOLUS_STARTED")) == started, "a bolus reached the pump after a wrong password"
    assert audit_count(pumpd, "bolus") == boluses, "the audit has a new bolus that succeeded"


def test_bolus_whose_answer_is_lost_settles_by_itself(pumpd, browser):
    login_ok(browser, pumpd, "clin")
    started = len(pumpd.events("BOLUS_STARTED"))
    bolus_review(browser, pumpd)
    fill(browser, "password", ACCOUNTS["clin"][1], "#confirm-form")
    # The bolus's answer and the answers to its three retransmissions are lost
    # (ICD §5: the link gives up after three): pumpd cannot know whether it ran.
    pumpd.sim_control({"drop_only": "START_BOLUS"})
    pumpd.sim_control({"drop_responses": 4})
    try:
        click_and_wait(browser, "#confirm")
        shot(browser, "command-bolus-uncertain")
        _, first = command_page(browser)
        assert first in UNSETTLED_STATES, f"#outcome-state {first!r} right after a lost answer: {body(browser)[:800]}"
        note = text(browser, "#uncertain-note")
        assert "again" in note.lower(), f"#uncertain-note does not say nothing is sent again: {note!r}"
        assert els(browser, "meta[http-equiv='refresh' i]"), "an unsettled command page does not refresh itself"
        final, seen = wait_settled(browser, 30)
        shot(browser, "command-bolus-settled")
        assert final is not None, f"not settled within 30 s; states seen {seen}"
        assert final in FINAL_STATES, f"settled as {final!r}, not a final state; states seen {seen}"
    finally:
        pumpd.sim_control({"drop_only": "", "drop_responses": 0})
    ran = len(pumpd.events("BOLUS_STARTED")) - started
    assert ran == (1 if final in ("succeeded", "applied") else 0), f"page says {final}, the pump started {ran} boluses"
    assert not els(browser, "#uncertain-note") or not el(browser, "#uncertain-note").is_displayed()


def test_cancel_bolus(pumpd, browser):
    login_ok(browser, pumpd, "clin")
    if pumpd.sim()["implant"]["bolus"] is None:
        bolus_review(browser, pumpd)
        confirm(browser, ACCOUNTS["clin"][1])
        assert command_page(browser)[1] == "succeeded", body(browser)[:800]
    assert pumpd.sim()["implant"]["bolus"] is not None
    cancelled = len(pumpd.events("BOLUS_CANCELLED"))
    go(browser, pumpd, "/bolus")
    click_and_wait(browser, "#cancel-bolus-form #cancel-bolus")
    shot(browser, "command-cancel-bolus")
    _, state = command_page(browser)
    assert state == "succeeded", body(browser)[:800]
    assert "clin (clinician)" in command_who(browser)
    assert pumpd.sim()["implant"]["bolus"] is None
    assert len(pumpd.events("BOLUS_CANCELLED")) == cancelled + 1


def test_events_page(pumpd, browser):
    login_ok(browser, pumpd, "clin")
    go(browser, pumpd, "/events", "events")
    assert status(browser) == 200
    rows = els(browser, "table#events tbody tr") or els(browser, "table#events tr")[1:]
    assert rows, "table#events has no rows"
    table = text(browser, "table#events").lower()
    assert "refilled" in table and "power on" in table, table[:1000]
    form = el(browser, "#events-filter")
    for name in ("kind", "from", "to"):
        form.find_element(By.NAME, name)


def test_audit_names_the_clinician(pumpd, browser):
    login_ok(browser, pumpd, "clin")
    go(browser, pumpd, "/audit", "audit")
    assert status(browser) == 200
    who = [td.text.strip() for td in els(browser, "table#audit td.who")]
    assert "clin (clinician)" in who, who
    assert any(re.match(rf"uid {os.getuid()}\b", w) for w in who), f"the socket's writes are not shown as uid {os.getuid()}: {who}"
    links = [a.get_attribute("href") for a in els(browser, "table#audit a")]
    assert any(re.search(r"/commands/[^/]+$", h or "") for h in links), links
    el(browser, "#audit-filter").find_element(By.NAME, "kind")
    # A row's link leads to its command page.
    link = next(h for h in links if re.search(r"/commands/[^/]+$", h or ""))
    browser.get(link)
    shot(browser, "command")
    command_page(browser)


# ---------------------------------------------------------------- security

def test_post_without_csrf_is_refused(pumpd, browser):
    login_ok(browser, pumpd, "clin")
    raw = Raw(pumpd, {"pumpd_session": session_cookie(browser)["value"]})
    start_bolus_through_socket(pumpd)
    cancelled = len(pumpd.events("BOLUS_CANCELLED"))
    done = audit_count(pumpd, "cancel_bolus")
    for fields in ({}, {"csrf": "not-the-token"}):
        code, _, page = raw.post("/bolus/cancel", fields)
        assert code == 403, (fields, code, page[:800])
        assert re.search(r"<h1[^>]*>[^<]*Refused", page), page[:800]
        assert "CSRF" in page
    # The same from the page itself, without the token.
    code, page = js_post(browser, "/bolus/cancel", {})
    assert code == 403, (code, page[:800])
    assert len(pumpd.events("BOLUS_CANCELLED")) == cancelled
    assert audit_count(pumpd, "cancel_bolus") == done, "a POST without CSRF cancelled a bolus"
    assert pumpd.sim()["implant"]["bolus"] is not None
    # The control: the same request with the page's own token goes through.
    go(browser, pumpd, "/bolus")
    code, headers, page = raw.post("/bolus/cancel", {"csrf": csrf_tokens(browser.page_source)[0]})
    assert code == 303 and re.search(r"/commands/[^/]+$", headers.get("location", "")), (code, headers, page[:500])
    assert len(pumpd.events("BOLUS_CANCELLED")) == cancelled + 1
    # The session itself still works.
    go(browser, pumpd, "/pump")
    assert here(browser) == "/pump"


def test_viewer_sees_no_write_forms_and_is_refused(pumpd, browser):
    login_ok(browser, pumpd, "viewer")
    for path, forms in (("/pump", []), ("/bolus", ["#bolus-form", "#cancel-bolus-form"]),
                        ("/refill", ["#refill-form"]), ("/program", [])):
        go(browser, pumpd, path, f"viewer{path.replace('/', '-')}")
        for css in forms:
            assert not els(browser, css), f"a viewer is shown {css} on {path}"
    go(browser, pumpd, "/program/edit")
    assert not els(browser, "#program-form"), "a viewer is shown #program-form"

    go(browser, pumpd, "/pump")
    tokens = csrf_tokens(browser.page_source)
    assert tokens, "the viewer's page has no csrf field (the logout form should carry one)"
    start_bolus_through_socket(pumpd)
    cancelled = len(pumpd.events("BOLUS_CANCELLED"))
    code, page = js_post(browser, "/bolus/cancel", {"csrf": tokens[0]})
    assert code == 403, (code, page[:800])
    assert re.search(r"<h1[^>]*>[^<]*Refused", page), page[:800]
    assert "viewer" in page
    assert len(pumpd.events("BOLUS_CANCELLED")) == cancelled
    assert pumpd.sim()["implant"]["bolus"] is not None
    stop_bolus_through_socket(pumpd)


def test_nurse_may_not_make_a_clinicians_write(pumpd, browser):
    login_ok(browser, pumpd, "nurse")
    go(browser, pumpd, "/bolus", "nurse-bolus")
    assert not els(browser, "#bolus-form") and not els(browser, "#cancel-bolus-form")
    start_bolus_through_socket(pumpd)
    cancelled = len(pumpd.events("BOLUS_CANCELLED"))
    code, page = js_post(browser, "/bolus/cancel", {"csrf": csrf_tokens(browser.page_source)[0]})
    assert code == 403, (code, page[:800])
    assert re.search(r"<h1[^>]*>[^<]*Refused", page), page[:800]
    assert "nurse" in page
    assert len(pumpd.events("BOLUS_CANCELLED")) == cancelled
    assert pumpd.sim()["implant"]["bolus"] is not None
    stop_bolus_through_socket(pumpd)


def forget_cookies(driver):
    driver.get("about:blank")
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})


def test_alarm_acknowledge_form_by_role(pumpd, browser):
    # clock_not_set stops nothing (ICD §10); nurses and clinicians may acknowledge alarms, viewers may not.
    pumpd.sim_control({"raise_alarm": 5})
    try:
        for name, may in (("clin", True), ("nurse", True), ("viewer", False)):
            forget_cookies(browser)
            login_ok(browser, pumpd, name)
            deadline = time.monotonic() + 15
            while not els(browser, "#alarms li") and time.monotonic() < deadline:
                time.sleep(1)
                go(browser, pumpd, "/pump")
            shot(browser, f"pump-alarm-{name}")
            items = els(browser, "#alarms li")
            assert items, f"the raised alarm is not listed for {name} within 15 s: {text(browser, '#alarms')!r}"
            assert bool(els(browser, "#alarms li .ack-form")) == may, f"{name}: .ack-form shown {not may}"
    finally:
        pumpd.sim_control({"clear_alarm": 5})


def test_cookie_flags(pumpd, browser):
    login_ok(browser, pumpd, "clin")
    c = session_cookie(browser)
    assert c["httpOnly"] is True, c
    assert c["sameSite"] == "Strict", c
    assert c["path"] == "/", c
    assert c.get("secure") is False, c  # no TLS here: Secure only with TLS
    assert "pumpd_session" not in browser.execute_script("return document.cookie")


def test_logout(pumpd, browser):
    login_ok(browser, pumpd, "clin")
    old = session_cookie(browser)["value"]
    click_and_wait(browser, "#logout-form #logout")
    assert urllib.parse.urlsplit(browser.current_url).path == "/login"
    go(browser, pumpd, "/pump")
    assert urllib.parse.urlsplit(browser.current_url).path == "/login"
    # The old session is dead on the server, not just forgotten by the browser.
    code, headers, _ = Raw(pumpd, {"pumpd_session": old}).get("/pump")
    assert code == 303 and urllib.parse.urlsplit(headers.get("location", "")).path == "/login", (code, headers)


def test_lockout_after_five_wrong_passwords(pumpd, browser):
    # The first four are wrong passwords; the fifth is too, and the lock may
    # begin with its answer (423) or after it (401).
    for i in range(5):
        login(browser, pumpd, "locksmith", f"wrong-password-{i}xx", shoot="login-wrong" if i == 0 else None)
        assert el(browser, "#error").get_attribute("role") == "alert"
        if i == 4 and status(browser) == 423:
            assert "locked" in text(browser, "#error").lower(), text(browser, "#error")
            continue
        assert status(browser) == 401, (i, status(browser), body(browser)[:500])
        assert "wrong name or password" in text(browser, "#error").lower(), text(browser, "#error")
    login(browser, pumpd, "locksmith", shoot=None)
    shot(browser, "login-locked")
    assert status(browser) == 423, (status(browser), body(browser)[:500])
    assert "locked" in text(browser, "#error").lower(), text(browser, "#error")
    assert urllib.parse.urlsplit(browser.current_url).path == "/login"
    # Another name is not locked with it.
    login_ok(browser, pumpd, "clin")


def test_idle_session_expires(expiring_pumpd, browser):
    d = expiring_pumpd
    login_ok(browser, d, "clin")
    raw = Raw(d)
    raw.login("clin", ACCOUNTS["clin"][1])
    assert raw.get("/pump")[0] == 200
    time.sleep(6.5)
    code, headers, _ = raw.get("/pump")
    assert code == 303, (code, headers)
    assert headers.get("location", "").endswith("/login?expired=1"), headers
    browser.get(d.base + "/pump")
    shot(browser, "login-expired")
    assert here(browser) == "/login?expired=1", here(browser)
    assert "expired" in text(browser, "#notice").lower(), text(browser, "#notice")

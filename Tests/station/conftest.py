"""Fixtures for the station's browser suite: real pumpd processes on their
embedded simulator, accounts made with pumpctl, a headless Debian chromium
driven by Debian's chromedriver, and a small cookie-keeping HTTP client for
the requests a browser would not send (no CSRF token, a bare GET whose
redirect status matters).

Nothing here downloads a browser or a driver: both paths are given to
Selenium, so Selenium Manager is never asked for one (SE_OFFLINE makes sure).

Environment:
    BIN                  folder with pumpd, pumpsim and pumpctl (default .build/debug)
    STATION_SCREENSHOTS  where each visited page is saved as PNG
                         (default .build/station-screenshots)
    CHROMIUM, CHROMEDRIVER  override /usr/bin/chromium, /usr/bin/chromedriver
"""

import html.parser
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

import pytest

os.environ["SE_OFFLINE"] = "true"

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "Tests", "pyclient"))
from pumpd_client import call, control  # noqa: E402

BIN = os.path.abspath(os.path.join(ROOT, os.environ.get("BIN", ".build/debug")))
SCREENSHOTS = os.path.abspath(os.path.join(ROOT, os.environ.get("STATION_SCREENSHOTS", ".build/station-screenshots")))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")

# Accounts: name -> (role, password). Passwords are at least 12 characters.
ACCOUNTS = {
    "clin": ("clinician", "clinician-pass-1"),
    "nurse": ("nurse", "nurse-password-2"),
    "viewer": ("viewer", "viewer-password-3"),
    # Locked by the lockout test, so that no other test loses its account.
    "locksmith": ("clinician", "locksmith-pass-4"),
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Pumpd:
    """One pumpd on its embedded simulator in a fresh temporary data dir."""

    def __init__(self, name, idle_seconds=None, env=None):
        for exe in ("pumpd", "pumpsim", "pumpctl"):
            if not os.access(os.path.join(BIN, exe), os.X_OK):
                pytest.exit(f"{BIN}/{exe} is missing: build it or set BIN", returncode=2)
        self.tmp = tempfile.mkdtemp(prefix=f"station-{name}.")
        self.data = os.path.join(self.tmp, "data")
        self.sock = os.path.join(self.tmp, "pumpd.sock")
        self.ctl = os.path.join(self.data, "simulator", "control.sock")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        args = [os.path.join(BIN, "pumpd"), "--data-dir", self.data, "--socket", self.sock,
                "--clinician-uid", str(os.getuid()), "--station", f"127.0.0.1:{self.port}"]
        if idle_seconds is not None:
            args += ["--station-idle-seconds", str(idle_seconds)]
        self.stderr_path = os.path.join(self.tmp, "pumpd.stderr")
        self.stderr = open(self.stderr_path, "wb")
        self.args, self.env = args, {**os.environ, **(env or {})}
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.stderr, env=self.env)
        self.wait_up()

    def restart(self, fresh_implant=False):
        """SIGTERM, then pumpd again on the same data dir: the audit trail,
        accounts, patients and visits stay; station sessions end. With
        `fresh_implant` the simulator's implant file goes first, so another
        implant (a new serial) comes under the head, as when a pump is replaced."""
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=30) == 0, f"pumpd exited {self.proc.returncode} on SIGTERM:\n{self.log_tail()}"
        if fresh_implant:
            os.remove(os.path.join(self.data, "simulator", "implant.json"))
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=self.stderr, env=self.env)
        self.wait_up()

    def log_tail(self, n=30):
        try:
            with open(self.stderr_path, "rb") as f:
                return b"".join(f.readlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""

    def wait_up(self, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pumpd exited {self.proc.returncode} at start:\n{self.log_tail()}")
            try:
                health = call(self.sock, "GET", "/v1/health", timeout=2)
                status, _, _ = Raw(self).get("/login")
                if health.status == 200 and status == 200:
                    return
            except Exception:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"pumpd's station did not answer GET /login within {seconds} s:\n{self.log_tail()}")

    def add_user(self, name, role, password):
        r = subprocess.run([os.path.join(BIN, "pumpctl"), "users", "add", name, "--role", role,
                            "--password-stdin", "--socket", self.sock],
                           input=password + "\n", capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"pumpctl users add {name}: {r.returncode}\n{r.stdout}\n{r.stderr}"

    def api(self, method, path, body=None):
        return call(self.sock, method, path, body)

    def sim(self):
        """The simulator's own state (the device's truth, not pumpd's view)."""
        return control(self.ctl, {"state": True})["state"]

    def sim_control(self, command):
        return control(self.ctl, command)

    def events(self, name):
        return [e for e in self.sim()["implant"]["events"] if e["name"] == name]

    def audit(self):
        a = self.api("GET", "/v1/audit?limit=1000")
        assert a.status == 200, a.body
        return a.doc["commands"]

    def stop(self):
        """SIGTERM; pumpd must stop cleanly (exit status 0)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"pumpd did not stop within 30 s of SIGTERM:\n{self.log_tail()}")
        self.stderr.close()
        rc = self.proc.returncode
        if rc == 0:
            shutil.rmtree(self.tmp, ignore_errors=True)
        assert rc == 0, f"pumpd exited {rc} after SIGTERM (data dir kept in {self.tmp}):\n{self.log_tail()}"


class CsrfFinder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tokens = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") == "csrf":
            self.tokens.append(a.get("value") or "")


def csrf_tokens(page):
    f = CsrfFinder()
    f.feed(page)
    return f.tokens


class Raw:
    """HTTP/1.1 to the station without a browser: no redirect is followed,
    cookies are kept by name (the station's are all Path=/)."""

    def __init__(self, daemon, cookies=None):
        self.port = daemon.port
        self.cookies = dict(cookies or {})

    def request(self, method, path, fields=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {}
        body = None
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            text = r.read().decode(errors="replace")
            for c in r.msg.get_all("Set-Cookie") or []:
                k, _, v = c.split(";")[0].partition("=")
                self.cookies[k.strip()] = v.strip()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, text
        finally:
            conn.close()

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, fields):
        return self.request("POST", path, fields)

    def login(self, name, password):
        status, _, page = self.get("/login")
        assert status == 200, page
        tokens = csrf_tokens(page)
        assert tokens, "GET /login has no csrf field"
        status, headers, page = self.post("/login", {"name": name, "password": password, "csrf": tokens[0]})
        assert status == 303 and headers.get("location", "").endswith("/pump"), (status, headers, page[:500])


@pytest.fixture(scope="session")
def pumpd():
    """The suite's pumpd (default idle expiry), its accounts, and a program
    for hydromorphone pushed through the API socket, so that the station's
    refill with morphine has a program to clear."""
    d = Pumpd("main")
    try:
        for name, (role, password) in ACCOUNTS.items():
            d.add_user(name, role, password)
        r = d.api("POST", "/v1/refill", {
            "drug": "hydromorphone", "concentration": {"value": "2", "unit": "mg/mL"},
            "reservoir": {"value": "20", "unit": "mL"}, "low_alarm": {"value": "2", "unit": "mL"}})
        assert r.status == 200, r.body
        r = d.api("PUT", "/v1/program", {
            "mode": "continuous", "steps": [{"start_min": 0, "rate": {"value": "0.5", "unit": "mg/day"}}]})
        assert r.status == 200, r.body
    except BaseException:
        d.stop()
        raise
    yield d
    d.stop()


@pytest.fixture()
def expiring_pumpd():
    """A second pumpd whose station sessions expire after 5 idle seconds."""
    d = Pumpd("expiry", idle_seconds=5)
    try:
        d.add_user("clin", *ACCOUNTS["clin"])
    except BaseException:
        d.stop()
        raise
    yield d
    d.stop()


@pytest.fixture(scope="session")
def chromium():
    """One headless chromium for the whole run (starting one costs about a second)."""
    os.makedirs(SCREENSHOTS, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1280,1000", "--no-first-run", "--disable-extensions"):
        options.add_argument(a)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_window_size(1280, 1000)
    driver.implicitly_wait(0)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture()
def browser(chromium):
    """The browser with no cookie at all: no session of one test reaches the
    next (cookies ignore the port, and both pumpds are on 127.0.0.1)."""
    chromium.get("about:blank")
    chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    assert chromium.get_cookies() == []
    yield chromium


def pytest_report_header(config):
    return [f"station suite: BIN={BIN}", f"screenshots: {SCREENSHOTS}"]


def dump(obj):
    return json.dumps(obj, indent=1)[:2000]

"""pumpd's HTTP API over its Unix socket, and pumpsim's control socket: the
one small client the Python batteries (Tests/reliability) and the contract
checker (Tests/api) share. Standard library only.

Import it from a script with

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pyclient"))
    from pumpd_client import call, control
"""

import http.client
import json
import socket


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over an AF_UNIX stream socket (pumpd listens on no TCP port)."""

    def __init__(self, path, timeout=60):
        super().__init__("pumpd", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class NoAnswer(Exception):
    """pumpd did not answer (refused, reset, timed out)."""


class Answer:
    """One HTTP answer: status, lower-case headers, raw body and, when the
    body is JSON, the parsed document (`doc`, else None)."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.doc = json.loads(body) if body else None
        except ValueError:
            self.doc = None

    def get(self, *path):
        """The value at a path of object keys, or None where one is missing."""
        v = self.doc
        for p in path:
            if not isinstance(v, dict):
                return None
            v = v.get(p)
        return v

    @property
    def code(self):
        return self.get("error", "code")

    @property
    def command_id(self):
        return self.get("command", "id") or self.get("error", "command_id")


def call(sock, method, path, body=None, key=None, timeout=30):
    """One request on a fresh connection; `body` is sent as JSON, `key` as the
    Idempotency-Key. Returns an Answer; raises NoAnswer when there is none."""
    headers = {"Host": "pumpd"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
        headers["Content-Length"] = str(len(data))
    if key is not None:
        headers["Idempotency-Key"] = key
    conn = UnixHTTPConnection(sock, timeout)
    try:
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    except (OSError, http.client.HTTPException) as e:
        raise NoAnswer(f"{method} {path}: {type(e).__name__}: {e}") from e
    finally:
        conn.close()


def control(path, command, timeout=30, check=True):
    """One command (a JSON object) on pumpsim's control socket; its answer.
    With `check`, an answer without "ok": true raises RuntimeError."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall((json.dumps(command) + "\n").encode())
        buf = bytearray()
        while not buf.endswith(b"\n"):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    answer = json.loads(bytes(buf) or b"{}")
    if check and answer.get("ok") is not True:
        raise RuntimeError(f"pumpsim refused {command}: {answer}")
    return answer

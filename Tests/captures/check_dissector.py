#!/usr/bin/env python3
"""Checks spec/ppl1.lua (the Wireshark dissector) against our own decoder.

For every capture (captures/*.pcapng, or the files given) it runs

    tshark -n -X lua_script:spec/ppl1.lua -r FILE -T json -J "frame ppl1" --no-duplicate-keys
    $PUMPCTL capture decode --json FILE

and compares them packet by packet: time, dir, kind, seq, opcode, status,
len, error and every payload field, records and lists included (a list is
compared as the sequence of each of its fields' values, in order). It fails
on any difference, on a capture with no packets, on a packet with several
chunks (the decoder prints several lines for it, which cannot be matched to
packets), and on any sign of a broken dissector: Lua errors, malformed-packet
markers, unexpected messages from tshark.

The decoder runs without a key file, so its "error" is never "mac".

Environment: PUMPCTL (default .build/debug/pumpctl; any executable that
accepts `capture decode --json FILE`), TSHARK (default tshark). Paths are
relative to the repository root. Python 3 standard library only.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KIND_NAMES = {"1": "request", "2": "response", "3": "event"}
# Payload fields that the dissector shows as FT_BYTES ("a0:a1:...") and JSON as hex.
BYTES_FIELDS = {"host_nonce", "device_nonce", "reserved", "raw"}
# Payload fields the dissector adds for reading only, checked against the JSON
# they summarise instead of being compared directly.
DERIVED_FIELDS = {"step_count": lambda payload: [len(payload.get("steps") or [])]}
# The stderr line tshark prints whenever it runs as root.
BENIGN_STDERR = re.compile(r'^Running as user "root" and group "root"\. This could be dangerous\.$')
PAYLOAD_PREFIX = "ppl1.payload."


def tshark_command(tshark, lua, capture):
    return [tshark, "-n", "-X", f"lua_script:{lua}", "-r", str(capture),
            "-T", "json", "-J", "frame ppl1", "--no-duplicate-keys"]


def flatten_tree(node, out):
    """Collects every field of a tshark JSON tree: abbrev -> [values in document order].
    Subtrees (`x_tree`, text items, duplicate keys merged into lists) are walked in
    order; expert-info subtrees are skipped."""
    for key, value in node.items():
        if key.startswith("_ws.expert"):
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                flatten_tree(item, out)
            else:
                out.setdefault(key, []).append(item)
    return out


def flatten_payload(node, prefix, out):
    """JSON payload -> {path: [values]}, the dissector's naming: array indices dropped."""
    if isinstance(node, dict):
        for key, value in node.items():
            flatten_payload(value, f"{prefix}.{key}" if prefix else key, out)
    elif isinstance(node, list):
        for item in node:
            flatten_payload(item, prefix, out)
    elif node is not None:
        out.setdefault(prefix, []).append(node)
    return out


def same_value(expected, shown, bytes_field=False):
    """Does a tshark JSON value (a string) show the decoder's JSON value?"""
    if isinstance(expected, bool) or expected is None:
        return False
    if isinstance(expected, int):
        try:
            return int(shown, 0) == expected
        except (TypeError, ValueError):
            return False
    if bytes_field:
        return isinstance(shown, str) and shown.replace(":", "").lower() == expected.lower()
    return shown == str(expected)


def one(fields, key):
    values = fields.get(key)
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def compare_packet(ref, layers):
    """Differences between one decoder line and one tshark packet, as readable strings."""
    problems = []
    tree = layers.get("ppl1")
    if tree is None:
        return ["no PPL/1 tree: the dissector did not run (is it registered for link type 147?)"]
    if isinstance(tree, list):
        return [f"{len(tree)} PPL/1 chunks in one packet; the checker matches one chunk per packet"]
    fields = flatten_tree(tree, {})
    frame = flatten_tree(layers.get("frame", {}), {})

    def check(name, expected, shown, ok):
        if not ok:
            problems.append(f"{name}: decoder {json.dumps(expected)}, dissector {json.dumps(shown)}")

    rel = one(frame, "frame.time_relative")
    if rel is not None and ref.get("t_us") is not None:
        shown_us = Decimal(rel) * 1_000_000
        check("t_us", ref["t_us"], str(shown_us.normalize()), shown_us == ref["t_us"])

    shown = one(fields, "ppl1.dir")
    check("dir", ref.get("dir"), shown, shown == ref.get("dir"))
    shown = one(fields, "ppl1.error")
    check("error", ref.get("error"), shown, shown == ref.get("error"))
    kind = one(fields, "ppl1.kind")
    shown = KIND_NAMES.get(kind, kind) if isinstance(kind, str) else kind
    check("kind", ref.get("kind"), shown, shown == ref.get("kind"))
    for name in ("seq", "len", "opcode", "status"):
        expected, shown = ref.get(name), one(fields, f"ppl1.{name}")
        if expected is None:
            ok = shown is None
        elif name in ("seq", "len"):
            ok = isinstance(shown, str) and same_value(expected, shown)
        else:  # the dissector's string is JSON's value: a name, or the number
            ok = shown == str(expected)
        check(name, expected, shown, ok)

    # The CRC is shown good exactly when the chunk got past the CRC check.
    error = ref.get("error")
    want = "1" if error in (None, "version", "length", "kind") else "0" if error == "crc" else None
    shown = one(fields, "ppl1.crc.status")
    if shown != want:
        problems.append(f"crc.status: {({'1': 'Good', '0': 'Bad', None: 'absent'})[want]} expected for error "
                        f"{json.dumps(error)}, dissector {json.dumps(shown)}")

    payload = ref.get("payload")
    expected = flatten_payload(payload, "", {}) if isinstance(payload, dict) else {}
    shown_fields = {k[len(PAYLOAD_PREFIX):]: v for k, v in fields.items() if k.startswith(PAYLOAD_PREFIX)}
    for name, derive in DERIVED_FIELDS.items():
        if name in shown_fields:
            values = shown_fields.pop(name)
            want = derive(payload) if isinstance(payload, dict) else []
            ok = len(values) == len(want) and all(same_value(w, v) for w, v in zip(want, values))
            check(f"payload.{name}", want, values, ok)
    for name in sorted(set(expected) | set(shown_fields)):
        want, values = expected.get(name, []), shown_fields.get(name, [])
        is_bytes = name.split(".")[-1] in BYTES_FIELDS
        ok = len(want) == len(values) and all(same_value(w, v, is_bytes) for w, v in zip(want, values))
        if not ok:
            problems.append(f"payload.{name}: decoder {json.dumps(want if len(want) != 1 else want[0])}, "
                            f"dissector {json.dumps(values if len(values) != 1 else values[0]) if values else 'absent'}")
    return problems


def describe(ref):
    parts = [ref.get("dir") or "?"]
    if ref.get("error"):
        parts.append(f"error={ref['error']}")
    if ref.get("kind"):
        parts.append(ref["kind"])
    if ref.get("seq") is not None:
        parts.append(f"seq={ref['seq']}")
    if ref.get("opcode") is not None:
        parts.append(str(ref["opcode"]))
    return " ".join(parts)


def check_capture(capture, lua, tshark, pumpctl, env):
    """Returns (packets, problems, seconds) for one capture."""
    problems = []
    started = time.monotonic()
    try:
        ts = subprocess.Popen(tshark_command(tshark, lua, capture), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, cwd=ROOT, env=env)
    except OSError as e:
        return 0, [f"cannot run {tshark}: {e}"], 0.0
    try:
        dec = subprocess.run([pumpctl, "capture", "decode", "--json", str(capture)], capture_output=True,
                             cwd=ROOT, timeout=600)
    except OSError as e:
        ts.kill()
        ts.wait()
        return 0, [f"cannot run the decoder {pumpctl}: {e}"], 0.0
    ts_out, ts_err = ts.communicate(timeout=600)
    elapsed = time.monotonic() - started

    for line in ts_err.decode(errors="replace").splitlines():
        if line.strip() and not BENIGN_STDERR.match(line.strip()):
            problems.append(f"tshark: {line}")
    if ts.returncode != 0:
        problems.append(f"tshark exited with status {ts.returncode}")
    text = ts_out.decode(errors="replace")
    for marker, what in (("Lua Error", "a Lua error"),
                         ('"_ws.malformed"', "a malformed-packet marker (a dissector exception)"),
                         ("Dissector bug", "a dissector bug")):
        if marker in text:
            problems.append(f"tshark output holds {what}")
    try:
        packets = json.loads(text) if text.strip() else []
    except json.JSONDecodeError as e:
        problems.append(f"tshark output is not JSON: {e}")
        packets = []

    if dec.returncode != 0:
        problems.append(f"decoder exited with status {dec.returncode}: {dec.stderr.decode(errors='replace').strip()}")
    refs = []
    for n, line in enumerate(dec.stdout.decode(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            refs.append(json.loads(line))
        except json.JSONDecodeError as e:
            problems.append(f"decoder line {n} is not JSON ({e}): {line[:120]}")

    if not packets:
        problems.append("tshark shows no packets: a capture must hold at least one")
    if len(refs) != len(packets) and dec.returncode == 0:
        problems.append(f"decoder printed {len(refs)} lines for {len(packets)} packets: a packet with more than "
                        "one 0x00 delimiter gives several lines and cannot be checked here; record one chunk per packet")
    for i, (ref, pkt) in enumerate(zip(refs, packets), 1):
        layers = pkt.get("_source", {}).get("layers", {})
        for p in compare_packet(ref, layers):
            problems.append(f"packet {i} ({describe(ref)}): {p}")
    return len(packets), problems, elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("captures", nargs="*", help="pcapng files (default: captures/*.pcapng)")
    ap.add_argument("--lua", default="spec/ppl1.lua", help="the dissector (default spec/ppl1.lua)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each capture's time")
    args = ap.parse_args()

    tshark = os.environ.get("TSHARK", "tshark")
    pumpctl = os.environ.get("PUMPCTL", ".build/debug/pumpctl")
    if "/" in pumpctl:
        pumpctl = str(ROOT / pumpctl)
    captures = [Path(c) for c in args.captures] or sorted((ROOT / "captures").glob("*.pcapng"))
    if not captures:
        print("check_dissector: no captures to check (captures/*.pcapng is empty)")
        return 1
    lua = Path(args.lua)
    if not (ROOT / lua).is_file():
        print(f"check_dissector: {lua} not found")
        return 1

    # A configuration directory of its own: the user's preferences and personal
    # Lua plugins must not change what tshark shows.
    paths = [(c if c.is_absolute() else Path.cwd() / c).resolve() for c in captures]
    with tempfile.TemporaryDirectory(prefix="check-dissector.") as confdir:
        env = dict(os.environ, WIRESHARK_CONFIG_DIR=confdir)
        # tshark's start-up dominates (about 0.3 s a capture): run captures side by side.
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            results = list(pool.map(lambda p: check_capture(p, lua, tshark, pumpctl, env), paths))
    failed, total = 0, 0
    for path, (packets, problems, elapsed) in zip(paths, results):
        total += packets
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        timing = f" ({elapsed:.2f} s)" if args.verbose else ""
        if problems:
            failed += 1
            print(f"FAIL {shown}: {packets} packets, {len(problems)} problems{timing}")
            for p in problems[:50]:
                print(f"  {p}")
            if len(problems) > 50:
                print(f"  ... and {len(problems) - 50} more")
        else:
            print(f"ok   {shown}: {packets} packets{timing}")
    print(f"{len(captures)} captures, {total} packets: "
          + ("the dissector agrees with the decoder" if not failed else f"{failed} failed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

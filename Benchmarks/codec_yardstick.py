#!/usr/bin/env python3
"""The PPL/1 codec through Python's C-extension pipeline: the yardstick of `pumpbench codec`.

It does the same eight cases as the Swift benchmark, frame for frame:

  encode  header (8 bytes, little-endian) + payload, HMAC-SHA256 truncated to
          16 bytes (or 16 zero bytes), CRC-32C little-endian, COBS, 0x00.
  decode  a ~8 MiB stream of such frames, read in 64 KiB slices: split on 0x00,
          COBS-decode, check length and CRC, parse the header, verify the mac.

for payloads of 16 and 1024 bytes, with and without the mac; and CRC-32C alone
over 1 MiB. COBS is the `cobs` package (C extension), CRC-32C the `crc32c`
package (hardware CRC32 instruction where the CPU has it), HMAC the standard
library's `hmac.digest` (OpenSSL's one-shot). MB is 10^6 wire bytes.

Each case is warmed up, then timed in rounds with time.perf_counter_ns until
enough rounds were quiet (other processes took at most 0.2 cores meanwhile,
from /proc/stat); the reported rate is the median quiet round, and
other_cores_busy says how much CPU other processes took during the rounds
used. `--json` prints one JSON object; the Swift side reads it
(`pumpbench codec --yardstick PATH`).
"""

import argparse
import hmac
import json
import os
import platform
import ssl
import struct
import sys
import time

try:
    import cobs.cobs as cobs_codec
    import crc32c as crc32c_module
except ImportError as missing:  # the Swift side shows this text as its note
    sys.stderr.write(
        f"codec_yardstick: {missing}; install with "
        "`python3 -m pip install -r Benchmarks/requirements.txt`\n")
    sys.exit(3)

from importlib import metadata

crc32c = crc32c_module.crc32c
cobs_encode = cobs_codec.encode
cobs_decode = cobs_codec.decode

# Frame layout, ICD §3.
VERSION = 0x01
KIND_RESPONSE = 0x02
OPCODE = 0x1A            # READ_EVENTS
STATUS_OK = 0x00
HEADER = struct.Struct("<BBHBBH")
HEADER_SIZE = 8
MAC_SIZE = 16
OVERHEAD = HEADER_SIZE + MAC_SIZE + 4
MAX_PAYLOAD = 1024
MAX_CHUNK = 1100         # §2: a receiver gives up after this many bytes without 0x00
ZERO_MAC = bytes(MAC_SIZE)

# Session of the ICD vectors: test pairing key 00..1F, nonces A0..AF and B0..BF.
PAIRING_KEY = bytes(range(32))
HOST_NONCE = bytes(range(0xA0, 0xB0))
DEVICE_NONCE = bytes(range(0xB0, 0xC0))
SESSION_KEY = hmac.digest(PAIRING_KEY, b"PPL1-session" + HOST_NONCE + DEVICE_NONCE, "sha256")

STREAM_TARGET = 8 * 1024 * 1024   # decode stream size
SLICE = 64 * 1024                 # read size fed to the decoder
CRC_BUFFER = 1024 * 1024
CRC_NAME = "crc32c 1 MiB"


def payload_of(size):
    """The benchmark payload: byte i is (31 i + 7) mod 256 (same as pumpbench)."""
    return bytes((31 * i + 7) & 0xFF for i in range(size))


def encode_wire(seq, payload, key):
    """One frame on the wire: COBS(header payload mac crc) 0x00."""
    authenticated = HEADER.pack(VERSION, KIND_RESPONSE, seq, OPCODE, STATUS_OK, len(payload)) + payload
    mac = hmac.digest(key, authenticated, "sha256")[:MAC_SIZE] if key else ZERO_MAC
    body = authenticated + mac
    body += crc32c(body).to_bytes(4, "little")
    return cobs_encode(body) + b"\x00"


def encode_batch(n, payload, key):
    """Encodes n frames (seq 0, 1, ...); returns (frames, wire bytes, checksum)."""
    pack = HEADER.pack
    plen = len(payload)
    digest = hmac.digest
    wire_bytes = 0
    check = 0
    for i in range(n):
        authenticated = pack(VERSION, KIND_RESPONSE, i & 0xFFFF, OPCODE, STATUS_OK, plen) + payload
        mac = digest(key, authenticated, "sha256")[:MAC_SIZE] if key else ZERO_MAC
        body = authenticated + mac
        body += crc32c(body).to_bytes(4, "little")
        wire = cobs_encode(body) + b"\x00"
        wire_bytes += len(wire)
        check += wire[-2]
    return n, wire_bytes, check


def build_stream(payload, key):
    frames = []
    size = 0
    seq = 0
    while size < STREAM_TARGET:
        wire = encode_wire(seq & 0xFFFF, payload, key)
        frames.append(wire)
        size += len(wire)
        seq += 1
    return b"".join(frames), seq


class Decoder:
    """Split on 0x00, COBS-decode, check, parse, verify: a host's receive path."""

    def __init__(self, key):
        self.key = key
        self.pending = b""
        self.frames = 0
        self.bad = 0
        self.mac_failures = 0
        self.check = 0

    def feed(self, data):
        chunks = data.split(b"\x00")
        chunks[0] = self.pending + chunks[0]
        self.pending = chunks.pop()  # after the last delimiter: incomplete
        key = self.key
        unpack_from = HEADER.unpack_from
        digest = hmac.digest
        compare = hmac.compare_digest
        for chunk in chunks:
            if not chunk:
                continue
            if len(chunk) >= MAX_CHUNK:
                self.bad += 1
                continue
            try:
                body = cobs_decode(chunk)
            except cobs_codec.DecodeError:
                self.bad += 1
                continue
            n = len(body)
            if n < OVERHEAD or crc32c(body[:-4]) != int.from_bytes(body[-4:], "little"):
                self.bad += 1
                continue
            version, kind, seq, opcode, status, length = unpack_from(body)
            if version != VERSION or length > MAX_PAYLOAD or length != n - OVERHEAD or kind not in (2, 3):
                self.bad += 1
                continue
            end = HEADER_SIZE + length
            payload = body[HEADER_SIZE:end]
            mac = body[end:end + MAC_SIZE]
            if key is not None and not compare(digest(key, body[:end], "sha256")[:MAC_SIZE], mac):
                self.mac_failures += 1
                continue
            self.frames += 1
            self.check += seq + len(payload)


def decode_batch(n, stream, frames_per_stream, key):
    """Decodes the stream n times; returns (frames, wire bytes, checksum)."""
    frames = 0
    check = 0
    for _ in range(n):
        d = Decoder(key)
        for start in range(0, len(stream), SLICE):
            d.feed(stream[start:start + SLICE])
        if d.frames != frames_per_stream or d.bad or d.mac_failures or d.pending:
            raise SystemExit(f"codec_yardstick: decode lost frames ({d.frames} of {frames_per_stream})")
        frames += d.frames
        check += d.check
    return frames, n * len(stream), check


def crc_batch(n, buffer):
    check = 0
    for _ in range(n):
        check ^= crc32c(buffer)
    return n, n * len(buffer), check


def machine_busy_seconds():
    """user+nice+system+irq+softirq+steal of all cores from /proc/stat, or None."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        return None
    v = [int(x) for x in fields[1:9]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds():
    t = os.times()
    return t.user + t.system


QUIET_LIMIT = 0.2  # a round that shared the CPU with more than this (cores) is not quiet


def measure(run, seconds, rounds):
    """Warm up, then time rounds of about seconds/rounds each (as pumpbench does).

    run(n) does n units and returns (frames, wire bytes, checksum). Rounds go on
    until `rounds` of them were quiet (other processes took at most QUIET_LIMIT
    cores meanwhile) or 4 x rounds were timed. The figures are the median round
    by frames/s among the quiet ones, or among all when none was quiet.
    """
    n = 1
    while True:  # calibration doubles as warm-up
        t0 = time.perf_counter_ns()
        run(n)
        if (time.perf_counter_ns() - t0) / 1e9 >= 0.02:
            break
        n *= 2
    # Warm-up; its rate sizes the rounds.
    warm_start = time.perf_counter()
    warm_until = warm_start + min(0.2, seconds / 5)
    warm_units = 0
    while True:
        run(n)
        warm_units += n
        if time.perf_counter() >= warm_until:
            break
    per_unit = (time.perf_counter() - warm_start) / warm_units
    units = max(1, round(seconds / rounds / per_unit))

    timed = []  # (frames/s, bytes/s, frames, wire bytes, seconds, other cores or None)
    check = 0
    quiet_count = 0
    while quiet_count < rounds and len(timed) < 4 * rounds:
        busy0, own0, wall0 = machine_busy_seconds(), own_cpu_seconds(), time.perf_counter()
        t0 = time.perf_counter_ns()
        frames, wire_bytes, c = run(units)
        elapsed = (time.perf_counter_ns() - t0) / 1e9
        busy1, own1, wall1 = machine_busy_seconds(), own_cpu_seconds(), time.perf_counter()
        # Cores' worth of CPU that other processes (or the hypervisor) took meanwhile.
        other = None if busy0 is None or busy1 is None else max(0.0, ((busy1 - busy0) - (own1 - own0)) / (wall1 - wall0))
        check += c
        timed.append((frames / elapsed, wire_bytes / elapsed, frames, wire_bytes, elapsed, other))
        if (other or 0.0) <= QUIET_LIMIT:
            quiet_count += 1

    quiet = [r for r in timed if (r[5] or 0.0) <= QUIET_LIMIT]
    used = sorted(quiet or timed, key=lambda r: r[0])
    median = used[len(used) // 2]
    by_bytes = sorted(r[1] for r in used)
    others = [r[5] for r in used]
    return {
        "frames_per_s": median[0],
        "mb_per_s": median[1] / 1e6,
        "frames": sum(r[2] for r in used),
        "wire_bytes": sum(r[3] for r in used),
        "seconds": sum(r[4] for r in used),
        "rounds": len(used),
        "rounds_timed": len(timed),
        "spread_mb_per_s": [by_bytes[0] / 1e6, by_bytes[-1] / 1e6],
        "check": check,
        "other_cores_busy": None if None in others else sum(others) / len(others),
    }


def run_all(seconds, rounds, only=None):
    cases = []
    for op in ("encode", "decode"):
        for size in (16, 1024):
            for with_mac in (False, True):
                name = f"{op} {size} B {'mac' if with_mac else 'no mac'}"
                if only and only not in name:
                    continue
                payload = payload_of(size)
                key = SESSION_KEY if with_mac else None
                reference = encode_wire(0x1234, payload, key)
                if op == "encode":
                    result = measure(lambda n: encode_batch(n, payload, key), seconds, rounds)
                else:
                    stream, count = build_stream(payload, key)
                    result = measure(lambda n: decode_batch(n, stream, count, key), seconds, rounds)
                    result["stream_bytes"] = len(stream)
                    result["frames_per_stream"] = count
                result.update({
                    "name": name, "op": op, "payload_bytes": size, "mac": with_mac,
                    "wire_bytes_per_frame": len(reference),
                    # CRC-32C of the wire bytes of frame seq 0x1234: equal on both sides
                    # means both pipelines produce the same bytes.
                    "reference_wire_crc32c": crc32c(reference),
                })
                cases.append(result)
    if only and only not in CRC_NAME:
        return cases, None
    buffer = payload_of(CRC_BUFFER)
    crc = measure(lambda n: crc_batch(n, buffer), seconds, rounds)
    crc.update({"name": CRC_NAME, "buffer_bytes": CRC_BUFFER,
                "hardware": bool(getattr(crc32c_module, "hardware_based", False))})
    return cases, crc


def version_of(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--seconds", type=float, default=1.5, help="measured time per case (default 1.5)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per case (default 5)")
    parser.add_argument("--only", help="run only the cases whose name contains this text")
    args = parser.parse_args()

    cases, crc = run_all(args.seconds, args.rounds, args.only)
    report = {
        "tool": "codec_yardstick.py",
        "mb": "10^6 wire bytes",
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "modules": {
            "cobs": version_of("cobs"),
            "cobs_c_extension": bool(getattr(cobs_codec, "_using_extension", False)),
            "crc32c": version_of("crc32c"),
            "crc32c_hardware": bool(getattr(crc32c_module, "hardware_based", False)),
            "hmac": "hmac.digest (sha256, " + ssl.OPENSSL_VERSION + ")",
        },
        "seconds_per_case": args.seconds,
        "rounds": args.rounds,
        "cases": cases,
        "crc": crc,
    }
    if args.json:
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
        return
    print(f"Python {report['python']} yardstick (MB = 10^6 wire bytes; median quiet round)")
    print(f"{'case':<24}{'frames/s':>14}{'MB/s':>10}{'others':>8}")
    for c in cases:
        other = "?" if c["other_cores_busy"] is None else f"{c['other_cores_busy']:.1f}"
        print(f"{c['name']:<24}{c['frames_per_s']:>14,.0f}{c['mb_per_s']:>10.1f}{other:>8}")
    if crc is None:
        return
    hw = "hardware" if crc["hardware"] else "software"
    print(f"{'crc32c 1 MiB (' + hw + ')':<24}{'':>14}{crc['mb_per_s']:>10.1f}")


if __name__ == "__main__":
    main()

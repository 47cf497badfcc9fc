#!/usr/bin/env python3
"""Seeds the fuzz corpora from the ICD's vectors (spec/vectors.json).

Deframer inputs are one byte (how the target cuts the stream) then wire
bytes; payload inputs are an opcode selector, a status selector, then a
payload, as FuzzPayloads reads them. Run from the repository root; the files
are named by content so reruns add nothing twice.
"""
import hashlib
import json
import os

OPCODES = [0x01, 0x02, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B]  # Opcode.allCases order
STATUSES = list(range(18))  # StatusCode.allCases order is by value

def write(folder, data):
    os.makedirs(folder, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)

v = json.load(open("spec/vectors.json"))
wires = [bytes.fromhex(f["wire_hex"]) for f in v["frames"]]
wires += [bytes.fromhex(n["wire_hex"]) for n in v["negative"]]
wires.append(bytes.fromhex(v["stream"]["stream_hex"]))
for i, w in enumerate(wires):
    write("Fuzz/Corpus/deframer", bytes([i % 17]) + w)
write("Fuzz/Corpus/deframer", bytes([3]) + b"".join(wires[:20]))

for f in v["frames"]:
    op = f["fields"]["opcode"]
    if op not in OPCODES:
        continue
    status = f["fields"]["status"] if f["fields"]["kind"] == 2 else 0
    payload = bytes.fromhex(f["payload_hex"])
    write("Fuzz/Corpus/payloads", bytes([OPCODES.index(op), STATUSES.index(status)]) + payload)
write("Fuzz/Corpus/payloads", bytes([OPCODES.index(0x12), 0]) + bytes.fromhex(v["program"]["bytes_hex"]))

# pumpd's answers as pumpctl reads them: one byte (how the target cuts the
# reads), then the bytes of the answer.
answers = [
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"ok\":true}\n",
    b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 49\r\n\r\n{\"error\":{\"code\":\"not_found\",\"message\":\"no\"}}\n\n",
    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"1a\r\n{\"index\":1,\"name\":\"x\"}\n\r\n"
    b"5;ext=1\r\n{}\n{}\r\n0\r\nTrailer: t\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    b"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n\r\nbody until the end",
    b"HTTP/1.1 202 Accepted\r\nLocation: /v1/commands/c7\r\nIdempotent-Replayed: true\r\nContent-Length: 3\r\n\r\n{}\n",
]
for i, a in enumerate(answers):
    write("Fuzz/Corpus/http", bytes([i * 5 % 31]) + a)

# Program files: one byte (even: JSON, odd: YAML), then the file.
for name in sorted(os.listdir("spec/examples")):
    data = open(os.path.join("spec/examples", name), "rb").read()
    write("Fuzz/Corpus/program", bytes([1 if name.endswith((".yaml", ".yml")) else 0]) + data)
write("Fuzz/Corpus/program", b"\x01mode: weekly\nutc_offset_min: -300\nsteps:\n  - start_min: 0\n    rate: {value: \"20\", unit: mcg/day}\n  - start_min: 7200\n    rate: {value: \"0.03\", unit: mg/day}\n")
write("Fuzz/Corpus/program", b"\x00{\"program\":{\"mode\":\"continuous\",\"utc_offset_min\":0,\"patient_bolus\":null,\"steps\":[{\"start_min\":0,\"rate\":{\"value\":\"1.5\",\"unit\":\"mg/day\",\"base_value\":1500000,\"base_unit\":\"ng/day\"}}],\"program_crc\":1}}")

# Config files.
write("Fuzz/Corpus/config", open("deploy/pumpd.json", "rb").read())
write("Fuzz/Corpus/config", b'{"clinician_uids":[0,1000],"clinician_groups":["wheel",27],"simulator_arguments":["--speed","60"],"capture":"/tmp/x.pcapng","drug_library":"/etc/pumpd/lib.json"}')
write("Fuzz/Corpus/config", b"{}")

# Drug libraries: the built-in one, as written and without its spaces.
lib = open("Sources/DoseSafety/drug-library.json", "rb").read()
write("Fuzz/Corpus/druglib", lib)
write("Fuzz/Corpus/druglib", json.dumps(json.loads(lib), separators=(",", ":")).encode())

# Key files.
key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
for text in [key + "\n", "  " + key.upper() + "\r\n", key, "\t" + key + " \n\n"]:
    write("Fuzz/Corpus/keyfile", text.encode())

# Raw request bytes ahead of pumpd's HTTP decoder: one byte (how the target
# cuts them), one byte (odd: pumpd's 1 MiB limit; even: that many bytes), then
# the connection's bytes.
requests = [
    b"GET /v1/status HTTP/1.1\r\nHost: pumpd\r\n\r\n",
    b"POST /v1/bolus HTTP/1.1\r\nHost: pumpd\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    b"POST /v1/bolus HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\nGET /v1/health HTTP/1.1\r\n\r\n",
    b"POST /v1/bolus HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nab",
    b"PUT /v1/program HTTP/1.1\r\ntransfer-encoding: gzip, chunked\r\n\r\n10;x=y\r\n0123456789abcdef\r\n0\r\nT: 1\r\n\r\n",
]
for i, r in enumerate(requests):
    write("Fuzz/Corpus/chunks", bytes([i * 7 % 31, 1 if i % 2 else 64]) + r)

# The review: any bytes make a state and a plan; a few to start from.
for seed in [b"", b"\x00" * 64, bytes(range(256)), b"\xff" * 128, b"\x01\x02\x03\x04" * 40]:
    write("Fuzz/Corpus/review", seed if seed else b"\x00")

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

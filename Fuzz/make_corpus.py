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

--[[
ppl1.lua: Wireshark/tshark dissector for PPL/1 captures (the ICD is ../shared/icd/PPL1.md beside this repository; the format is spec/captures.md).

    tshark -X lua_script:spec/ppl1.lua -r captures/X.pcapng -V
    wireshark -X lua_script:spec/ppl1.lua captures/X.pcapng

Written for Wireshark 4.0 (Lua 5.2). It takes over link type 147
(LINKTYPE_USER0) from Wireshark's user_dlt dissector, so any other capture of
that link type is read as PPL/1 while the script is loaded.

Capture format: each packet is one wire chunk, COBS(body) and its 0x00; or
noise ending in 0x00; or a lone 0x00 (a flush, "empty"); or, at the very end of
a capture, bytes with no 0x00 ("incomplete"). The epb_flags direction bits say
who sent it: outbound = host->device ("H>D"), inbound = device->host ("D>H").
A packet that holds several 0x00 gets one PPL/1 tree per non-empty chunk, as
a receiver would see them; one of nothing but 0x00 is a flush, one of no bytes
is incomplete.

Fields mirror the JSON lines of `pumpctl frame decode` and `pumpctl capture
decode --json` (Sources/Dissector/FrameReport.swift, PayloadJSON.swift), so
that Tests/captures/check_dissector.py can compare the two key by key:

    ppl1.dir           "H>D" / "D>H" (from the capture, not from the bytes)
    ppl1.error         null in JSON = absent here; else cobs, short, crc,
                       oversize, version, length, kind (also a known kind going
                       the wrong way), empty, incomplete
    ppl1.kind          request / response / event (absent when JSON's is null)
    ppl1.seq, ppl1.len as in JSON
    ppl1.opcode        string, exactly JSON's value: the ICD name ("GET_STATUS";
                       on events the event name, "BOLUS_STARTED"), or the
                       number when the ICD names none or the body is malformed
    ppl1.status        string, exactly JSON's value: the status name on
                       responses, the number on requests, events and
                       malformed bodies
    ppl1.payload.<path>  every payload field, <path> being its JSON path with
                       array indices dropped: ppl1.payload.host_nonce,
                       ppl1.payload.steps.start_min, ppl1.payload.events.index.
                       A payload whose length does not fit its opcode is
                       ppl1.payload.raw (bytes), as JSON's {"raw": HEX}.

Fields with no JSON counterpart, for reading and filtering only:
ppl1.opcode.code and ppl1.status.code (the bytes as numbers), ppl1.version,
ppl1.raw_kind (the kind byte of a malformed body), ppl1.payload (all payload
bytes), ppl1.payload.step_count (JSON has only the steps array), ppl1.mac,
ppl1.crc, ppl1.crc.computed, ppl1.crc.status (Good/Bad), ppl1.rest (a
malformed body past its header). Expert infos: ppl1.discarded,
ppl1.malformed, ppl1.crc.bad, ppl1.incomplete, ppl1.flush,
ppl1.bad_payload_length.

Macs are shown, never checked: checking needs the pairing key, and a
dissector that is handed around with captures must not ask for one. `pumpctl
frame decode --key-file` does that job.
]]

local bit = bit32

local ppl1 = Proto("ppl1", "PPL/1 Programmer-Pump Link")

local VERSION = 1
local OVERHEAD = 28       -- header 8 + mac 16 + crc 4
local MAX_PAYLOAD = 1024
local MAX_CHUNK = 1100    -- a receiver gives up after this many bytes without a 0x00 (ICD §2)

------------------------------------------------------------------------------
-- COBS (ICD §2): the standard form; a full 254-byte block (code 0xFF) adds no
-- zero. Works on Lua strings; returns nil for an invalid encoding.
------------------------------------------------------------------------------

local function cobs_decode(s)
    local out, n, i = {}, #s, 1
    while i <= n do
        local code = s:byte(i)
        if code == 0 then return nil end
        local stop = i + code            -- index of the next code byte
        if stop > n + 1 then return nil end
        local block = s:sub(i + 1, stop - 1)
        if block:find("\0", 1, true) then return nil end
        out[#out + 1] = block
        i = stop
        if code ~= 0xFF and i <= n then out[#out + 1] = "\0" end
    end
    return table.concat(out)
end

------------------------------------------------------------------------------
-- CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, table-driven.
------------------------------------------------------------------------------

local CRC_TABLE = {}
for i = 0, 255 do
    local c = i
    for _ = 1, 8 do
        if bit.band(c, 1) ~= 0 then
            c = bit.bxor(bit.rshift(c, 1), 0x82F63B78)
        else
            c = bit.rshift(c, 1)
        end
    end
    CRC_TABLE[i] = c
end

-- CRC-32C of s:sub(first, last).
local function crc32c(s, first, last)
    first, last = first or 1, last or #s
    local crc = 0xFFFFFFFF
    for i = first, last do
        crc = bit.bxor(CRC_TABLE[bit.band(bit.bxor(crc, s:byte(i)), 0xFF)], bit.rshift(crc, 8))
    end
    return bit.bxor(crc, 0xFFFFFFFF)
end

assert(crc32c("123456789") == 0xE3069283, "CRC-32C self-test failed")

------------------------------------------------------------------------------
-- Names (ICD §3, §6-§10; spellings as in Sources/Messages/Codes.swift)
------------------------------------------------------------------------------

local KIND_NAMES = { [1] = "request", [2] = "response", [3] = "event" }
local KIND = { request = 1, response = 2, event = 3 }

local OPCODE_NAMES = {
    [0x01] = "HELLO", [0x02] = "PING",
    [0x10] = "GET_STATUS", [0x11] = "GET_PROGRAM", [0x12] = "STAGE_PROGRAM",
    [0x13] = "COMMIT_PROGRAM", [0x14] = "START_BOLUS", [0x15] = "CANCEL_BOLUS",
    [0x16] = "SUSPEND", [0x17] = "RESUME", [0x18] = "REFILL", [0x19] = "SET_CLOCK",
    [0x1A] = "READ_EVENTS", [0x1B] = "ACK_ALARM",
}

local STATUS_NAMES = {
    [0] = "OK", [1] = "BAD_FRAME", [2] = "UNKNOWN_OPCODE", [3] = "BAD_PARAM",
    [4] = "AUTH_FAILED", [5] = "NO_SESSION", [6] = "BAD_SEQ", [7] = "BUSY",
    [8] = "TELEMETRY_LOST", [9] = "LIMIT", [10] = "NO_STAGED_PROGRAM",
    [11] = "CRC_MISMATCH", [12] = "NO_DRUG", [13] = "PUMP_FAULT",
    [14] = "BOLUS_ACTIVE", [15] = "NO_BOLUS", [16] = "INTERNAL", [17] = "NO_PROGRAM",
}
local STATUS_OK, STATUS_BAD_SEQ = 0, 6

-- By full event code (the Event record's `code`).
local EVENT_NAMES = {
    [0x0001] = "POWER_ON", [0x0010] = "PROGRAM_COMMITTED", [0x0011] = "BOLUS_STARTED",
    [0x0012] = "BOLUS_COMPLETED", [0x0013] = "BOLUS_CANCELLED", [0x0014] = "SUSPENDED",
    [0x0015] = "RESUMED", [0x0016] = "REFILLED", [0x0017] = "CLOCK_SET",
    [0x0018] = "PATIENT_BOLUS", [0x0020] = "ALARM_RAISED", [0x0021] = "ALARM_CLEARED",
    [0x0022] = "ALARM_ACKED", [0x0030] = "TELEMETRY_LOST", [0x0031] = "TELEMETRY_RESTORED",
}
-- By an event frame's opcode byte (the code's low byte; the ICD keeps them distinct).
local EVENT_BY_LOW_BYTE = {}
for code, name in pairs(EVENT_NAMES) do EVENT_BY_LOW_BYTE[bit.band(code, 0xFF)] = name end

local DRUG_NAMES = {
    [0] = "none", [1] = "morphine", [2] = "hydromorphone", [3] = "ziconotide", [4] = "baclofen",
    [5] = "bupivacaine", [6] = "clonidine", [7] = "fentanyl", [8] = "sufentanil",
}

local PUMP_STATE_NAMES = {
    [0] = "running", [1] = "suspended", [2] = "bolus_running",
    [3] = "motor_stalled", [4] = "end_of_service", [5] = "reservoir_empty",
}

-- Alarm bit numbers 0...6, in bit order (JSON's alarm_names keeps this order).
local ALARM_NAMES = {
    [0] = "low_reservoir", [1] = "reservoir_empty", [2] = "elective_replacement",
    [3] = "end_of_service", [4] = "motor_stall", [5] = "clock_not_set", [6] = "memory_fault",
}

local MODE_NAMES = { [1] = "continuous", [2] = "daily", [3] = "weekly" }

local TELEMETRY_NAMES = { [0] = "no implant", [1] = "implant in range" }

local CRC_STATUS_NAMES = { [0] = "Bad", [1] = "Good" }

local ERROR_TEXT = {
    cobs = "not valid COBS (discarded)",
    short = "decoded body shorter than 28 bytes (discarded)",
    crc = "CRC-32C mismatch (discarded)",
    oversize = "1,100 bytes without a delimiter (discarded through the next 0x00)",
    version = "malformed: version is not 1",
    length = "malformed: len over 1024 or not body length - 28",
    kind = "malformed: unknown kind",
    direction = "malformed: kind travelling the wrong way",
    incomplete = "no 0x00 delimiter: the capture ended inside a frame",
    empty = "lone 0x00 (flush)",
}

------------------------------------------------------------------------------
-- Fields
------------------------------------------------------------------------------

local F = {
    dir = ProtoField.string("ppl1.dir", "Direction"),
    error = ProtoField.string("ppl1.error", "Error"),
    version = ProtoField.uint8("ppl1.version", "Version", base.DEC),
    kind = ProtoField.uint8("ppl1.kind", "Kind", base.DEC, KIND_NAMES),
    raw_kind = ProtoField.uint8("ppl1.raw_kind", "Kind byte (malformed body)", base.DEC, KIND_NAMES),
    seq = ProtoField.uint16("ppl1.seq", "Seq", base.DEC),
    opcode = ProtoField.string("ppl1.opcode", "Opcode"),
    opcode_code = ProtoField.uint8("ppl1.opcode.code", "Opcode byte", base.HEX),
    status = ProtoField.string("ppl1.status", "Status"),
    status_code = ProtoField.uint8("ppl1.status.code", "Status byte", base.DEC),
    len = ProtoField.uint16("ppl1.len", "Payload length", base.DEC),
    payload = ProtoField.bytes("ppl1.payload", "Payload"),
    rest = ProtoField.bytes("ppl1.rest", "Rest of body (not dissected)"),
    mac = ProtoField.bytes("ppl1.mac", "MAC (not checked)"),
    crc = ProtoField.uint32("ppl1.crc", "CRC-32C", base.HEX),
    crc_computed = ProtoField.uint32("ppl1.crc.computed", "Computed CRC-32C", base.HEX),
    crc_status = ProtoField.uint8("ppl1.crc.status", "CRC status", base.DEC, CRC_STATUS_NAMES),
}

-- Payload fields by JSON path: { path, type, label, [value names], [base] }.
local PAYLOAD_FIELD_SPECS = {
    -- HELLO
    { "host_nonce", ftypes.BYTES, "Host nonce" },
    { "max_payload", ftypes.UINT16, "Max payload" },
    { "device_nonce", ftypes.BYTES, "Device nonce" },
    { "protocol", ftypes.UINT8, "Protocol" },
    { "fw_major", ftypes.UINT8, "Firmware major" },
    { "fw_minor", ftypes.UINT8, "Firmware minor" },
    { "fw_patch", ftypes.UINT8, "Firmware patch" },
    { "programmer_serial", ftypes.STRING, "Programmer serial" },
    { "implant_model", ftypes.UINT16, "Implant model (mL; 0 = no implant)" },
    { "implant_serial", ftypes.STRING, "Implant serial" },
    { "capabilities", ftypes.UINT32, "Capabilities", nil, base.HEX },
    -- PING
    { "uptime_s", ftypes.UINT32, "Uptime (s)" },
    { "telemetry", ftypes.UINT8, "Telemetry", TELEMETRY_NAMES },
    { "rssi_dbm", ftypes.INT8, "RSSI (dBm)" },
    -- Status (§9.1)
    { "pump_state", ftypes.UINT8, "Pump state", PUMP_STATE_NAMES },
    { "pump_state_name", ftypes.STRING, "Pump state name" },
    { "drug", ftypes.UINT8, "Drug", DRUG_NAMES },
    { "alarms", ftypes.UINT16, "Alarms", nil, base.HEX },
    { "alarm_names", ftypes.STRING, "Active alarm" },
    { "concentration_ng_per_ml", ftypes.UINT32, "Concentration (ng/mL)" },
    { "reservoir_nl", ftypes.UINT32, "Reservoir (nL)" },
    { "capacity_nl", ftypes.UINT32, "Capacity (nL)" },
    { "low_alarm_nl", ftypes.UINT32, "Low-reservoir alarm level (nL)" },
    { "current_rate_ng_per_day", ftypes.UINT32, "Current rate (ng/day)" },
    { "program_crc", ftypes.UINT32, "Program CRC", nil, base.HEX },
    { "bolus_remaining_ng", ftypes.UINT32, "Bolus remaining (ng)" },
    { "battery_mv", ftypes.UINT16, "Battery (mV)" },
    { "battery_months_left", ftypes.UINT16, "Battery months left" },
    { "device_time", ftypes.INT64, "Device time (UTC s)" },
    { "last_refill_time", ftypes.INT64, "Last refill time (UTC s)" },
    { "event_head", ftypes.UINT32, "Event head" },
    -- Program (§9.2)
    { "mode", ftypes.STRING, "Mode" },
    { "step_count", ftypes.UINT8, "Step count" },
    { "utc_offset_min", ftypes.INT16, "UTC offset (min)" },
    { "patient_bolus_ng", ftypes.UINT32, "Patient bolus (ng; 0 = disabled)" },
    { "patient_lockout_min", ftypes.UINT16, "Patient lockout (min)" },
    { "patient_max_per_day", ftypes.UINT8, "Patient boluses per day" },
    { "reserved", ftypes.BYTES, "Reserved (not zero)" },
    { "steps.start_min", ftypes.UINT16, "Start (min)" },
    { "steps.zero", ftypes.UINT16, "Zero field (not zero)" },
    { "steps.rate_ng_per_day", ftypes.UINT32, "Rate (ng/day)" },
    -- Requests
    { "dose_ng", ftypes.UINT32, "Dose (ng)" },
    { "duration_min", ftypes.UINT16, "Duration (min)" },
    { "zero8", ftypes.UINT8, "Zero (u8)" },
    { "zero16", ftypes.UINT16, "Zero (u16)" },
    { "unix_time_s", ftypes.INT64, "Unix time (UTC s)" },
    { "from_index", ftypes.UINT32, "From index" },
    { "max_count", ftypes.UINT8, "Max count" },
    { "alarm_bit", ftypes.UINT16, "Alarm bit", ALARM_NAMES },
    -- Responses
    { "bolus_id", ftypes.UINT32, "Bolus id" },
    { "delivered_ng", ftypes.UINT32, "Delivered (ng)" },
    { "expected_seq", ftypes.UINT16, "Expected seq" },
    { "count", ftypes.UINT8, "Event count" },
    -- Event record (§9.3): an event frame's payload, and READ_EVENTS' list
    { "index", ftypes.UINT32, "Index" },
    { "time", ftypes.INT64, "Time (UTC s)" },
    { "code", ftypes.UINT16, "Code", EVENT_NAMES, base.HEX },
    { "origin_seq", ftypes.UINT16, "Origin seq" },
    { "origin_session", ftypes.UINT32, "Origin session", nil, base.HEX },
    { "value1", ftypes.UINT32, "Value 1" },
    { "value2", ftypes.UINT32, "Value 2" },
    { "name", ftypes.STRING, "Event name" },
    { "events.index", ftypes.UINT32, "Index" },
    { "events.time", ftypes.INT64, "Time (UTC s)" },
    { "events.code", ftypes.UINT16, "Code", EVENT_NAMES, base.HEX },
    { "events.origin_seq", ftypes.UINT16, "Origin seq" },
    { "events.origin_session", ftypes.UINT32, "Origin session", nil, base.HEX },
    { "events.value1", ftypes.UINT32, "Value 1" },
    { "events.value2", ftypes.UINT32, "Value 2" },
    { "events.name", ftypes.STRING, "Event name" },
    -- A payload whose length does not fit
    { "raw", ftypes.BYTES, "Raw payload (length does not fit)" },
}

local P = {}   -- payload fields by JSON path
do
    local list = {}
    for _, f in pairs(F) do list[#list + 1] = f end
    for _, s in ipairs(PAYLOAD_FIELD_SPECS) do
        local path, ftype, label, names, display = s[1], s[2], s[3], s[4], s[5]
        if display == nil and ftype ~= ftypes.BYTES and ftype ~= ftypes.STRING then display = base.DEC end
        P[path] = ProtoField.new(label, "ppl1.payload." .. path, ftype, names, display)
        list[#list + 1] = P[path]
    end
    ppl1.fields = list
end

-- Bad frames are PROTOCOL errors, not the MALFORMED group: that group also sets
-- _ws.malformed, which is how a dissector exception (a bug here) shows, and the
-- checker looks for it. Filter bad frames with ppl1.error.
local E = {
    discarded = ProtoExpert.new("ppl1.discarded", "Chunk discarded", expert.group.PROTOCOL, expert.severity.ERROR),
    bad_crc = ProtoExpert.new("ppl1.crc.bad", "Bad CRC-32C", expert.group.CHECKSUM, expert.severity.ERROR),
    malformed = ProtoExpert.new("ppl1.malformed", "Malformed body", expert.group.PROTOCOL, expert.severity.ERROR),
    incomplete = ProtoExpert.new("ppl1.incomplete", "Incomplete frame", expert.group.UNDECODED, expert.severity.WARN),
    flush = ProtoExpert.new("ppl1.flush", "Flush", expert.group.COMMENTS_GROUP, expert.severity.CHAT),
    raw_payload = ProtoExpert.new("ppl1.bad_payload_length", "Payload does not fit its opcode",
        expert.group.PROTOCOL, expert.severity.WARN),
}
ppl1.experts = { E.discarded, E.bad_crc, E.malformed, E.incomplete, E.flush, E.raw_payload }

------------------------------------------------------------------------------
-- Record and payload dissectors. Each takes the payload's TvbRange `r` and a
-- tree, adds the fields and returns false when the payload is undecodable
-- (then the caller shows it raw, as PayloadJSON.undecodable does).
------------------------------------------------------------------------------

-- layout: { {path, size}, ... }, fields back to back from `off`.
local function add_layout(tree, r, off, layout, prefix)
    prefix = prefix or ""
    for _, f in ipairs(layout) do
        tree:add_le(P[prefix .. f[1]], r(off, f[2]))
        off = off + f[2]
    end
    return off
end

local function exact(size, layout)
    return function(r, tree)
        if r:len() ~= size then return false end
        if size > 0 then add_layout(tree, r, 0, layout) end
        return true
    end
end

local EMPTY = exact(0)

-- §9.1, 56 bytes
local STATUS_LAYOUT = {
    { "pump_state", 1 }, { "drug", 1 }, { "alarms", 2 }, { "concentration_ng_per_ml", 4 },
    { "reservoir_nl", 4 }, { "capacity_nl", 4 }, { "low_alarm_nl", 4 },
    { "current_rate_ng_per_day", 4 }, { "program_crc", 4 }, { "bolus_remaining_ng", 4 },
    { "battery_mv", 2 }, { "battery_months_left", 2 }, { "device_time", 8 },
    { "last_refill_time", 8 }, { "event_head", 4 },
}

local function dissect_status(r, tree)
    if r:len() ~= 56 then return false end
    add_layout(tree, r, 0, STATUS_LAYOUT)
    local state = PUMP_STATE_NAMES[r(0, 1):uint()]
    if state then tree:add(P.pump_state_name, r(0, 1), state):set_generated() end
    local alarms = r(2, 2):le_uint()
    for b = 0, 6 do
        if bit.band(alarms, bit.lshift(1, b)) ~= 0 then
            tree:add(P.alarm_names, r(2, 2), ALARM_NAMES[b]):set_generated()
        end
    end
    return true
end

-- §9.3, 28 bytes; prefix "" for an event frame's payload, "events." in READ_EVENTS.
local EVENT_LAYOUT = {
    { "index", 4 }, { "time", 8 }, { "code", 2 }, { "origin_seq", 2 },
    { "origin_session", 4 }, { "value1", 4 }, { "value2", 4 },
}

local function add_event(r, tree, prefix)
    add_layout(tree, r, 0, EVENT_LAYOUT, prefix)
    local name = EVENT_NAMES[r(12, 2):le_uint()]
    if name then tree:add(P[prefix .. "name"], r(12, 2), name):set_generated() end
    return name
end

local function dissect_event(r, tree)
    if r:len() ~= 28 then return false end
    add_event(r, tree, "")
    return true
end

-- READ_EVENTS answer: u8 count, then count Event records.
local function dissect_events(r, tree)
    local n = r:len()
    if n < 1 then return false end
    local count = r(0, 1):uint()
    if n ~= 1 + 28 * count then return false end
    tree:add(P.count, r(0, 1))
    for i = 1, count do
        local er = r(1 + 28 * (i - 1), 28)
        local sub = tree:add(er, "Event " .. i)
        local name = add_event(er, sub, "events.")
        sub:append_text(string.format(": index %d, %s", er(0, 4):le_uint(), name or "unknown code"))
    end
    return true
end

-- §9.2: 16 + 8 x step_count bytes.
local PROGRAM_HEAD_LAYOUT = {
    { "step_count", 1 }, { "utc_offset_min", 2 }, { "patient_bolus_ng", 4 },
    { "patient_lockout_min", 2 }, { "patient_max_per_day", 1 },
}

local function dissect_program(r, tree)
    local n = r:len()
    if n < 16 then return false end
    local count = r(1, 1):uint()
    if n ~= 16 + 8 * count then return false end
    local mode = r(0, 1):uint()
    tree:add(P.mode, r(0, 1), MODE_NAMES[mode] or tostring(mode))
    add_layout(tree, r, 1, PROGRAM_HEAD_LAYOUT)
    -- reserved and a step's zero field appear only when not zero, as in PayloadJSON.
    if r(11, 5):bytes():tohex() ~= "0000000000" then tree:add(P.reserved, r(11, 5)) end
    for i = 1, count do
        local sr = r(16 + 8 * (i - 1), 8)
        local sub = tree:add(sr, string.format("Step %d: from minute %d, %d ng/day",
            i, sr(0, 2):le_uint(), sr(4, 4):le_uint()))
        sub:add_le(P["steps.start_min"], sr(0, 2))
        if sr(2, 2):le_uint() ~= 0 then sub:add_le(P["steps.zero"], sr(2, 2)) end
        sub:add_le(P["steps.rate_ng_per_day"], sr(4, 4))
    end
    return true
end

-- PaddedASCII: printable ASCII, then only 0x00 padding. Returns the text or nil.
local function padded_ascii(r)
    return r:raw():match("^([\32-\126]*)\0*$")
end

-- HELLO answer, 52 bytes; serials that are not padded ASCII make it undecodable.
local function dissect_hello_reply(r, tree)
    if r:len() ~= 52 then return false end
    local programmer, implant = padded_ascii(r(20, 12)), padded_ascii(r(34, 12))
    if not programmer or not implant then return false end
    add_layout(tree, r, 0, {
        { "device_nonce", 16 }, { "protocol", 1 }, { "fw_major", 1 }, { "fw_minor", 1 }, { "fw_patch", 1 } })
    tree:add(P.programmer_serial, r(20, 12), programmer)
    tree:add_le(P.implant_model, r(32, 2))
    tree:add(P.implant_serial, r(34, 12), implant)
    add_layout(tree, r, 46, { { "capabilities", 4 }, { "max_payload", 2 } })
    return true
end

local REQUEST_PAYLOADS = {
    [0x01] = exact(18, { { "host_nonce", 16 }, { "max_payload", 2 } }),
    [0x02] = EMPTY, [0x10] = EMPTY, [0x11] = EMPTY,
    [0x12] = dissect_program,
    [0x13] = exact(4, { { "program_crc", 4 } }),
    [0x14] = exact(6, { { "dose_ng", 4 }, { "duration_min", 2 } }),
    [0x15] = EMPTY, [0x16] = EMPTY, [0x17] = EMPTY,
    [0x18] = exact(16, { { "drug", 1 }, { "zero8", 1 }, { "zero16", 2 },
        { "concentration_ng_per_ml", 4 }, { "reservoir_nl", 4 }, { "low_alarm_nl", 4 } }),
    [0x19] = exact(8, { { "unix_time_s", 8 } }),
    [0x1A] = exact(5, { { "from_index", 4 }, { "max_count", 1 } }),
    [0x1B] = exact(2, { { "alarm_bit", 2 } }),
}

-- Answers with status OK, by opcode.
local RESPONSE_PAYLOADS = {
    [0x01] = dissect_hello_reply,
    [0x02] = exact(6, { { "uptime_s", 4 }, { "telemetry", 1 }, { "rssi_dbm", 1 } }),
    [0x10] = dissect_status,
    [0x11] = dissect_program,
    [0x12] = exact(4, { { "program_crc", 4 } }),
    [0x13] = exact(4, { { "program_crc", 4 } }),
    [0x14] = exact(4, { { "bolus_id", 4 } }),
    [0x15] = exact(4, { { "delivered_ng", 4 } }),
    [0x16] = EMPTY, [0x17] = EMPTY, [0x18] = EMPTY, [0x19] = EMPTY,
    [0x1A] = dissect_events,
    [0x1B] = EMPTY,
}

local BAD_SEQ_PAYLOAD = exact(2, { { "expected_seq", 2 } })

-- A payload the ICD gives no fields for (unknown opcode or status): nothing
-- when empty, else raw.
local function unknown_payload(r, tree)
    return r:len() == 0
end

-- The same choice as FrameReport.requestPayload/responsePayload, so that
-- "raw" and "{}" fall on the same frames.
local function payload_dissector(kind, opcode, status)
    if kind == KIND.request then
        return REQUEST_PAYLOADS[opcode] or unknown_payload
    elseif kind == KIND.event then
        return dissect_event
    end
    if not STATUS_NAMES[status] then return unknown_payload end
    if OPCODE_NAMES[opcode] then
        if status == STATUS_OK then return RESPONSE_PAYLOADS[opcode] end
        if status == STATUS_BAD_SEQ then return BAD_SEQ_PAYLOAD end
        return EMPTY
    end
    -- An unknown opcode's answer: only BAD_SEQ's expected seq is known by status.
    if status == STATUS_BAD_SEQ then
        return function(r, tree)
            return r:len() == 2 and BAD_SEQ_PAYLOAD(r, tree) or unknown_payload(r, tree)
        end
    end
    return unknown_payload
end

------------------------------------------------------------------------------
-- Main: one PPL/1 tree per chunk of a packet.
------------------------------------------------------------------------------

local function direction(pinfo)
    -- frame.c maps the epb_flags direction to p2p_dir: outbound = SENT (0), inbound = RECV (1).
    if pinfo.p2p_dir == P2P_DIR_SENT then return "H>D" end
    if pinfo.p2p_dir == P2P_DIR_RECV then return "D>H" end
    return nil
end

-- Our decoder reads each direction as its receiver would, so a request seen
-- D>H, or a response or event seen H>D, is malformed ("kind") there too.
local function wrong_way(kind, dir)
    if dir == "H>D" then return kind ~= KIND.request end
    if dir == "D>H" then return kind == KIND.request end
    return false
end

local function set_error(tree, name, expert_field, detail)
    tree:add(F.error, name):set_generated()
    tree:add_proto_expert_info(expert_field, ERROR_TEXT[detail or name])
end

-- A malformed body's header is shown (a device echoes seq and opcode in its
-- BAD_FRAME), but only as numbers: it is not known to be a frame of any kind.
local function add_raw_header(tree, b)
    tree:add(F.version, b(0, 1))
    tree:add(F.raw_kind, b(1, 1))
    tree:add_le(F.seq, b(2, 2))
    tree:add(F.opcode, b(4, 1), tostring(b(4, 1):uint())):add(F.opcode_code, b(4, 1))
    tree:add(F.status, b(5, 1), tostring(b(5, 1):uint())):add(F.status_code, b(5, 1))
    tree:add_le(F.len, b(6, 2))
end

-- Dissects a decoded body (at least 28 bytes, CRC good) into `tree`.
-- Returns the Info column summary.
local function dissect_body(b, tree, dir)
    local n = b:len()
    local version, kind = b(0, 1):uint(), b(1, 1):uint()
    local seq, opcode, status, len = b(2, 2):le_uint(), b(4, 1):uint(), b(5, 1):uint(), b(6, 2):le_uint()

    -- Checked in Frame.parse's order: version, length, kind/direction.
    local err, detail
    if version ~= VERSION then
        err = "version"
    elseif len > MAX_PAYLOAD or len ~= n - OVERHEAD then
        err = "length"
    elseif not KIND_NAMES[kind] then
        err = "kind"
    elseif wrong_way(kind, dir) then
        err, detail = "kind", "direction"
    end
    if err then
        set_error(tree, err, E.malformed, detail)
        add_raw_header(tree, b)
        if n > 12 then tree:add(F.rest, b(8, n - 12)) end
        return string.format("malformed (%s) seq=%d opcode=%d status=%d len=%d", detail or err, seq, opcode, status, len)
    end

    local opname = (kind == KIND.event) and EVENT_BY_LOW_BYTE[opcode] or OPCODE_NAMES[opcode]
    local stname = (kind == KIND.response) and STATUS_NAMES[status] or nil
    local opcode_text, status_text = opname or tostring(opcode), stname or tostring(status)

    tree:add(F.version, b(0, 1))
    tree:add(F.kind, b(1, 1))
    tree:add_le(F.seq, b(2, 2))
    tree:add(F.opcode, b(4, 1), opcode_text):add(F.opcode_code, b(4, 1))
    tree:add(F.status, b(5, 1), status_text):add(F.status_code, b(5, 1))
    tree:add_le(F.len, b(6, 2))

    local r = b(8, len)
    local ptree = len > 0 and tree:add(F.payload, r) or tree
    local summary = string.format("%s seq=%d %s", KIND_NAMES[kind], seq, opname or ("opcode " .. opcode))
    if kind == KIND.response then summary = summary .. " " .. status_text end
    if not payload_dissector(kind, opcode, status)(r, ptree) then
        local raw = ptree:add(P.raw, r)
        -- Wireshark labels empty bytes "<MISSING>"; here they are a real, empty payload.
        if len == 0 then raw:set_text("Raw payload (length does not fit): none") end
        ptree:add_proto_expert_info(E.raw_payload,
            string.format("A %d-byte payload does not fit %s %s", len, KIND_NAMES[kind], opcode_text))
        summary = summary .. " [payload does not fit]"
    end
    tree:add(F.mac, b(8 + len, 16))
    return summary
end

-- A PPL/1 tree over `range`, summed up by finish(text).
local function new_tree(root, range, dir)
    local tree = root:add(ppl1, range)
    if dir then tree:add(F.dir, dir):set_generated() end
    local function finish(text)
        tree:append_text(", " .. text)
        return text
    end
    return tree, finish
end

-- One chunk: `clen` (> 0 when delimited) bytes from `off`, followed by a 0x00 when `delimited`.
local function dissect_chunk(tvb, off, clen, delimited, root, dir)
    local tree, finish = new_tree(root, tvb(off, clen + (delimited and 1 or 0)), dir)

    -- Before the delimiter test: a receiver gives up at 1,100 bytes whether a
    -- 0x00 follows or the capture ends.
    if clen >= MAX_CHUNK then
        set_error(tree, "oversize", E.discarded)
        return finish("oversize chunk of " .. clen .. " bytes")
    end
    if not delimited then
        set_error(tree, "incomplete", E.incomplete)
        return finish("incomplete, " .. clen .. " bytes")
    end

    local body = cobs_decode(tvb:raw(off, clen))
    if not body then
        set_error(tree, "cobs", E.discarded)
        return finish("bad chunk: cobs")
    end
    if #body < OVERHEAD then
        set_error(tree, "short", E.discarded)
        -- Still offered as a data source, to look at; an empty Tvb is a dissector bug in 4.0.
        if #body > 0 then ByteArray.new(body, true):tvb("Decoded body") end
        return finish(string.format("bad chunk: short (%d bytes)", #body))
    end

    local b = ByteArray.new(body, true):tvb("Decoded body")
    local n = #body
    local stored, computed = b(n - 4, 4):le_uint(), crc32c(body, 1, n - 4)
    local text
    if stored ~= computed then
        set_error(tree, "crc", E.discarded)
        text = "bad chunk: crc"
    else
        text = dissect_body(b, tree, dir)
    end
    local crc_item = tree:add_le(F.crc, b(n - 4, 4))
    crc_item:add(F.crc_computed, b(n - 4, 4), computed):set_generated()
    crc_item:add(F.crc_status, b(n - 4, 4), stored == computed and 1 or 0):set_generated()
    if stored ~= computed then
        crc_item:append_text(string.format(" [incorrect, should be 0x%08x]", computed))
        crc_item:add_proto_expert_info(E.bad_crc)
    else
        crc_item:append_text(" [correct]")
    end
    return finish(text)
end

function ppl1.dissector(tvb, pinfo, root)
    pinfo.cols.protocol:set("PPL1")
    local dir = direction(pinfo)
    if dir == "H>D" then
        pinfo.cols.src:set("host"); pinfo.cols.dst:set("device")
    elseif dir == "D>H" then
        pinfo.cols.src:set("device"); pinfo.cols.dst:set("host")
    end

    -- Cut the packet at every 0x00: normally exactly one chunk.
    local n = tvb:len()
    local data = n > 0 and tvb:raw() or ""   -- raw() of nothing is a dissector bug in 4.0
    local texts, pos = {}, 1
    while pos <= n do
        local z = data:find("\0", pos, true)
        if not z then
            texts[#texts + 1] = dissect_chunk(tvb, pos - 1, n - pos + 1, false, root, dir)
            break
        end
        -- Empty chunks are skipped, as a receiver does.
        if z > pos then texts[#texts + 1] = dissect_chunk(tvb, pos - 1, z - pos, true, root, dir) end
        pos = z + 1
    end
    if #texts == 0 then
        if n == 0 then
            texts[1] = dissect_chunk(tvb, 0, 0, false, root, dir)
        else
            -- Nothing but 0x00: a flush.
            local tree, finish = new_tree(root, tvb(), dir)
            set_error(tree, "empty", E.flush)
            texts[1] = finish("flush")
        end
    end
    pinfo.cols.info:set((dir or "?") .. " " .. table.concat(texts, " | "))
    return n
end

-- Replaces Wireshark's user_dlt ("DLT_USER") dissector for link type 147.
DissectorTable.get("wtap_encap"):add(wtap_encaps.USER0, ppl1)

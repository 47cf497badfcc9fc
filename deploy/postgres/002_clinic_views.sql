-- pumpd's clinic database, version 2: the clinic's views over the stations'
-- records, read by people and `pumpctl clinic` as pumpd_reader.
--
-- Every view reads the newest state of each record (its highest seq for its
-- station, source and key) from pumpd.record's `row`, the station's SQLite
-- row after its change. Quantities stay whole numbers in the pump's units
-- (ng/mL, ng/day, nL); each also comes in the unit people write, as an exact
-- numeric (mg/mL, mg/day, mL), never as floating point. Times the pump
-- projects are unix seconds; the views give them as timestamptz as well.

-- The newest state of every record of every station.
CREATE VIEW pumpd.latest_record AS
SELECT DISTINCT ON (r.source, r.station, r.key)
       r.station, r.source, r.key, r.seq, r.at_ms, r.row, r.chain_ok
FROM pumpd.record r
ORDER BY r.source, r.station, r.key, r.seq DESC;
COMMENT ON VIEW pumpd.latest_record IS
    'The newest state of each record: its highest seq for (station, source, key). row is NULL where the station''s change removed the row.';

-- Exact conversions (numeric, scale trimmed): 10000000 ng/mL is 10 mg/mL.
CREATE FUNCTION pumpd.milli_from_nano(p_nano bigint) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT trim_scale(p_nano * 0.000001) $$;
COMMENT ON FUNCTION pumpd.milli_from_nano(bigint) IS
    'ng to mg, ng/day to mg/day, nL to mL: the value divided by 1,000,000, exactly.';

CREATE FUNCTION pumpd.time_from_unix_ms(p_ms bigint) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT timestamptz 'epoch' + p_ms * interval '1 millisecond' $$;
COMMENT ON FUNCTION pumpd.time_from_unix_ms(bigint) IS 'Unix milliseconds (the stations'' clocks) as a timestamptz.';

CREATE VIEW pumpd.clinic_stations AS
SELECT s.station,
       s.first_seen,
       s.last_replicated_at,
       s.last_seq,
       (SELECT count(*) FROM pumpd.record r WHERE r.station = s.station) AS records,
       (SELECT count(*) FROM pumpd.chain_break b WHERE b.station = s.station) AS chain_breaks,
       (SELECT min(b.seq) FROM pumpd.chain_break b WHERE b.station = s.station) AS first_break_seq,
       s.pumpd_version
FROM pumpd.station s;
COMMENT ON VIEW pumpd.clinic_stations IS
    'Every station that ever replicated: when it last did, how far its chain goes (last_seq), the records the clinic holds of it, the chain breaks found (at ingest or by verify) and its pumpd version. A station whose last_replicated_at is old has stopped shipping.';

CREATE VIEW pumpd.clinic_pumps AS
WITH pump AS (
    -- A pump's newest snapshot wherever it was taken: a patient may be seen at several stations.
    SELECT DISTINCT ON (l.key) l.station, l.key AS implant_serial, l.row AS p
    FROM pumpd.latest_record l
    WHERE l.source = 'pump' AND l.row IS NOT NULL
    ORDER BY l.key, (l.row ->> 'recordedMs')::bigint DESC NULLS LAST, l.at_ms DESC, l.station
), patient AS (
    SELECT DISTINCT ON (l.row ->> 'implantSerial') l.station, l.row ->> 'implantSerial' AS implant_serial, l.row AS pt
    FROM pumpd.latest_record l
    WHERE l.source = 'patient' AND l.row IS NOT NULL
    ORDER BY l.row ->> 'implantSerial', (l.row ->> 'updatedMs')::bigint DESC NULLS LAST, l.at_ms DESC, l.station
)
SELECT coalesce(pump.implant_serial, patient.implant_serial)         AS implant_serial,
       coalesce(patient.pt ->> 'id', pump.p ->> 'patientId')         AS patient_id,
       patient.pt ->> 'name'                                          AS patient_name,
       patient.pt ->> 'identifier'                                    AS patient_identifier,
       pump.p ->> 'drug'                                              AS drug,
       (pump.p ->> 'drugCode')::integer                               AS drug_code,
       (pump.p ->> 'concentrationNgPerMl')::bigint                    AS concentration_ng_per_ml,
       pumpd.milli_from_nano((pump.p ->> 'concentrationNgPerMl')::bigint) AS concentration_mg_per_ml,
       (pump.p ->> 'dailyDoseNgPerDay')::bigint                       AS daily_dose_ng_per_day,
       pumpd.milli_from_nano((pump.p ->> 'dailyDoseNgPerDay')::bigint) AS daily_dose_mg_per_day,
       (pump.p ->> 'currentRateNgPerDay')::bigint                     AS current_rate_ng_per_day,
       (pump.p ->> 'reservoirNl')::bigint                             AS reservoir_nl,
       pumpd.milli_from_nano((pump.p ->> 'reservoirNl')::bigint)      AS reservoir_ml,
       (pump.p ->> 'capacityNl')::bigint                              AS capacity_nl,
       (pump.p ->> 'lowAlarmNl')::bigint                              AS low_alarm_nl,
       pumpd.milli_from_nano((pump.p ->> 'lowAlarmNl')::bigint)       AS low_alarm_ml,
       to_timestamp((pump.p ->> 'lowAlarmAt')::bigint)                AS low_alarm_at,
       coalesce(pump.p ->> 'lowAlarmAlready' IN ('1', 'true'), false) AS low_alarm_already,
       to_timestamp((pump.p ->> 'emptyAt')::bigint)                   AS empty_at,
       coalesce(pump.p ->> 'emptyAlready' IN ('1', 'true'), false)    AS empty_already,
       (pump.p ->> 'batteryMv')::integer                              AS battery_mv,
       (pump.p ->> 'batteryMonthsLeft')::integer                      AS battery_months_left,
       pump.p ->> 'state'                                             AS state,
       CASE WHEN jsonb_typeof(pump.p -> 'alarms') = 'array'
            THEN ARRAY(SELECT jsonb_array_elements_text(pump.p -> 'alarms')) ELSE '{}'::text[] END AS alarms,
       to_timestamp((pump.p ->> 'deviceTime')::bigint)                AS device_time,
       to_timestamp((pump.p ->> 'lastRefillAt')::bigint)              AS last_refill_at,
       pump.station                                                   AS station,
       pumpd.time_from_unix_ms((pump.p ->> 'recordedMs')::bigint)     AS recorded_at,
       patient.station                                                AS patient_station
FROM pump FULL JOIN patient ON patient.implant_serial = pump.implant_serial;
COMMENT ON VIEW pumpd.clinic_pumps IS
    'Every patient and pump of the clinic: each implant''s newest snapshot (by the station''s recordedMs, across stations) with the newest patient record that names the implant: the drug, its concentration, the daily dose, the reservoir and when it reaches its low alarm and runs empty (the pump''s projections; NULL is never), the battery, the state and alarms, the station that saw it last and when. A patient whose pump never replicated has NULL pump columns.';

CREATE FUNCTION pumpd.refill_calendar(p_days integer)
RETURNS SETOF pumpd.clinic_pumps
LANGUAGE plpgsql STABLE SET search_path = pumpd, pg_temp AS $$
BEGIN
    IF p_days IS NULL OR p_days < 0 OR p_days > 3660 THEN
        RAISE EXCEPTION 'refill_calendar takes a number of days from 0 to 3660; got %', p_days
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT p.* FROM pumpd.clinic_pumps p
    WHERE p.implant_serial IS NOT NULL
      AND (p.low_alarm_already OR p.low_alarm_at <= now() + make_interval(days => p_days))
    ORDER BY p.low_alarm_already DESC, p.low_alarm_at NULLS FIRST, p.implant_serial;
END $$;
COMMENT ON FUNCTION pumpd.refill_calendar(integer) IS
    'The refills due: every pump whose reservoir has reached its low alarm, or will within p_days days by its last projection, soonest first (those already there first). SELECT * FROM pumpd.refill_calendar(14).';

CREATE VIEW pumpd.clinic_overrides AS
SELECT c.station,
       c.key                                                 AS command_id,
       pumpd.time_from_unix_ms((c.row ->> 'createdMs')::bigint) AS at,
       (c.row ->> 'createdMs')::bigint                       AS at_ms,
       c.row ->> 'account'                                   AS account,
       c.row ->> 'role'                                      AS role,
       (c.row ->> 'uid')::bigint                             AS uid,
       c.row ->> 'patientId'                                 AS patient_id,
       pt.row ->> 'name'                                     AS patient_name,
       pt.row ->> 'identifier'                               AS patient_identifier,
       c.row ->> 'visitId'                                   AS visit_id,
       c.row ->> 'kind'                                      AS kind,
       -- A refill's limits are the new drug's; the others', the drug in the pump.
       coalesce(c.row -> 'review' -> 'detail' -> 'refill' -> 'proposed' ->> 'drug', c.row -> 'review' ->> 'drug') AS drug,
       f.finding ->> 'rule'                                  AS rule,
       f.finding -> 'override' ->> 'reason'                  AS reason,
       f.finding ->> 'message'                               AS finding,
       c.row ->> 'state'                                     AS state
FROM pumpd.latest_record c
CROSS JOIN LATERAL jsonb_array_elements(
    CASE WHEN jsonb_typeof(c.row -> 'review' -> 'findings') = 'array' THEN c.row -> 'review' -> 'findings' ELSE '[]'::jsonb END
) AS f(finding)
LEFT JOIN pumpd.latest_record pt
       ON pt.source = 'patient' AND pt.station = c.station AND pt.key = c.row ->> 'patientId'
WHERE c.source = 'command'
  AND f.finding ->> 'severity' = 'soft'
  AND jsonb_typeof(f.finding -> 'override') = 'object';
COMMENT ON VIEW pumpd.clinic_overrides IS
    'Every soft limit of the drug library passed on purpose: the command (station, id, kind, its state now), when it was asked (at; filter on it for a period), who (account and role at a station; uid on a socket), the patient, the drug, the rule overridden and the reason given. One row per override.';

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pumpd FROM PUBLIC;
GRANT SELECT ON pumpd.latest_record, pumpd.clinic_stations, pumpd.clinic_pumps, pumpd.clinic_overrides TO pumpd_reader;
GRANT EXECUTE ON FUNCTION pumpd.refill_calendar(integer), pumpd.milli_from_nano(bigint), pumpd.time_from_unix_ms(bigint) TO pumpd_reader;

INSERT INTO pumpd.schema_version (version, name) VALUES (2, 'clinic views');

-- pumpd's clinic database, version 1: the stations' journals, hash-chained,
-- exactly as each station wrote them.
--
-- Applied by deploy/postgres/migrate (psql, one transaction per file) as the
-- database's owner. Stations log in as members of pumpd_station, which may
-- only call pumpd.ingest and pumpd.resume: a station cannot edit, delete or
-- read another station's records. People and reports read as pumpd_reader.

CREATE SCHEMA IF NOT EXISTS pumpd;

CREATE TABLE pumpd.schema_version (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- One row per station that ever replicated: where its chain stands.
CREATE TABLE pumpd.station (
    station            text PRIMARY KEY CHECK (station ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'),
    first_seen         timestamptz NOT NULL DEFAULT now(),
    last_replicated_at timestamptz,
    last_seq           bigint NOT NULL DEFAULT 0,
    -- The hash of record last_seq; 64 zeros before the first.
    last_hash          text NOT NULL DEFAULT repeat('0', 64),
    pumpd_version      text
);

-- Every journal record of every station, once: (station, seq) is its identity.
-- payload is the exact text the station hashed:
--   hash = hex(SHA-256(prev_hash || '\n' || payload)), prev_hash being the
--   hash of record seq - 1 (64 zeros for seq 1).
-- row is payload's "row" (the SQLite row after the change), for the views.
CREATE TABLE pumpd.record (
    station     text NOT NULL REFERENCES pumpd.station,
    seq         bigint NOT NULL CHECK (seq > 0),
    at_ms       bigint NOT NULL,
    source      text NOT NULL,
    key         text NOT NULL,
    payload     text NOT NULL,
    prev_hash   text NOT NULL,
    hash        text NOT NULL,
    row         jsonb,
    -- False when the chain did not hold as this record arrived (see chain_break).
    chain_ok    boolean NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station, seq)
);
-- The newest state of one record (a command, a patient, a pump) is its highest seq.
CREATE INDEX record_latest ON pumpd.record (source, station, key, seq DESC);

-- Every break in a station's chain found at ingest or by `pumpctl clinic verify`.
CREATE TABLE pumpd.chain_break (
    id       bigserial PRIMARY KEY,
    station  text NOT NULL,
    seq      bigint NOT NULL,
    found_at timestamptz NOT NULL DEFAULT now(),
    found_by text NOT NULL,
    reason   text NOT NULL
);

-- The records are written once and never changed: an UPDATE or DELETE is
-- refused for everyone (a superuser who disables this is caught by
-- `pumpctl clinic verify`, which recomputes every hash).
CREATE FUNCTION pumpd.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'pumpd.record is append-only: records are never changed or deleted'
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER record_append_only BEFORE UPDATE OR DELETE ON pumpd.record
    FOR EACH ROW EXECUTE FUNCTION pumpd.refuse_change();

-- Where a station resumes: its last record's seq and hash (0 and 64 zeros if none).
CREATE FUNCTION pumpd.resume(p_station text, OUT last_seq bigint, OUT last_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pumpd, pg_temp AS $$
    SELECT coalesce(max(s.last_seq), 0), coalesce(max(s.last_hash), repeat('0', 64))
    FROM pumpd.station s WHERE s.station = p_station
$$;

-- Takes a batch of one station's records in seq order. A record already held
-- is skipped (a retry after a lost answer), or flagged if its hash differs;
-- the chain is checked as each record arrives and a break is recorded, not
-- refused, so that nothing a station wrote is lost. A gap is refused: the
-- station sends again from resume(). Returns the station's last seq.
CREATE FUNCTION pumpd.ingest(
    p_station text, p_version text,
    p_seq bigint[], p_at_ms bigint[], p_source text[], p_key text[],
    p_payload text[], p_prev_hash text[], p_hash text[]
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pumpd, pg_temp AS $$
DECLARE
    n        integer := coalesce(array_length(p_seq, 1), 0);
    v_last   bigint;
    v_hash   text;
    v_held   text;
    v_ok     boolean;
    v_reason text;
    v_doc    jsonb;
BEGIN
    IF array_length(p_at_ms, 1) IS DISTINCT FROM array_length(p_seq, 1)
       OR array_length(p_source, 1) IS DISTINCT FROM array_length(p_seq, 1)
       OR array_length(p_key, 1) IS DISTINCT FROM array_length(p_seq, 1)
       OR array_length(p_payload, 1) IS DISTINCT FROM array_length(p_seq, 1)
       OR array_length(p_prev_hash, 1) IS DISTINCT FROM array_length(p_seq, 1)
       OR array_length(p_hash, 1) IS DISTINCT FROM array_length(p_seq, 1) THEN
        RAISE EXCEPTION 'pumpd.ingest: the arrays differ in length' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO station (station) VALUES (p_station) ON CONFLICT DO NOTHING;
    SELECT s.last_seq, s.last_hash INTO v_last, v_hash FROM station s WHERE s.station = p_station FOR UPDATE;
    FOR i IN 1 .. n LOOP
        SELECT r.hash INTO v_held FROM record r WHERE r.station = p_station AND r.seq = p_seq[i];
        IF FOUND THEN
            IF v_held <> p_hash[i] THEN
                INSERT INTO chain_break (station, seq, found_by, reason) VALUES (p_station, p_seq[i], 'ingest',
                    format('the station sent record %s again with hash %s, but the clinic holds it with hash %s: one of the two copies was changed',
                           p_seq[i], p_hash[i], v_held));
            END IF;
            CONTINUE;
        END IF;
        IF p_seq[i] <> v_last + 1 THEN
            RAISE EXCEPTION 'station % sent record % where % was next', p_station, p_seq[i], v_last + 1
                USING ERRCODE = 'invalid_parameter_value', HINT = 'call pumpd.resume and send from the record after last_seq';
        END IF;
        v_ok := true;
        v_reason := NULL;
        IF p_prev_hash[i] <> v_hash THEN
            v_ok := false;
            v_reason := format('its prev_hash %s is not the hash %s of record %s', p_prev_hash[i], v_hash, v_last);
        END IF;
        IF encode(sha256(convert_to(p_prev_hash[i] || E'\n' || p_payload[i], 'UTF8')), 'hex') <> p_hash[i] THEN
            v_ok := false;
            v_reason := concat_ws('; ', v_reason, 'its hash is not the SHA-256 of its prev_hash and payload');
        END IF;
        BEGIN
            v_doc := p_payload[i]::jsonb;
            IF (v_doc ->> 'seq')::bigint IS DISTINCT FROM p_seq[i] OR v_doc ->> 'source' IS DISTINCT FROM p_source[i]
               OR v_doc ->> 'key' IS DISTINCT FROM p_key[i] OR (v_doc ->> 'atMs')::bigint IS DISTINCT FROM p_at_ms[i] THEN
                v_ok := false;
                v_reason := concat_ws('; ', v_reason, 'its payload names another seq, time, source or key than its columns');
            END IF;
        EXCEPTION WHEN others THEN
            v_doc := NULL;
            v_ok := false;
            v_reason := concat_ws('; ', v_reason, 'its payload is not the JSON a station writes');
        END;
        INSERT INTO record (station, seq, at_ms, source, key, payload, prev_hash, hash, row, chain_ok)
        VALUES (p_station, p_seq[i], p_at_ms[i], p_source[i], p_key[i], p_payload[i], p_prev_hash[i], p_hash[i], v_doc -> 'row', v_ok);
        IF NOT v_ok THEN
            INSERT INTO chain_break (station, seq, found_by, reason)
            VALUES (p_station, p_seq[i], 'ingest', format('record %s: %s', p_seq[i], v_reason));
        END IF;
        v_last := p_seq[i];
        v_hash := p_hash[i];
    END LOOP;
    UPDATE station SET last_seq = v_last, last_hash = v_hash, last_replicated_at = now(), pumpd_version = p_version
    WHERE station = p_station;
    RETURN v_last;
END $$;

-- The two roles stations and readers log in through (as members).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pumpd_station') THEN CREATE ROLE pumpd_station NOLOGIN; END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pumpd_reader') THEN CREATE ROLE pumpd_reader NOLOGIN; END IF;
END $$;
REVOKE ALL ON SCHEMA pumpd FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pumpd FROM PUBLIC;
GRANT USAGE ON SCHEMA pumpd TO pumpd_station, pumpd_reader;
GRANT EXECUTE ON FUNCTION pumpd.ingest(text, text, bigint[], bigint[], text[], text[], text[], text[], text[]) TO pumpd_station;
GRANT EXECUTE ON FUNCTION pumpd.resume(text) TO pumpd_station;
GRANT SELECT ON pumpd.station, pumpd.record, pumpd.chain_break, pumpd.schema_version TO pumpd_reader;

INSERT INTO pumpd.schema_version (version, name) VALUES (1, 'records');

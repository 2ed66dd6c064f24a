-- casewatch on PostgreSQL, version 3: the case's equality columns, the nightly runs'
-- history (runs, PDU metrics, incidents with their members), acknowledgements and silences,
-- each readable only where its cases are; and a notification on every change a screen shows.

-- The optional equality columns of a case (SQLite version 9), for the disproportionality
-- view: never shown on a case list or screen.
ALTER TABLE cases ADD COLUMN ethnicity text
    CHECK (ethnicity IN ('white', 'mixed', 'asian', 'black', 'other'));
ALTER TABLE cases ADD COLUMN sex text CHECK (sex IN ('female', 'male'));
ALTER TABLE cases ADD COLUMN age_band text
    CHECK (age_band IN ('18-24', '25-34', '35-44', '45-54', '55+'));

-- The recorded nightly runs. Metrics and members are kept as the text casewatch wrote (JSON),
-- not jsonb: jsonb would reorder keys and respace them, and a copy must arrive as it was.
CREATE TABLE alert_runs (
    id          bigserial PRIMARY KEY,
    as_of       date NOT NULL UNIQUE,
    recorded_at timestamptz NOT NULL,
    actor       text NOT NULL
);

CREATE TABLE run_pdu_metrics (
    run_id  bigint NOT NULL REFERENCES alert_runs(id) ON DELETE CASCADE,
    pdu     text NOT NULL,
    metrics text NOT NULL,
    PRIMARY KEY (run_id, pdu)
);

-- One row per incident (the alerts of one rule in one PDU); its members inside it:
-- [[who, first_seen, status, message, metrics], ...], who being the CRN, the staff code or '-'.
CREATE TABLE run_incidents (
    run_id     bigint NOT NULL REFERENCES alert_runs(id) ON DELETE CASCADE,
    key        text NOT NULL,
    rule       text NOT NULL,
    severity   text NOT NULL,
    scope      text NOT NULL,
    pdu        text NOT NULL,
    count      bigint NOT NULL CHECK (count >= 0),
    first_seen date NOT NULL,
    nights     bigint NOT NULL CHECK (nights >= 0),
    message    text NOT NULL,
    metrics    text NOT NULL,
    members    text NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX run_incidents_pdu ON run_incidents(pdu, run_id);

-- Acknowledgements outlive runs. The key is rule:pdu or rule:pdu:who.
CREATE TABLE alert_acks (
    id      bigserial PRIMARY KEY,
    key     text NOT NULL,
    at      timestamptz NOT NULL,
    actor   text NOT NULL,
    note    text NOT NULL,
    metrics text NOT NULL,
    as_of   date
);
CREATE INDEX alert_acks_key ON alert_acks(key, id);

CREATE TABLE silences (
    id         bigserial PRIMARY KEY,
    rule       text,
    pdu        text,
    crn        text,
    starts     date NOT NULL,
    until      date NOT NULL,
    reason     text NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    removed_by text,
    removed_at timestamptz,
    CHECK (rule IS NOT NULL OR pdu IS NOT NULL OR crn IS NOT NULL),
    CHECK (until > starts)
);

-- Who sees what of them. A run's head and its PDU figures are counts, like the overview every
-- SPO sees of the region; an incident lists CRNs, so it follows its PDU; an acknowledgement
-- names its PDU in its key; a silence follows its case, else its PDU, and one matching a rule
-- everywhere is a head's to make.
GRANT SELECT ON alert_runs, run_pdu_metrics TO casewatch_spo, casewatch_head;
GRANT SELECT ON run_incidents, alert_acks, silences TO casewatch_spo, casewatch_head;
GRANT INSERT ON alert_acks TO casewatch_spo, casewatch_head;
GRANT INSERT, UPDATE ON silences TO casewatch_spo, casewatch_head;
-- Recording a night is the nightly job's, run as a head of region's login (or the owner).
GRANT INSERT, UPDATE, DELETE ON alert_runs, run_pdu_metrics, run_incidents TO casewatch_head;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO casewatch_spo, casewatch_head;
-- Every casewatch checks the schema's version before it writes.
GRANT SELECT ON casewatch_schema TO casewatch_spo, casewatch_head;

ALTER TABLE run_incidents ENABLE ROW LEVEL SECURITY;
CREATE POLICY by_pdu ON run_incidents USING (casewatch_may_see(pdu))
    WITH CHECK (casewatch_may_see(pdu));

ALTER TABLE alert_acks ENABLE ROW LEVEL SECURITY;
CREATE POLICY by_pdu ON alert_acks USING (casewatch_may_see(split_part(key, ':', 2)))
    WITH CHECK (casewatch_may_see(split_part(key, ':', 2)));

CREATE FUNCTION casewatch_may_see_silence(s_pdu text, s_crn text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY INVOKER SET search_path = public, pg_temp AS $$
    SELECT CASE
        WHEN s_crn IS NOT NULL THEN EXISTS (SELECT 1 FROM cases c WHERE c.crn = s_crn)
        WHEN s_pdu IS NOT NULL THEN casewatch_may_see(s_pdu)
        ELSE pg_has_role(session_user, 'casewatch_head', 'member')
    END
$$;
GRANT EXECUTE ON FUNCTION casewatch_may_see_silence(text, text) TO casewatch_spo, casewatch_head;

ALTER TABLE silences ENABLE ROW LEVEL SECURITY;
-- Every silence is listed to everyone who can see what it covers; one covering every PDU is
-- listed to all (it hides alerts from them), and made or removed only by a head.
CREATE POLICY readable ON silences FOR SELECT
    USING ((pdu IS NULL AND crn IS NULL) OR casewatch_may_see_silence(pdu, crn));
CREATE POLICY made ON silences FOR INSERT WITH CHECK (casewatch_may_see_silence(pdu, crn));
CREATE POLICY removed ON silences FOR UPDATE USING (casewatch_may_see_silence(pdu, crn))
    WITH CHECK (casewatch_may_see_silence(pdu, crn));

-- Live refresh: a change to a case, or any triage write (each writes an audit entry), tells
-- the screens listening on channel `casewatch` which PDU changed. The payload is the PDU code
-- alone: LISTEN is not subject to row-level security, so it must name no person. A bulk load
-- sends one notification per PDU (PostgreSQL folds equal ones within a transaction).
CREATE FUNCTION casewatch_notify_cases() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_notify('casewatch', p) FROM (SELECT DISTINCT pdu AS p FROM old_rows) o;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM pg_notify('casewatch', p) FROM (SELECT DISTINCT pdu AS p FROM new_rows) n;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER cases_notify_insert AFTER INSERT ON cases REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_notify_cases();
CREATE TRIGGER cases_notify_update AFTER UPDATE ON cases
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_notify_cases();
CREATE TRIGGER cases_notify_delete AFTER DELETE ON cases REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_notify_cases();

-- An audit entry about a case names the case's PDU; one about no case (a silence of a rule, an
-- import) tells every screen ('*').
CREATE FUNCTION casewatch_notify_audit() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM pg_notify('casewatch', coalesce(
        (SELECT c.pdu FROM cases c WHERE c.crn = NEW.crn), '*'));
    RETURN NULL;
END;
$$;
CREATE TRIGGER audit_notify AFTER INSERT ON audit
    FOR EACH ROW EXECUTE FUNCTION casewatch_notify_audit();

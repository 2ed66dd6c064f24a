-- casewatch on PostgreSQL, version 9: the change log a working copy catches up from.
--
-- A screen or a nightly job reads a working copy of what its login may read. To bring it up
-- to date it needs to know which cases changed since it last read, and a notification may
-- not name a case (LISTEN is not subject to row-level security). So every write to a case or
-- its records leaves a row here: the writing transaction's id, the case's PDU and its CRN.
-- A copy keeps the snapshot it was read in; the rows whose transaction that snapshot did not
-- see are exactly what changed since, whatever order the writers committed in.
--
-- Logins cannot read this table. `casewatch_changes_since` gives each login the changed
-- PDUs, and the CRNs only of the PDUs it may see.

CREATE TABLE case_changes (
    xid  xid8 NOT NULL DEFAULT pg_current_xact_id(),
    at   timestamptz NOT NULL DEFAULT now(),
    -- 'case': this CRN's case or records; 'pdu': every case of the PDU (a first load);
    -- 'staff': the PDU's practitioners, teams, establishment or the PDU itself.
    what text NOT NULL CHECK (what IN ('case', 'pdu', 'staff')),
    pdu  text NOT NULL,
    crn  text
);
CREATE INDEX case_changes_xid ON case_changes (xid);
ALTER TABLE case_changes ENABLE ROW LEVEL SECURITY;
CREATE POLICY readable ON case_changes FOR SELECT USING (casewatch_may_see(pdu));

-- Which server a copy was read from, and how far back the log still goes.
CREATE TABLE change_log (
    server_id     text NOT NULL,
    pruned_before xid8 NOT NULL DEFAULT '0'
);
INSERT INTO change_log (server_id) VALUES (gen_random_uuid()::text);
GRANT SELECT ON change_log TO casewatch_spo, casewatch_head;

-- Cases: the old and the new PDU of every row a statement touched (a case moved between PDUs
-- changes both).
CREATE FUNCTION casewatch_log_cases() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO case_changes (what, pdu, crn) SELECT DISTINCT 'case', pdu, crn FROM old_rows;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO case_changes (what, pdu, crn) SELECT DISTINCT 'case', pdu, crn FROM new_rows;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO case_changes (what, pdu, crn)
            SELECT DISTINCT 'case', n.pdu, n.crn FROM new_rows n
              JOIN old_rows o ON o.crn = n.crn WHERE o.pdu IS DISTINCT FROM n.pdu;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER cases_log_insert AFTER INSERT ON cases REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_log_cases();
CREATE TRIGGER cases_log_update AFTER UPDATE ON cases
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_log_cases();
CREATE TRIGGER cases_log_delete AFTER DELETE ON cases REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_log_cases();

-- A case's records: the case's CRN under its PDU.
CREATE FUNCTION casewatch_log_records() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO case_changes (what, pdu, crn)
            SELECT 'case', c.pdu, c.crn FROM cases c
             WHERE c.crn IN (SELECT crn FROM new_rows);
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO case_changes (what, pdu, crn)
            SELECT 'case', c.pdu, c.crn FROM cases c
             WHERE c.crn IN (SELECT crn FROM old_rows UNION SELECT crn FROM new_rows);
    ELSE
        INSERT INTO case_changes (what, pdu, crn)
            SELECT 'case', c.pdu, c.crn FROM cases c
             WHERE c.crn IN (SELECT crn FROM old_rows);
    END IF;
    RETURN NULL;
END;
$$;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['contacts', 'oversight', 'allocations', 'enquiries', 'assessments',
                             'notes'] LOOP
        EXECUTE format('CREATE TRIGGER %1$s_log_insert AFTER INSERT ON %1$s
                            REFERENCING NEW TABLE AS new_rows
                            FOR EACH STATEMENT EXECUTE FUNCTION casewatch_log_records()', t);
        EXECUTE format('CREATE TRIGGER %1$s_log_update AFTER UPDATE ON %1$s
                            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                            FOR EACH STATEMENT EXECUTE FUNCTION casewatch_log_records()', t);
        EXECUTE format('CREATE TRIGGER %1$s_log_delete AFTER DELETE ON %1$s
                            REFERENCING OLD TABLE AS old_rows
                            FOR EACH STATEMENT EXECUTE FUNCTION casewatch_log_records()', t);
    END LOOP;
END;
$$;

-- Staffing and the PDUs themselves: the PDU, no CRN. (Staff tables are small and readable
-- by every login: a copy reads them whole when any changed.)
CREATE FUNCTION casewatch_log_staff() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    col text := quote_ident(TG_ARGV[0]);
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        EXECUTE format('INSERT INTO case_changes (what, pdu)
                            SELECT DISTINCT ''staff'', %s FROM old_rows', col);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        EXECUTE format('INSERT INTO case_changes (what, pdu)
                            SELECT DISTINCT ''staff'', %s FROM new_rows', col);
    END IF;
    RETURN NULL;
END;
$$;
DO $$
DECLARE
    t text;
    c text;
BEGIN
    FOREACH t IN ARRAY ARRAY['pdus', 'teams', 'practitioners', 'establishment'] LOOP
        c := CASE t WHEN 'pdus' THEN 'code' ELSE 'pdu' END;
        EXECUTE format('CREATE TRIGGER %1$s_log_insert AFTER INSERT ON %1$s
                            REFERENCING NEW TABLE AS new_rows
                            FOR EACH STATEMENT EXECUTE FUNCTION casewatch_log_staff(%2$L)', t, c);
        EXECUTE format('CREATE TRIGGER %1$s_log_update AFTER UPDATE ON %1$s
                            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                            FOR EACH STATEMENT EXECUTE FUNCTION casewatch_log_staff(%2$L)', t, c);
        EXECUTE format('CREATE TRIGGER %1$s_log_delete AFTER DELETE ON %1$s
                            REFERENCING OLD TABLE AS old_rows
                            FOR EACH STATEMENT EXECUTE FUNCTION casewatch_log_staff(%2$L)', t, c);
    END LOOP;
END;
$$;

-- What changed since a snapshot, as this login may know it: every changed PDU (its tallies
-- are the region's, readable by all), the CRNs of the PDUs it may see. One row ('all') when
-- the log no longer reaches back that far: the caller reads everything afresh.
CREATE FUNCTION casewatch_changes_since(since pg_snapshot)
    RETURNS TABLE (what text, pdu text, crn text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF pg_snapshot_xmin(since) <= (SELECT pruned_before FROM change_log) THEN
        RETURN QUERY SELECT 'all'::text, NULL::text, NULL::text;
        RETURN;
    END IF;
    RETURN QUERY
        SELECT DISTINCT ch.what, ch.pdu,
               CASE WHEN casewatch_may_see(ch.pdu) THEN ch.crn END
          FROM case_changes ch
         WHERE ch.xid >= pg_snapshot_xmin(since)
           AND NOT pg_visible_in_snapshot(ch.xid, since);
END;
$$;
REVOKE EXECUTE ON FUNCTION casewatch_changes_since(pg_snapshot) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION casewatch_changes_since(pg_snapshot) TO casewatch_spo, casewatch_head;

-- Forgets the changes older than `keep` (the nightly run calls it): a copy read before then
-- reads everything afresh. Only transactions that have ended are forgotten.
CREATE FUNCTION casewatch_changes_prune(keep interval) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    upto xid8;
    n bigint;
BEGIN
    SELECT max(xid) INTO upto FROM case_changes
     WHERE at < now() - keep AND xid < pg_snapshot_xmin(pg_current_snapshot());
    IF upto IS NULL THEN
        RETURN 0;
    END IF;
    DELETE FROM case_changes WHERE xid <= upto;
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE change_log SET pruned_before = upto
     WHERE pruned_before < upto;
    RETURN n;
END;
$$;
REVOKE EXECUTE ON FUNCTION casewatch_changes_prune(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION casewatch_changes_prune(interval) TO casewatch_head;

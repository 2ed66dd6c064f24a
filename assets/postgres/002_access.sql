-- casewatch on PostgreSQL, version 2: who sees what.
--
-- Two group roles (NOLOGIN): members of casewatch_spo see and write only the cases of the
-- PDUs listed for them in pdu_access; members of casewatch_head see and write every case.
-- Reference data (PDUs, teams, practitioners, establishment) is readable by both: a PDU's
-- vacancy is judged against its region's. Neither may change or delete the audit trail.
-- The roles are created once per server (they outlive a dropped database).

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'casewatch_spo') THEN
        CREATE ROLE casewatch_spo NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'casewatch_head') THEN
        CREATE ROLE casewatch_head NOLOGIN;
    END IF;
END;
$$;

CREATE TABLE pdu_access (
    db_user text NOT NULL,
    pdu     text NOT NULL REFERENCES pdus(code),
    PRIMARY KEY (db_user, pdu)
);

-- Whether the session's user may see a PDU's cases. SECURITY DEFINER so that it reads
-- pdu_access whatever the caller may read; search_path pinned for the same reason.
CREATE FUNCTION casewatch_may_see(p text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT pg_has_role(session_user, 'casewatch_head', 'member')
        OR EXISTS (SELECT 1 FROM pdu_access a WHERE a.db_user = session_user AND a.pdu = p)
$$;

GRANT USAGE ON SCHEMA public TO casewatch_spo, casewatch_head;
GRANT SELECT ON meta, pdus, teams, practitioners, establishment TO casewatch_spo, casewatch_head;
GRANT SELECT ON pdu_access TO casewatch_spo, casewatch_head;
GRANT SELECT, INSERT, UPDATE ON cases, contacts, oversight, allocations, enquiries, assessments,
    notes TO casewatch_spo, casewatch_head;
GRANT SELECT, INSERT ON audit TO casewatch_spo, casewatch_head;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO casewatch_spo, casewatch_head;
GRANT EXECUTE ON FUNCTION casewatch_may_see(text) TO casewatch_spo, casewatch_head;

ALTER TABLE pdu_access ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON pdu_access
    USING (db_user = session_user OR pg_has_role(session_user, 'casewatch_head', 'member'));

ALTER TABLE cases ENABLE ROW LEVEL SECURITY;
CREATE POLICY by_pdu ON cases USING (casewatch_may_see(pdu)) WITH CHECK (casewatch_may_see(pdu));

-- A case's records follow the case: what the user may see of cases, they may see of these.
ALTER TABLE contacts ENABLE ROW LEVEL SECURITY;
CREATE POLICY by_case ON contacts USING (crn IN (SELECT crn FROM cases))
    WITH CHECK (crn IN (SELECT crn FROM cases));
ALTER TABLE oversight ENABLE ROW LEVEL SECURITY;
CREATE POLICY by_case ON oversight USING (crn IN (SELECT crn FROM cases))
    WITH CHECK (crn IN (SELECT crn FROM cases));
ALTER TABLE allocations ENABLE ROW LEVEL SECURITY;
CREATE POLICY by_case ON allocations USING (crn IN (SELECT crn FROM cases))
    WITH CHECK (crn IN (SELECT crn FROM cases));
ALTER TABLE enquiries ENABLE ROW LEVEL SECURITY;
CREATE POLICY by_case ON enquiries USING (crn IN (SELECT crn FROM cases))
    WITH CHECK (crn IN (SELECT crn FROM cases));
ALTER TABLE assessments ENABLE ROW LEVEL SECURITY;
CREATE POLICY by_case ON assessments USING (crn IN (SELECT crn FROM cases))
    WITH CHECK (crn IN (SELECT crn FROM cases));
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY by_case ON notes USING (crn IN (SELECT crn FROM cases))
    WITH CHECK (crn IN (SELECT crn FROM cases));

-- The audit: a user sees the entries about cases they may see, and their own.
ALTER TABLE audit ENABLE ROW LEVEL SECURITY;
CREATE POLICY readable ON audit FOR SELECT
    USING (db_user = session_user OR crn IN (SELECT crn FROM cases)
           OR pg_has_role(session_user, 'casewatch_head', 'member'));
CREATE POLICY writable ON audit FOR INSERT
    WITH CHECK (crn IS NULL OR crn IN (SELECT crn FROM cases));

-- casewatch on PostgreSQL, version 5: a case's records follow the case by looking the case up.
--
-- Version 2 wrote "crn IN (SELECT crn FROM cases)". In a row-level-security policy the
-- planner cannot turn that into a join, and when the readable cases do not fit in work_mem
-- it scans them again for every record: an SPO reading one PDU's enquiries at 1,000,000
-- cases ran for minutes. EXISTS looks the one case up by its key (the cases' own policy
-- still applies inside), which costs the same at any size; and a head's reads skip the
-- lookups altogether.

-- Whether the session's user is a head (sees every case). Written as a scalar subquery in
-- the policies below, so it is asked once per statement, not once per row.
CREATE FUNCTION casewatch_is_head() RETURNS boolean
    LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT pg_has_role(session_user, 'casewatch_head', 'member')
$$;
GRANT EXECUTE ON FUNCTION casewatch_is_head() TO casewatch_spo, casewatch_head;

-- The same rule as casewatch_may_see(pdu), in a form the planner evaluates once: a head's
-- reads pay nothing per row, an SPO's compare the PDU with their short list.
DROP POLICY by_pdu ON cases;
CREATE POLICY by_pdu ON cases
    USING ((SELECT casewatch_is_head())
           OR pdu IN (SELECT a.pdu FROM pdu_access a WHERE a.db_user = session_user))
    WITH CHECK ((SELECT casewatch_is_head())
           OR pdu IN (SELECT a.pdu FROM pdu_access a WHERE a.db_user = session_user));
DROP POLICY by_case ON contacts;
CREATE POLICY by_case ON contacts
    USING ((SELECT casewatch_is_head()) OR EXISTS (SELECT 1 FROM cases c WHERE c.crn = contacts.crn))
    WITH CHECK ((SELECT casewatch_is_head())
                OR EXISTS (SELECT 1 FROM cases c WHERE c.crn = contacts.crn));
DROP POLICY by_case ON oversight;
CREATE POLICY by_case ON oversight
    USING ((SELECT casewatch_is_head()) OR EXISTS (SELECT 1 FROM cases c WHERE c.crn = oversight.crn))
    WITH CHECK ((SELECT casewatch_is_head())
                OR EXISTS (SELECT 1 FROM cases c WHERE c.crn = oversight.crn));
DROP POLICY by_case ON allocations;
CREATE POLICY by_case ON allocations
    USING ((SELECT casewatch_is_head()) OR EXISTS (SELECT 1 FROM cases c WHERE c.crn = allocations.crn))
    WITH CHECK ((SELECT casewatch_is_head())
                OR EXISTS (SELECT 1 FROM cases c WHERE c.crn = allocations.crn));
DROP POLICY by_case ON enquiries;
CREATE POLICY by_case ON enquiries
    USING ((SELECT casewatch_is_head()) OR EXISTS (SELECT 1 FROM cases c WHERE c.crn = enquiries.crn))
    WITH CHECK ((SELECT casewatch_is_head())
                OR EXISTS (SELECT 1 FROM cases c WHERE c.crn = enquiries.crn));
DROP POLICY by_case ON assessments;
CREATE POLICY by_case ON assessments
    USING ((SELECT casewatch_is_head()) OR EXISTS (SELECT 1 FROM cases c WHERE c.crn = assessments.crn))
    WITH CHECK ((SELECT casewatch_is_head())
                OR EXISTS (SELECT 1 FROM cases c WHERE c.crn = assessments.crn));
DROP POLICY by_case ON notes;
CREATE POLICY by_case ON notes
    USING ((SELECT casewatch_is_head()) OR EXISTS (SELECT 1 FROM cases c WHERE c.crn = notes.crn))
    WITH CHECK ((SELECT casewatch_is_head())
                OR EXISTS (SELECT 1 FROM cases c WHERE c.crn = notes.crn));

DROP POLICY readable ON audit;
CREATE POLICY readable ON audit FOR SELECT
    USING ((SELECT casewatch_is_head()) OR db_user = session_user
           OR EXISTS (SELECT 1 FROM cases c WHERE c.crn = audit.crn));
DROP POLICY writable ON audit;
CREATE POLICY writable ON audit FOR INSERT
    WITH CHECK (crn IS NULL OR (SELECT casewatch_is_head())
                OR EXISTS (SELECT 1 FROM cases c WHERE c.crn = audit.crn));

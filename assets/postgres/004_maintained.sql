-- casewatch on PostgreSQL, version 4: what the SQLite file keeps with every write, kept here
-- the same way, so that the overview and the nightly run read a few thousand tally rows and
-- one row per case rather than every contact, enquiry and assessment.
--
-- * cases.last_contact and last_oversight, from contacts and oversight;
-- * the risk checks' columns of a case (first and latest request of each enquiry, the latest
--   request's return, first and latest assessment since sentence, the latest pre-release
--   assessment before release), from enquiries and assessments;
-- * rosh_changed_on, when a case's RoSH changes;
-- * the overview tallies (per PDU; contact and oversight clocks by the date they run from;
--   caseloads by practitioner and tier), from cases.
--
-- The triggers are statement-level with transition tables: a COPY of a million rows costs
-- one grouped statement per table, not a million. They run as the schema's owner (SECURITY
-- DEFINER), so a login's row-level security limits what it may write, never what is kept.

ALTER TABLE cases ADD COLUMN da_first_requested date;
ALTER TABLE cases ADD COLUMN da_last_requested date;
ALTER TABLE cases ADD COLUMN da_last_returned date;
ALTER TABLE cases ADD COLUMN cs_first_requested date;
ALTER TABLE cases ADD COLUMN cs_last_requested date;
ALTER TABLE cases ADD COLUMN cs_last_returned date;
ALTER TABLE cases ADD COLUMN first_assessed date;
ALTER TABLE cases ADD COLUMN last_assessed date;
ALTER TABLE cases ADD COLUMN pre_release_assessed date;
CREATE INDEX enquiries_crn ON enquiries(crn, kind, requested_on);
CREATE INDEX assessments_crn ON assessments(crn, completed_on);

-- The last contact or oversight (the column TG_ARGV[0]) of the cases a statement on contacts
-- or oversight touched, from their rows. EXECUTE sees the trigger's transition tables.
CREATE FUNCTION casewatch_last_date() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    col text := quote_ident(TG_ARGV[0]);
    src text := quote_ident(TG_TABLE_NAME);
BEGIN
    IF TG_OP = 'INSERT' THEN
        EXECUTE format('UPDATE cases c SET %1$s = m.d
                          FROM (SELECT crn, max(date) AS d FROM new_rows GROUP BY crn) m
                         WHERE c.crn = m.crn AND (c.%1$s IS NULL OR c.%1$s < m.d)', col);
    ELSE
        EXECUTE format('UPDATE cases c SET %1$s = (SELECT max(date) FROM %2$s x WHERE x.crn = c.crn)
                         WHERE c.crn IN (SELECT crn FROM old_rows %3$s)', col, src,
                       CASE TG_OP WHEN 'UPDATE' THEN 'UNION SELECT crn FROM new_rows' ELSE '' END);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER contacts_ai AFTER INSERT ON contacts REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_last_date('last_contact');
CREATE TRIGGER contacts_au AFTER UPDATE ON contacts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_last_date('last_contact');
CREATE TRIGGER contacts_ad AFTER DELETE ON contacts REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_last_date('last_contact');
CREATE TRIGGER oversight_ai AFTER INSERT ON oversight REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_last_date('last_oversight');
CREATE TRIGGER oversight_au AFTER UPDATE ON oversight
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_last_date('last_oversight');
CREATE TRIGGER oversight_ad AFTER DELETE ON oversight REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_last_date('last_oversight');

-- The risk checks' columns of the cases named, from their enquiries and assessments (the
-- same definitions as the SQLite file's `risk_recompute`).
-- Nothing named, no statement: an UPDATE of no rows would still fire the statement triggers
-- on cases, and through them this again.
CREATE FUNCTION casewatch_risk_recompute(crns text[]) RETURNS void LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF coalesce(cardinality(crns), 0) = 0 THEN
        RETURN;
    END IF;
    UPDATE cases SET
        da_first_requested = (SELECT min(requested_on) FROM enquiries e
                               WHERE e.crn = cases.crn AND e.kind = 'domestic_abuse'),
        da_last_requested = (SELECT max(requested_on) FROM enquiries e
                              WHERE e.crn = cases.crn AND e.kind = 'domestic_abuse'),
        da_last_returned = (SELECT returned_on FROM enquiries e
                             WHERE e.crn = cases.crn AND e.kind = 'domestic_abuse'
                             ORDER BY requested_on DESC, returned_on IS NULL LIMIT 1),
        cs_first_requested = (SELECT min(requested_on) FROM enquiries e
                               WHERE e.crn = cases.crn AND e.kind = 'child_safeguarding'),
        cs_last_requested = (SELECT max(requested_on) FROM enquiries e
                              WHERE e.crn = cases.crn AND e.kind = 'child_safeguarding'),
        cs_last_returned = (SELECT returned_on FROM enquiries e
                             WHERE e.crn = cases.crn AND e.kind = 'child_safeguarding'
                             ORDER BY requested_on DESC, returned_on IS NULL LIMIT 1),
        first_assessed = (SELECT min(completed_on) FROM assessments a
                           WHERE a.crn = cases.crn AND a.completed_on >= cases.sentence_date),
        last_assessed = (SELECT max(completed_on) FROM assessments a
                          WHERE a.crn = cases.crn AND a.completed_on >= cases.sentence_date),
        pre_release_assessed = (SELECT max(completed_on) FROM assessments a
                                 WHERE a.crn = cases.crn AND a.kind = 'pre_release'
                                   AND a.completed_on < cases.release_date)
     WHERE crn = ANY (crns);
END;
$$;

CREATE FUNCTION casewatch_risk_rows() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM casewatch_risk_recompute(ARRAY(SELECT DISTINCT crn FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM casewatch_risk_recompute(ARRAY(SELECT DISTINCT crn FROM old_rows));
    ELSE
        PERFORM casewatch_risk_recompute(
            ARRAY(SELECT crn FROM old_rows UNION SELECT crn FROM new_rows));
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER enquiries_ai AFTER INSERT ON enquiries REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_risk_rows();
CREATE TRIGGER enquiries_au AFTER UPDATE ON enquiries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_risk_rows();
CREATE TRIGGER enquiries_ad AFTER DELETE ON enquiries REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_risk_rows();
CREATE TRIGGER assessments_ai AFTER INSERT ON assessments REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_risk_rows();
CREATE TRIGGER assessments_au AFTER UPDATE ON assessments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_risk_rows();
CREATE TRIGGER assessments_ad AFTER DELETE ON assessments REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_risk_rows();

-- A new sentence or release date moves what "since sentence" and "before release" take in.
CREATE FUNCTION casewatch_risk_dates() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM casewatch_risk_recompute(ARRAY(
        SELECT n.crn FROM new_rows n JOIN old_rows o USING (crn)
         WHERE n.sentence_date IS DISTINCT FROM o.sentence_date
            OR n.release_date IS DISTINCT FROM o.release_date));
    RETURN NULL;
END;
$$;
CREATE TRIGGER cases_risk_dates AFTER UPDATE ON cases
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_risk_dates();

-- When casewatch saw a case's RoSH change (unless the write set the date itself).
CREATE FUNCTION casewatch_rosh_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.rosh IS DISTINCT FROM OLD.rosh
       AND NEW.rosh_changed_on IS NOT DISTINCT FROM OLD.rosh_changed_on THEN
        NEW.rosh_changed_on := current_date;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER cases_rosh_changed BEFORE UPDATE OF rosh ON cases
    FOR EACH ROW EXECUTE FUNCTION casewatch_rosh_changed();

-- The overview tallies (the SQLite file's `V_TALLIES`). "Overdue" depends on the as-of date
-- and the policy, so it is not stored: the contact and oversight tallies count allocated
-- cases by the date their clock runs from, and a read sums the buckets older than its
-- threshold.
CREATE TABLE tally_pdu (
    pdu               text PRIMARY KEY,
    cases             bigint NOT NULL,
    unallocated       bigint NOT NULL,
    unallocated_mappa bigint NOT NULL,
    unallocated_high  bigint NOT NULL,
    mappa             bigint NOT NULL,
    no_rosh           bigint NOT NULL
);
CREATE TABLE tally_contact (
    pdu     text NOT NULL,
    band    text NOT NULL,
    custody boolean NOT NULL,
    high    boolean NOT NULL,
    since   date NOT NULL,
    n       bigint NOT NULL,
    PRIMARY KEY (pdu, band, custody, high, since)
);
CREATE TABLE tally_oversight (
    pdu     text NOT NULL,
    pending boolean NOT NULL,
    high    boolean NOT NULL,
    since   date NOT NULL,
    n       bigint NOT NULL,
    PRIMARY KEY (pdu, pending, high, since)
);
CREATE TABLE tally_caseload (
    staff_code text NOT NULL,
    tier       text NOT NULL,
    n          bigint NOT NULL,
    high       bigint NOT NULL,
    PRIMARY KEY (staff_code, tier)
);
-- Counts, like the overview every SPO sees of the region.
GRANT SELECT ON tally_pdu, tally_contact, tally_oversight, tally_caseload
    TO casewatch_spo, casewatch_head;

-- Each case's keys in the tallies (`tally_keys` in the SQLite schema), with the sign of its
-- change: +1 for a row that arrived, -1 for one that left.
CREATE FUNCTION casewatch_tally_keys(sign integer, c cases) RETURNS TABLE (
    s integer, pdu text, allocated_to text, tier text, unallocated integer,
    unallocated_mappa integer, unallocated_high integer, mappa integer, no_rosh integer,
    band text, custody boolean, contact_high boolean, contact_since date, pending boolean,
    high_risk boolean, oversight_since date
) LANGUAGE sql IMMUTABLE AS $$
    SELECT sign, c.pdu, c.allocated_to, c.tier,
           (c.allocated_to IS NULL)::int,
           (c.allocated_to IS NULL AND c.mappa_category > 0)::int,
           (c.allocated_to IS NULL AND coalesce(c.rosh, '') IN ('HIGH', 'VERY_HIGH'))::int,
           (c.mappa_category > 0)::int,
           (c.rosh IS NULL)::int,
           CASE WHEN c.rosh = 'VERY_HIGH' OR (c.mappa_category > 0 AND c.mappa_level >= 2) THEN 'vh'
                WHEN c.rosh = 'HIGH' THEN 'h' WHEN c.rosh = 'MEDIUM' THEN 'm'
                WHEN c.rosh = 'LOW' THEN 'l' ELSE 'u' END,
           c.case_type = 'CUSTODY',
           coalesce(c.rosh, '') IN ('HIGH', 'VERY_HIGH') OR c.mappa_level >= 2,
           greatest(c.last_contact, c.allocated_on),
           c.last_oversight IS NULL OR c.last_oversight < c.allocated_on,
           coalesce(c.rosh, '') IN ('HIGH', 'VERY_HIGH') OR c.mappa_category > 0,
           CASE WHEN c.last_oversight IS NULL OR c.last_oversight < c.allocated_on
                THEN c.allocated_on ELSE c.last_oversight END
$$;

-- The statements that add the changes of `src` (a query giving rows of casewatch_tally_keys)
-- to the tallies: one grouped upsert per tally in key order (so that two writers lock tally
-- rows in the same order), then the buckets it emptied dropped. Groups whose changes cancel (a
-- write that moved nothing the tallies count) are skipped. Given as text for the caller to
-- run: only a trigger's own function sees its transition tables.
CREATE FUNCTION casewatch_tally_sql(src text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $f$
    SELECT ARRAY[
        format($q$
        INSERT INTO tally_pdu AS t (pdu, cases, unallocated, unallocated_mappa,
                                     unallocated_high, mappa, no_rosh)
        SELECT pdu, sum(s), sum(s * unallocated), sum(s * unallocated_mappa),
               sum(s * unallocated_high), sum(s * mappa), sum(s * no_rosh)
          FROM (%1$s) k GROUP BY pdu
        HAVING sum(s) <> 0 OR sum(s * unallocated) <> 0 OR sum(s * unallocated_mappa) <> 0
            OR sum(s * unallocated_high) <> 0 OR sum(s * mappa) <> 0 OR sum(s * no_rosh) <> 0
         ORDER BY pdu
        ON CONFLICT (pdu) DO UPDATE SET cases = t.cases + excluded.cases,
           unallocated = t.unallocated + excluded.unallocated,
           unallocated_mappa = t.unallocated_mappa + excluded.unallocated_mappa,
           unallocated_high = t.unallocated_high + excluded.unallocated_high,
           mappa = t.mappa + excluded.mappa, no_rosh = t.no_rosh + excluded.no_rosh
        $q$, src),
        format($q$
        INSERT INTO tally_contact AS t (pdu, band, custody, high, since, n)
        SELECT pdu, band, custody, contact_high, contact_since, sum(s)
          FROM (%1$s) k WHERE allocated_to IS NOT NULL
         GROUP BY 1, 2, 3, 4, 5 HAVING sum(s) <> 0 ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (pdu, band, custody, high, since) DO UPDATE SET n = t.n + excluded.n
        $q$, src),
        format($q$
        INSERT INTO tally_oversight AS t (pdu, pending, high, since, n)
        SELECT pdu, pending, high_risk, oversight_since, sum(s)
          FROM (%1$s) k WHERE allocated_to IS NOT NULL
         GROUP BY 1, 2, 3, 4 HAVING sum(s) <> 0 ORDER BY 1, 2, 3, 4
        ON CONFLICT (pdu, pending, high, since) DO UPDATE SET n = t.n + excluded.n
        $q$, src),
        format($q$
        INSERT INTO tally_caseload AS t (staff_code, tier, n, high)
        SELECT allocated_to, tier, sum(s), sum(s * high_risk::int)
          FROM (%1$s) k WHERE allocated_to IS NOT NULL
         GROUP BY 1, 2 HAVING sum(s) <> 0 OR sum(s * high_risk::int) <> 0 ORDER BY 1, 2
        ON CONFLICT (staff_code, tier) DO UPDATE SET n = t.n + excluded.n,
           high = t.high + excluded.high
        $q$, src),
        -- Only the buckets this change touched can have emptied: a whole-table sweep would
        -- read every bucket of the country on each allocation.
        format($q$
        DELETE FROM tally_contact t
         USING (SELECT DISTINCT pdu, band, custody, contact_high, contact_since
                  FROM (%1$s) k WHERE allocated_to IS NOT NULL) k
         WHERE t.n = 0 AND (t.pdu, t.band, t.custody, t.high, t.since)
                         = (k.pdu, k.band, k.custody, k.contact_high, k.contact_since)
        $q$, src),
        format($q$
        DELETE FROM tally_oversight t
         USING (SELECT DISTINCT pdu, pending, high_risk, oversight_since
                  FROM (%1$s) k WHERE allocated_to IS NOT NULL) k
         WHERE t.n = 0 AND (t.pdu, t.pending, t.high, t.since)
                         = (k.pdu, k.pending, k.high_risk, k.oversight_since)
        $q$, src),
        format($q$
        DELETE FROM tally_caseload t
         USING (SELECT DISTINCT allocated_to, tier FROM (%1$s) k
                 WHERE allocated_to IS NOT NULL) k
         WHERE t.n = 0 AND t.high = 0 AND (t.staff_code, t.tier) = (k.allocated_to, k.tier)
        $q$, src)
    ]
$f$;

CREATE FUNCTION casewatch_tally_cases() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    q text;
BEGIN
    FOREACH q IN ARRAY casewatch_tally_sql(CASE TG_OP
        WHEN 'INSERT' THEN
            'SELECT k.* FROM new_rows r, casewatch_tally_keys(1, r) k'
        WHEN 'DELETE' THEN
            'SELECT k.* FROM old_rows r, casewatch_tally_keys(-1, r) k'
        ELSE
            'SELECT k.* FROM old_rows r, casewatch_tally_keys(-1, r) k
             UNION ALL SELECT k.* FROM new_rows r, casewatch_tally_keys(1, r) k'
    END) LOOP
        EXECUTE q;
    END LOOP;
    RETURN NULL;
END;
$$;
CREATE TRIGGER tally_cases_insert AFTER INSERT ON cases REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_tally_cases();
CREATE TRIGGER tally_cases_update AFTER UPDATE ON cases
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_tally_cases();
CREATE TRIGGER tally_cases_delete AFTER DELETE ON cases REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION casewatch_tally_cases();

-- Every tally counted afresh from the cases: after a load that set the triggers aside
-- (`casewatch copy`), and what a test compares the kept tallies with.
CREATE FUNCTION casewatch_tally_rebuild() RETURNS void LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    q text;
BEGIN
    DELETE FROM tally_pdu;
    DELETE FROM tally_contact;
    DELETE FROM tally_oversight;
    DELETE FROM tally_caseload;
    FOREACH q IN ARRAY casewatch_tally_sql(
        'SELECT k.* FROM cases r, casewatch_tally_keys(1, r) k') LOOP
        EXECUTE q;
    END LOOP;
END;
$$;

-- The tallies of a database copied before this version.
SELECT casewatch_tally_rebuild();
SELECT casewatch_risk_recompute(ARRAY(SELECT DISTINCT crn FROM enquiries
                                       UNION SELECT DISTINCT crn FROM assessments));

-- How far the kept figures are from a recount, read only: for each tally and kept column,
-- how many buckets or cases differ (0 everywhere on a healthy database). `casewatch check`
-- reads it. As the schema's owner, so that it counts every case whoever asks.
CREATE FUNCTION casewatch_kept_drift() RETURNS TABLE (what text, differing bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH k AS (SELECT k.* FROM cases r, casewatch_tally_keys(1, r) k)
    SELECT 'tally_pdu', count(*) FROM (
        (SELECT pdu, cases, unallocated, unallocated_mappa, unallocated_high, mappa, no_rosh
           FROM tally_pdu WHERE cases <> 0
         EXCEPT ALL
         SELECT pdu, count(*), sum(unallocated), sum(unallocated_mappa), sum(unallocated_high),
                sum(mappa), sum(no_rosh) FROM k GROUP BY pdu)
        UNION ALL
        (SELECT pdu, count(*), sum(unallocated), sum(unallocated_mappa), sum(unallocated_high),
                sum(mappa), sum(no_rosh) FROM k GROUP BY pdu
         EXCEPT ALL
         SELECT pdu, cases, unallocated, unallocated_mappa, unallocated_high, mappa, no_rosh
           FROM tally_pdu WHERE cases <> 0)) d
    UNION ALL
    SELECT 'tally_contact', count(*) FROM (
        (SELECT pdu, band, custody, high, since, n FROM tally_contact
         EXCEPT ALL
         SELECT pdu, band, custody, contact_high, contact_since, count(*) FROM k
          WHERE allocated_to IS NOT NULL GROUP BY 1, 2, 3, 4, 5)
        UNION ALL
        (SELECT pdu, band, custody, contact_high, contact_since, count(*) FROM k
          WHERE allocated_to IS NOT NULL GROUP BY 1, 2, 3, 4, 5
         EXCEPT ALL
         SELECT pdu, band, custody, high, since, n FROM tally_contact)) d
    UNION ALL
    SELECT 'tally_oversight', count(*) FROM (
        (SELECT pdu, pending, high, since, n FROM tally_oversight
         EXCEPT ALL
         SELECT pdu, pending, high_risk, oversight_since, count(*) FROM k
          WHERE allocated_to IS NOT NULL GROUP BY 1, 2, 3, 4)
        UNION ALL
        (SELECT pdu, pending, high_risk, oversight_since, count(*) FROM k
          WHERE allocated_to IS NOT NULL GROUP BY 1, 2, 3, 4
         EXCEPT ALL
         SELECT pdu, pending, high, since, n FROM tally_oversight)) d
    UNION ALL
    SELECT 'tally_caseload', count(*) FROM (
        (SELECT staff_code, tier, n, high FROM tally_caseload
         EXCEPT ALL
         SELECT allocated_to, tier, count(*), sum(high_risk::int) FROM k
          WHERE allocated_to IS NOT NULL GROUP BY 1, 2)
        UNION ALL
        (SELECT allocated_to, tier, count(*), sum(high_risk::int) FROM k
          WHERE allocated_to IS NOT NULL GROUP BY 1, 2
         EXCEPT ALL
         SELECT staff_code, tier, n, high FROM tally_caseload)) d
    UNION ALL
    SELECT 'cases.last_contact', count(*) FROM cases c
     WHERE c.last_contact IS DISTINCT FROM (SELECT max(date) FROM contacts x WHERE x.crn = c.crn)
    UNION ALL
    SELECT 'cases.last_oversight', count(*) FROM cases c
     WHERE c.last_oversight IS DISTINCT FROM
           (SELECT max(date) FROM oversight x WHERE x.crn = c.crn)
$$;

-- The maintenance functions run as the owner: not for every login to call.
REVOKE EXECUTE ON FUNCTION casewatch_tally_rebuild(), casewatch_risk_recompute(text[]),
    casewatch_kept_drift() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION casewatch_kept_drift() TO casewatch_head;

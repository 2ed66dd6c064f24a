-- casewatch on PostgreSQL, version 8: the tallies of a first load counted by casewatch.
--
-- A first import of cases into an empty table (the schema owner's bulk path) counts the
-- tallies itself as it reads the rows, as the SQLite file's bulk import does, and loads the
-- buckets by COPY: 1.5 s less at 1,000,000 cases than counting them again from the table.
-- These two functions are the before and after of such a load (and of a rebuild): the
-- tallies emptied and their keys set aside, then the keys made again over what was loaded.
CREATE FUNCTION casewatch_tally_clear() RETURNS void LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    DELETE FROM tally_pdu;
    DELETE FROM tally_contact;
    DELETE FROM tally_oversight;
    DELETE FROM tally_caseload;
    ALTER TABLE tally_contact DROP CONSTRAINT tally_contact_pkey;
    ALTER TABLE tally_oversight DROP CONSTRAINT tally_oversight_pkey;
    ALTER TABLE tally_caseload DROP CONSTRAINT tally_caseload_pkey;
END;
$$;

CREATE FUNCTION casewatch_tally_keys_again() RETURNS void LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp
    SET maintenance_work_mem = '256MB' AS $$
BEGIN
    ALTER TABLE tally_contact ADD CONSTRAINT tally_contact_pkey
        PRIMARY KEY (pdu, band, custody, high, since);
    ALTER TABLE tally_oversight ADD CONSTRAINT tally_oversight_pkey
        PRIMARY KEY (pdu, pending, high, since);
    ALTER TABLE tally_caseload ADD CONSTRAINT tally_caseload_pkey PRIMARY KEY (staff_code, tier);
END;
$$;

CREATE OR REPLACE FUNCTION casewatch_tally_rebuild() RETURNS void LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp
    SET work_mem = '256MB' SET maintenance_work_mem = '256MB' AS $$
BEGIN
    PERFORM casewatch_tally_clear();
    INSERT INTO tally_pdu (pdu, cases, unallocated, unallocated_mappa, unallocated_high,
                           mappa, no_rosh)
    SELECT k.pdu, sum(k.s), sum(k.unallocated), sum(k.unallocated_mappa),
           sum(k.unallocated_high), sum(k.mappa), sum(k.no_rosh)
      FROM cases r, casewatch_tally_keys(1, r) k GROUP BY k.pdu;
    INSERT INTO tally_contact (pdu, band, custody, high, since, n)
    SELECT k.pdu, k.band, k.custody, k.contact_high, k.contact_since, sum(k.s)
      FROM cases r, casewatch_tally_keys(1, r) k WHERE k.allocated_to IS NOT NULL
     GROUP BY 1, 2, 3, 4, 5;
    INSERT INTO tally_oversight (pdu, pending, high, since, n)
    SELECT k.pdu, k.pending, k.high_risk, k.oversight_since, sum(k.s)
      FROM cases r, casewatch_tally_keys(1, r) k WHERE k.allocated_to IS NOT NULL
     GROUP BY 1, 2, 3, 4;
    INSERT INTO tally_caseload (staff_code, tier, n, high)
    SELECT k.allocated_to, k.tier, sum(k.s), sum(k.s * k.high_risk::int)
      FROM cases r, casewatch_tally_keys(1, r) k WHERE k.allocated_to IS NOT NULL
     GROUP BY 1, 2;
    PERFORM casewatch_tally_keys_again();
END;
$$;

REVOKE EXECUTE ON FUNCTION casewatch_tally_clear(), casewatch_tally_keys_again() FROM PUBLIC;

-- casewatch on PostgreSQL, version 6: the tallies counted afresh in a third of the time.
--
-- Version 4's rebuild fed every case through the incremental upserts the triggers use
-- (ON CONFLICT into the primary keys, then a sweep for emptied buckets): at 1,000,000 cases
-- that took 8 s, the largest part of a first load. A rebuild starts from empty tallies, so
-- each is one grouped INSERT into a table without its key, and the key is made once over
-- the result (a sort, not a million probes). The tallies are locked until the commit; it is
-- run only by a load that has the cases to itself (`casewatch copy`, a first import).
--
-- The tallies' codes compare byte by byte (COLLATE "C"): they are codes, not words, and the
-- key of half a million caseload buckets sorts in two thirds of the time. Codes are ASCII,
-- so their order is unchanged.
ALTER TABLE tally_pdu ALTER COLUMN pdu TYPE text COLLATE "C";
ALTER TABLE tally_contact ALTER COLUMN pdu TYPE text COLLATE "C",
                          ALTER COLUMN band TYPE text COLLATE "C";
ALTER TABLE tally_oversight ALTER COLUMN pdu TYPE text COLLATE "C";
ALTER TABLE tally_caseload ALTER COLUMN staff_code TYPE text COLLATE "C",
                           ALTER COLUMN tier TYPE text COLLATE "C";

CREATE OR REPLACE FUNCTION casewatch_tally_rebuild() RETURNS void LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp
    SET work_mem = '256MB' SET maintenance_work_mem = '256MB' AS $$
BEGIN
    DELETE FROM tally_pdu;
    DELETE FROM tally_contact;
    DELETE FROM tally_oversight;
    DELETE FROM tally_caseload;
    ALTER TABLE tally_contact DROP CONSTRAINT tally_contact_pkey;
    ALTER TABLE tally_oversight DROP CONSTRAINT tally_oversight_pkey;
    ALTER TABLE tally_caseload DROP CONSTRAINT tally_caseload_pkey;
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
    ALTER TABLE tally_contact ADD CONSTRAINT tally_contact_pkey
        PRIMARY KEY (pdu, band, custody, high, since);
    ALTER TABLE tally_oversight ADD CONSTRAINT tally_oversight_pkey
        PRIMARY KEY (pdu, pending, high, since);
    ALTER TABLE tally_caseload ADD CONSTRAINT tally_caseload_pkey PRIMARY KEY (staff_code, tier);
END;
$$;

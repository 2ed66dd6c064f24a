-- casewatch on PostgreSQL, version 7: undo.
--
-- An undo removes what the undone action added: its allocation history row, its note, or
-- its oversight record. Logins have no DELETE on those tables (a record is not for removing
-- by hand). This function removes one such row: only the row that the login's own audit
-- entry says its action added, on a case the login may see. The undo's own audit entry,
-- written in the same transaction, keeps what was removed.
CREATE FUNCTION casewatch_undo_added(what text, row_id bigint, entry bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    a audit;
    field text := CASE what WHEN 'allocations' THEN 'history_id'
                            WHEN 'notes' THEN 'note_id'
                            WHEN 'oversight' THEN 'oversight_id' END;
BEGIN
    SELECT * INTO a FROM audit WHERE id = entry;
    IF field IS NULL OR a.id IS NULL OR a.db_user <> session_user
       OR (a.after::jsonb ->> field)::bigint IS DISTINCT FROM row_id
       OR NOT EXISTS (SELECT 1 FROM cases c WHERE c.crn = a.crn
                         AND (casewatch_may_see(c.pdu)
                              OR pg_has_role(session_user,
                                             (SELECT relowner FROM pg_class
                                               WHERE oid = 'cases'::regclass), 'member'))) THEN
        RAISE EXCEPTION 'only a row added by this login''s own action, on a case it may see, can be removed by an undo'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    EXECUTE format('DELETE FROM %I WHERE id = $1 AND crn = $2', what) USING row_id, a.crn;
END;
$$;
REVOKE EXECUTE ON FUNCTION casewatch_undo_added(text, bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION casewatch_undo_added(text, bigint, bigint)
    TO casewatch_spo, casewatch_head;

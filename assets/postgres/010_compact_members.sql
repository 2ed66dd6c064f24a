-- casewatch on PostgreSQL, version 10: a recorded run's members without their messages.
--
-- From this version casewatch stores each member of an incident as
-- [who, first_seen, status, metrics]. The message was the rule's template filled from the
-- metrics beside it, and is filled again when read: at a million cases it was 45% of the
-- text a night wrote. Runs recorded before keep [who, first_seen, status, message, metrics],
-- and both are read. Nothing is rewritten: the new version keeps an older casewatch, which
-- reads only the earlier form, from opening the database.

COMMENT ON COLUMN run_incidents.members IS
    'JSON: [[who, first_seen, status, metrics], ...]; runs recorded before version 10: [[who, first_seen, status, message, metrics], ...]. who is the CRN, the staff code or -';

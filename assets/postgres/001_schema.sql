-- casewatch on PostgreSQL, version 1: the case data, the triage writes and the audit trail.
-- The same tables as the SQLite schema (src/store/schema.rs), with PostgreSQL's types.
-- Applied by `casewatch pg-init URL` in one transaction; `casewatch_schema` records it.

CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE pdus (
    code         text PRIMARY KEY,
    name         text NOT NULL,
    region       text NOT NULL,
    ppf_status   text CHECK (ppf_status IN ('red', 'amber', 'green')),
    rating       text CHECK (rating IN ('inadequate', 'requires_improvement', 'good', 'outstanding')),
    score        integer,
    score_max    integer,
    inspected_on date
);

CREATE TABLE teams (
    code text PRIMARY KEY,
    pdu  text NOT NULL REFERENCES pdus(code),
    name text NOT NULL
);

CREATE TABLE practitioners (
    staff_code       text PRIMARY KEY,
    name             text NOT NULL,
    grade            text NOT NULL CHECK (grade IN ('SPO', 'PO', 'PSO', 'PQiP', 'NQO')),
    pdu              text NOT NULL REFERENCES pdus(code),
    team             text,
    contracted_hours double precision NOT NULL CHECK (contracted_hours >= 0),
    start_date       date NOT NULL,
    status           text NOT NULL CHECK (status IN ('in_post', 'long_term_sick', 'detached_in', 'left'))
);
CREATE INDEX practitioners_pdu ON practitioners(pdu);

CREATE TABLE establishment (
    pdu        text NOT NULL REFERENCES pdus(code),
    grade      text NOT NULL CHECK (grade IN ('SPO', 'PO', 'PSO', 'PQiP', 'NQO')),
    target_fte double precision NOT NULL CHECK (target_fte >= 0),
    PRIMARY KEY (pdu, grade)
);

CREATE TABLE cases (
    crn                  text PRIMARY KEY,
    name                 text NOT NULL,
    pdu                  text NOT NULL REFERENCES pdus(code),
    team                 text,
    tier                 text NOT NULL,
    rosh                 text CHECK (rosh IN ('LOW', 'MEDIUM', 'HIGH', 'VERY_HIGH')),
    mappa_category       integer NOT NULL DEFAULT 0 CHECK (mappa_category BETWEEN 0 AND 4),
    mappa_level          integer NOT NULL DEFAULT 0 CHECK (mappa_level BETWEEN 0 AND 3),
    case_type            text NOT NULL CHECK (case_type IN ('COMMUNITY', 'LICENCE', 'CUSTODY')),
    sentence_date        date NOT NULL,
    release_date         date,
    custody_kind         text CHECK (custody_kind IN ('standard', 'parole_eligible', 'indeterminate')),
    allocated_to         text REFERENCES practitioners(staff_code),
    allocated_on         date,
    unallocated_since    date,
    last_contact         date,
    last_oversight       date,
    rosh_changed_on      date,
    CHECK ((allocated_to IS NULL) = (allocated_on IS NULL))
);
CREATE INDEX cases_pdu ON cases(pdu, crn);
CREATE INDEX cases_unallocated ON cases(pdu, unallocated_since) WHERE allocated_to IS NULL;
CREATE INDEX cases_allocated_to ON cases(allocated_to) WHERE allocated_to IS NOT NULL;

CREATE TABLE contacts (
    id         bigserial PRIMARY KEY,
    crn        text NOT NULL REFERENCES cases(crn),
    date       date NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('face_to_face', 'telephone', 'video', 'home_visit')),
    staff_code text
);
CREATE INDEX contacts_crn ON contacts(crn, date);

CREATE TABLE oversight (
    id             bigserial PRIMARY KEY,
    crn            text NOT NULL REFERENCES cases(crn),
    date           date NOT NULL,
    spo_staff_code text NOT NULL,
    kind           text NOT NULL,
    note           text NOT NULL DEFAULT '',
    sensitive      boolean NOT NULL DEFAULT false
);
CREATE INDEX oversight_crn ON oversight(crn, date);

CREATE TABLE allocations (
    id         bigserial PRIMARY KEY,
    crn        text NOT NULL REFERENCES cases(crn),
    staff_code text NOT NULL,
    from_date  date NOT NULL,
    to_date    date NOT NULL,
    reason     text NOT NULL
);
CREATE INDEX allocations_crn ON allocations(crn, from_date);

CREATE TABLE enquiries (
    id           bigserial PRIMARY KEY,
    crn          text NOT NULL REFERENCES cases(crn),
    kind         text NOT NULL CHECK (kind IN ('domestic_abuse', 'child_safeguarding')),
    requested_on date NOT NULL,
    returned_on  date,
    outcome      text CHECK (outcome IN ('no_concerns', 'concerns', 'no_record')),
    CHECK ((returned_on IS NULL) = (outcome IS NULL)),
    CHECK (returned_on IS NULL OR returned_on >= requested_on),
    UNIQUE (crn, kind, requested_on)
);

CREATE TABLE assessments (
    id           bigserial PRIMARY KEY,
    crn          text NOT NULL REFERENCES cases(crn),
    kind         text NOT NULL CHECK (kind IN ('initial', 'review', 'pre_release')),
    completed_on date NOT NULL,
    rosh         text NOT NULL CHECK (rosh IN ('LOW', 'MEDIUM', 'HIGH', 'VERY_HIGH')),
    UNIQUE (crn, kind, completed_on)
);

CREATE TABLE notes (
    id        bigserial PRIMARY KEY,
    crn       text NOT NULL REFERENCES cases(crn),
    at        timestamptz NOT NULL DEFAULT now(),
    author    text NOT NULL,
    text      text NOT NULL,
    sensitive boolean NOT NULL DEFAULT false
);
CREATE INDEX notes_crn ON notes(crn, id);

-- The audit trail: who did what, the database user included (a shared server has many).
CREATE TABLE audit (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    db_user text NOT NULL DEFAULT current_user,
    actor   text NOT NULL,
    action  text NOT NULL,
    crn     text,
    subject text,
    before  text,
    after   text,
    reason  text
);
CREATE INDEX audit_crn ON audit(crn, id);
CREATE INDEX audit_at ON audit(at);

-- Append-only for every client, the schema's owner included (the roles below also lack
-- UPDATE and DELETE on it); and the database user is the session's, whatever is sent.
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: rows cannot be changed or deleted';
END;
$$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE FUNCTION audit_db_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.db_user := session_user;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_db_user BEFORE INSERT ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_db_user();

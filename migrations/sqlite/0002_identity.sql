-- Eligibility, accounts, passkeys and sessions (issue #4). No plain personal
-- data: roll records hold only Argon2id document keys (pepper as secret).

CREATE TABLE roll_records (
    jurisdiction  TEXT    NOT NULL,
    record_id     TEXT    NOT NULL,
    document_key  BLOB    NOT NULL CHECK (length(document_key) = 32),
    district      TEXT,
    version       INTEGER NOT NULL,
    retired       INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1)),
    claimed_by    BLOB,
    PRIMARY KEY (jurisdiction, record_id)
);
CREATE UNIQUE INDEX roll_records_by_key ON roll_records (jurisdiction, document_key);
CREATE UNIQUE INDEX roll_records_claimed ON roll_records (claimed_by) WHERE claimed_by IS NOT NULL;

CREATE TABLE roll_versions (
    jurisdiction TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    records      INTEGER NOT NULL,
    commitment   BLOB    NOT NULL,
    log_index    INTEGER NOT NULL,
    created_ms   INTEGER NOT NULL,
    PRIMARY KEY (jurisdiction, version)
);

CREATE TABLE enrolment_codes (
    id           TEXT    PRIMARY KEY,
    jurisdiction TEXT    NOT NULL,
    record_id    TEXT    NOT NULL,
    secret_hash  TEXT    NOT NULL,
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL,
    used_ms      INTEGER
);

-- Citizens and staff. A citizen account is bound to one roll record.
CREATE TABLE accounts (
    id           BLOB    PRIMARY KEY CHECK (length(id) = 16),
    kind         TEXT    NOT NULL CHECK (kind IN ('citizen', 'staff')),
    jurisdiction TEXT,
    record_id    TEXT,
    role         TEXT,
    pseudonym    TEXT    NOT NULL UNIQUE,
    created_ms   INTEGER NOT NULL,
    disabled_ms  INTEGER
);
CREATE UNIQUE INDEX accounts_by_record ON accounts (jurisdiction, record_id) WHERE record_id IS NOT NULL;

CREATE TABLE credentials (
    id           BLOB    PRIMARY KEY,
    account_id   BLOB    NOT NULL REFERENCES accounts (id),
    credential   TEXT    NOT NULL,
    sign_count   INTEGER NOT NULL,
    label        TEXT    NOT NULL,
    created_ms   INTEGER NOT NULL,
    last_used_ms INTEGER,
    revoked_ms   INTEGER
);
CREATE INDEX credentials_by_account ON credentials (account_id);

-- WebAuthn ceremonies in progress: deleted on use, refused after expiry.
CREATE TABLE ceremonies (
    id         TEXT    PRIMARY KEY,
    kind       TEXT    NOT NULL,
    state      BLOB    NOT NULL,
    context    TEXT    NOT NULL,
    expires_ms INTEGER NOT NULL
);

-- Sessions are looked up by the BLAKE3 hash of the cookie's secret.
CREATE TABLE sessions (
    id_hash      BLOB    PRIMARY KEY CHECK (length(id_hash) = 32),
    account_id   BLOB    NOT NULL REFERENCES accounts (id),
    csrf_token   TEXT    NOT NULL,
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL
);

CREATE TABLE staff_invites (
    id           TEXT    PRIMARY KEY,
    secret_hash  TEXT    NOT NULL,
    role         TEXT    NOT NULL,
    jurisdiction TEXT,
    invited_by   BLOB,
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL,
    used_ms      INTEGER
);

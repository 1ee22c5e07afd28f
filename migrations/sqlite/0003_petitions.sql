-- Petition texts and attachments (content-addressed by BLAKE3; the log holds
-- only the hashes, so a text a moderator must withhold can be withheld), and
-- the raw passkey assertions behind signatures (the log holds their BLAKE3
-- commitments; the eligibility audit export carries these rows).
CREATE TABLE petition_contents (
    hash        BLOB    PRIMARY KEY CHECK (length(hash) = 32),
    title       TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    attachments TEXT    NOT NULL,
    created_ms  INTEGER NOT NULL
);

CREATE TABLE attachments (
    hash       BLOB    PRIMARY KEY CHECK (length(hash) = 32),
    media_type TEXT    NOT NULL,
    data       BLOB    NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE TABLE signature_evidence (
    commitment    BLOB    PRIMARY KEY CHECK (length(commitment) = 32),
    petition      INTEGER NOT NULL,
    nonce         BLOB    NOT NULL CHECK (length(nonce) = 32),
    credential_id BLOB    NOT NULL,
    evidence      BLOB    NOT NULL,
    created_ms    INTEGER NOT NULL
);
CREATE INDEX signature_evidence_by_petition ON signature_evidence (petition);

-- Several server nodes on one PostgreSQL (specs/architecture.md, "Several
-- nodes"). One node is the sequencer: it holds a session advisory lock and
-- the epoch below; the others hand their appends over through
-- pending_appends and read the answer from append_outcomes.

-- The sequencer's epoch: bumped by every node that becomes the sequencer,
-- and checked (FOR SHARE) by every batch transaction, so a sequencer that
-- has lost its lock can never commit again (fencing).
CREATE TABLE log_leader (
    id       SMALLINT PRIMARY KEY CHECK (id = 1),
    epoch    BIGINT   NOT NULL,
    node     TEXT     NOT NULL,
    since_ms BIGINT   NOT NULL
);
INSERT INTO log_leader (id, epoch, node, since_ms) VALUES (1, 0, '', 0);

-- Appends a follower has taken and not yet seen answered. The sequencer
-- deletes a row in the batch transaction that integrates (or refuses) it,
-- and writes its outcome there too; a follower that gives up deletes the row
-- itself, so exactly one of the two happens.
CREATE TABLE pending_appends (
    seq            BIGSERIAL PRIMARY KEY,
    entries        BYTEA[]   NOT NULL,
    checkpoint     BOOLEAN   NOT NULL,
    -- The passkey use that commits with the entries (all three or none).
    credential_id  BYTEA,
    sign_count     BIGINT,
    used_ms        BIGINT,
    -- The signature evidence that commits with the entries (all or none).
    ev_commitment  BYTEA,
    ev_petition    BIGINT,
    ev_nonce       BYTEA,
    ev_credential  BYTEA,
    ev_evidence    BYTEA,
    ev_created_ms  BIGINT,
    node           TEXT      NOT NULL,
    created_ms     BIGINT    NOT NULL
);

-- The one answer to each handed-over append: where its entries went, or the
-- rule that refused it. Read (and deleted) by the follower that waits.
CREATE TABLE append_outcomes (
    seq             BIGINT  PRIMARY KEY,
    first_index     BIGINT,
    follow_ups      BIGINT[] NOT NULL DEFAULT '{}',
    checkpoint_size BIGINT,
    refusal_code    TEXT,
    refusal_message TEXT,
    created_ms      BIGINT  NOT NULL,
    CHECK ((first_index IS NULL) <> (refusal_code IS NULL))
);
CREATE INDEX append_outcomes_created ON append_outcomes (created_ms);

-- The append-only log: entries, hash tiles, tree state and signed checkpoints.
-- One row of log_state holds the committed tree; every batch updates it in the
-- same transaction as the entries and tiles it adds, so a crash leaves either
-- the whole batch or none of it.
CREATE TABLE log_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE log_state (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT  NOT NULL CHECK (size >= 0),
    root BYTEA   NOT NULL CHECK (length(root) = 32)
);
INSERT INTO log_state (id, size, root)
VALUES (1, 0, '\xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'::bytea);

CREATE TABLE log_entries (
    idx  BIGINT PRIMARY KEY CHECK (idx >= 0),
    kind INTEGER NOT NULL,
    data BYTEA  NOT NULL
);
CREATE INDEX log_entries_by_kind ON log_entries (kind, idx);

-- Hash tiles (C2SP tlog-tiles, height 8). The rightmost tile of each level is
-- partial and is overwritten as it grows; a full tile (8192 bytes) never changes.
CREATE TABLE log_tiles (
    level SMALLINT NOT NULL CHECK (level >= 0 AND level < 64),
    idx   BIGINT   NOT NULL CHECK (idx >= 0),
    data  BYTEA    NOT NULL CHECK (length(data) > 0 AND length(data) <= 8192 AND length(data) % 32 = 0),
    PRIMARY KEY (level, idx)
);

CREATE TABLE log_checkpoints (
    size       BIGINT PRIMARY KEY CHECK (size >= 0),
    root       BYTEA  NOT NULL CHECK (length(root) = 32),
    note       TEXT   NOT NULL,
    created_ms BIGINT NOT NULL
);

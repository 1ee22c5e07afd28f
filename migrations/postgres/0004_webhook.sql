-- Delivery of threshold-reached petitions to legislatures' systems by a
-- signed webhook (specs/webhook.md). The outbox is the log itself: a
-- petition is due while it has a threshold_reached entry and no
-- petition_delivered entry. These tables hold only where to deliver and the
-- bookkeeping of attempts (back-off, the last failure).

CREATE TABLE webhook_endpoints (
    jurisdiction TEXT   PRIMARY KEY,
    url          TEXT   NOT NULL,
    updated_ms   BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    petition        BIGINT  PRIMARY KEY,
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_ms BIGINT  NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    updated_ms      BIGINT  NOT NULL
);
CREATE INDEX webhook_deliveries_next ON webhook_deliveries (next_attempt_ms);

-- Several server nodes share one database only on PostgreSQL
-- (migrations/postgres/0005_cluster.sql: the sequencer's epoch, handed-over
-- appends and their outcomes). An embedded SQLite database has one server
-- process, which is always its sequencer, so it needs none of these tables;
-- this migration keeps the two backends' numbering aligned.
SELECT 1;

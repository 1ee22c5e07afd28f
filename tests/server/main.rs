//! Black-box tests: the real `veche` binary on a random port, spoken to over
//! HTTP, on SQLite and (when `VECHE_TEST_DATABASE_URL` is set) PostgreSQL.

mod common;
mod crash;
mod demo;
mod failover;
mod go_interop;
mod identity;
mod log_api;
mod mirror;
mod openapi;
mod ops;
mod pb_rounds;
mod petitions;
mod polls;
mod restore;
mod verify;
mod webhook;
mod witness;

/// Declares `<name>_sqlite` and `<name>_postgres` tests running one body.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            #[test]
            fn sqlite() {
                if let Some(db) =
                    $crate::common::TestDb::new($crate::common::Backend::Sqlite, stringify!($name))
                {
                    $body(db);
                }
            }
            #[test]
            fn postgres() {
                if let Some(db) = $crate::common::TestDb::new(
                    $crate::common::Backend::Postgres,
                    stringify!($name),
                ) {
                    $body(db);
                }
            }
        }
    };
}

//! Storage tests of the drivers: schema lifecycle, the append-only ledger, sequence numbers.
//! Every test runs on SQLite and, when `HOC_TEST_DATABASE_URL` is set, on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chain;
mod schema;
mod sequences;

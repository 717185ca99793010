//! The one integration test binary: every test starts the real service on a
//! random port over a temporary SQLite file — and, where
//! `JIEJING_TEST_PG_URL` is set, again over its own PostgreSQL schema — and
//! talks to it over HTTP.

mod helpers;
mod service;

//! The one integration test binary: every service test starts the real
//! service on a random port over a temporary SQLite file — and, where
//! `JIEJING_TEST_PG_URL` is set, again over its own PostgreSQL schema — and
//! talks to it over HTTP. The triage tests run the real binary and engine.

mod abuse;
mod client;
mod console;
mod contract;
mod exchange;
mod faults;
mod helpers;
mod history;
mod instances;
mod lead;
mod lead_console;
mod learning;
mod places;
mod service;
mod triage;

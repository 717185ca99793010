//! jiejing (接警): the incident service, triage engine and call-taker console
//! for 110 police emergency centres.
//!
//! Layers, each depending only on those above it:
//! - [`model`]: domain types and the incident lifecycle, pure.
//! - [`triage`]: narrative → suggested category, agency, priority, with reasons; pure.
//! - [`api`]: the wire shapes of `/api/v1` beyond the domain types, shared by
//!   `server` and `client`.
//! - [`store`]: durable storage on SQLite or PostgreSQL behind one trait.
//! - [`server`]: the REST API and live event stream over the store.
//! - [`client`]: the typed HTTP client and reconnecting event feed (console, simulator).
//! - [`sim`]: the simulated channel gateways.
//! - [`console`]: the egui desktop console, over `client` only.
//!
//! See ARCHITECTURE.md for the data flow of one call and the invariants.

pub mod api;
pub mod client;
pub mod console;
pub mod model;
pub mod server;
pub mod sim;
pub mod store;
pub mod triage;

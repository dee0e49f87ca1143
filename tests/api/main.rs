//! Integration tests through HTTP against a real server and a real database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod agencies;
mod auth;
mod cases;
mod cli;
mod conformance;
mod court_transfer;
mod deadlines;
mod diagrams;
mod history;
mod idempotency;
mod input;
mod listing;
mod migrations;
mod openapi;
mod reports;
mod scenarios;
mod visibility;

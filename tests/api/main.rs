//! Integration tests through HTTP against a real server and a real database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod agencies;
mod auth;
mod cases;
mod cli;
mod conformance;
mod console;
mod console_views;
mod conventions;
mod court_transfer;
mod deadlines;
mod diagrams;
mod documents;
mod faults;
mod history;
mod idempotency;
mod input;
mod listing;
mod logs;
mod migrations;
mod openapi;
mod operations;
mod personal_data;
mod published;
mod renamed;
mod reports;
mod scenarios;
mod search;
mod storage;
mod versions;
mod visibility;
mod writes;

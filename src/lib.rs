//! lienganh: the interagency workflow engine and REST service of Vietnamese civil judgment
//! enforcement (thi hành án dân sự).
//!
//! Data flows one way: HTTP (`api`) -> use cases (`service`) -> pure engine (`workflow`) and
//! store (`db`); effects decided by the engine are written with the step and carried out
//! after commit.

pub mod api;
pub mod auth;
pub mod backup;
pub mod calendar;
pub mod config;
pub mod db;
pub mod demo;
pub mod diagram;
pub mod domain;
pub mod error;
pub mod history;
pub mod metrics;
pub mod reminders;
pub mod server;
pub mod service;
pub mod telemetry;
pub mod web;
pub mod workflow;

//! lienganh: the interagency workflow engine and REST service of Vietnamese civil judgment
//! enforcement (thi hành án dân sự).
//!
//! Data flows one way: HTTP (`api`) -> use cases (`service`) -> pure engine (`workflow`) and
//! store (`db`); effects decided by the engine are written with the step and carried out
//! after commit.

pub mod cli;
pub mod config;
pub mod domain;
pub mod engine;
pub mod error;
pub mod http;
pub mod jobs;
pub mod service;
pub mod store;

//! lienganh: the interagency workflow engine and REST service of Vietnamese civil judgment
//! enforcement (thi hành án dân sự).
//!
//! A step goes one way (see ARCHITECTURE.md): HTTP (`http`) -> use cases (`service`) -> the
//! pure engine (`engine`), which decides the whole step as a plan -> the store (`store`), which
//! records it in one transaction -> background work after commit (`jobs`).

pub mod cli;
pub mod config;
pub mod domain;
pub mod engine;
pub mod error;
pub mod http;
pub mod jobs;
pub mod service;
pub mod store;

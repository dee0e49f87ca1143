//! Workflow definitions (read from TOML) and the pure engine that runs them.

pub mod data;
pub mod definition;
pub mod engine;
pub mod loader;
pub mod registry;

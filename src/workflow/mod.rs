//! Workflow definitions (read from TOML) and the pure engine that runs them.

pub mod data;
pub mod definition;
pub mod engine;
pub mod loader;
pub mod registry;

use std::sync::Arc;

use crate::calendar::Calendar;
use registry::Registry;

/// What a step is judged by: the workflow definitions and the legal calendar.
#[derive(Debug, Clone)]
pub struct Rules {
    pub registry: Arc<Registry>,
    pub calendar: Arc<Calendar>,
}

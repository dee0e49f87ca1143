//! The engine: workflow definitions (read from TOML and checked once, at start), the legal
//! calendar, the hash chain of the history, and the pure decisions of a step. A step does no
//! I/O: what it does is decided as a value, a plan, and the store records it.

pub mod calendar;
pub mod checks;
pub mod data;
pub mod deadlines;
pub mod definition;
pub mod diagram;
pub mod documents;
pub mod history;
pub mod loader;
pub mod meaning;
pub mod migrate;
pub mod plan;
pub mod registry;
pub mod search;
pub mod start;
pub mod step;

use std::sync::Arc;

use calendar::Calendar;
use registry::Registry;

/// What a step is judged by: the workflow definitions and the legal calendar.
#[derive(Debug, Clone)]
pub struct Rules {
    pub registry: Arc<Registry>,
    pub calendar: Arc<Calendar>,
}

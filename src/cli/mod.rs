//! What the command line does beyond serving: backups and the demo data.

pub mod backup;
pub mod demo;
pub mod moves;

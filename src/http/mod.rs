//! The edges a person or a system reaches over HTTP: the REST API (`api`), the web console
//! (`console`), the identity they act with (`auth`, an identity provider's keys in `jwks`),
//! and the server that runs them with its logs and metrics.

pub mod api;
pub mod auth;
pub mod console;
pub mod jwks;
pub mod metrics;
pub mod server;
pub mod telemetry;

//! Hookline's shared crate: the domain (plain Rust, no AWS types) and the
//! AWS adapters every function links.

pub mod api_key;
pub mod aws;
pub mod config;
pub mod crypto;
pub mod delivery;
pub mod endpoint;
pub mod error;
pub mod event;
pub mod event_batch;
pub mod event_log;
pub mod event_type;
pub mod hops;
pub mod ids;
pub mod inbound;
pub mod inbound_auth;
pub mod metrics;
pub mod ops;
pub mod outbound;
pub mod packed;
pub mod page;
pub mod redact;
pub mod retry;
pub mod signature;
pub mod source;
pub mod ssrf;

/// `User-Agent` and `/health` version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

//! The `admin-api` function: endpoints, event types and API keys over the
//! HTTP API, and the admin console at `/console`. `handle` is what both the
//! Lambda and `hookline dev` call.

pub mod auth;
pub mod console;
pub mod http;
pub mod openapi;
pub mod routes;
pub mod state;

pub use routes::handle;
pub use state::AppState;

//! The `hookline` command line: `hookline dev` runs the platform locally.

pub mod cli;
pub mod dev;

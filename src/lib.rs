//! The I/O side of stackhook: the command line, file loading and output. Decisions come
//! from `stackhook-core`; this crate reads, calls and prints.

pub mod certs;
pub mod cli;
pub mod cluster;
pub mod controller;
pub mod load;
pub mod logging;
pub mod output;
pub mod project;
pub mod server;

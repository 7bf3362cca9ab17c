//! Integration tests of the `stackhook` binary, one test binary with a module per topic
//! (one link instead of many).

// Test code panics on purpose when something is off.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod support;

mod catalog;
mod chart;
mod cluster;
mod convert;
mod crds;
mod dataos;
mod dataos_repos;
mod dataos_users;
mod e2e;
mod hostile;
mod pods;
mod project;
mod review;
mod serve;
mod template;
mod validate;

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
mod diff;
mod e2e;
mod enforcement;
mod hostile;
mod pods;
mod project;
mod readme;
mod review;
mod serve;
mod suites;
mod template;
mod validate;

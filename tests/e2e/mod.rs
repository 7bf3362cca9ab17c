//! End-to-end tests against a real Kubernetes control plane (`scripts/control-plane.sh`):
//! stackhook installed by `helm install`, driven by `kubectl` and Pod creation. See
//! `harness` for how the control plane is found and stackhook installed once.

mod admission;
mod controller;
mod diff;
mod dry_run;
mod enforcement;
mod escaped;
mod harness;
mod pods;
mod rbac;
mod replicas;
mod restart;
mod tenant;

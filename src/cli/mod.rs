//! The command line: one subcommand per job, each a small module that parses its
//! arguments, calls the core, and prints.

mod certs;
mod controller;
mod convert;
mod crds;
mod diff;
mod engine;
mod mutate;
mod outcome;
mod project;
mod render;
mod review;
mod serve;
mod suite;
mod template;
mod unified;
mod validate;
pub mod wiring;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code: the input is unusable (unreadable, unparseable, a bad flag).
pub const EXIT_UNUSABLE: u8 = 2;

/// Admission webhook, controller and CLI for DataOS-style Stacks on Kubernetes.
#[derive(Debug, Parser)]
#[command(name = "stackhook", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the five CustomResourceDefinitions (Stack, Depot, Worker, Service,
    /// Workflow) as YAML.
    Crds,
    /// Convert DataOS-native manifests (`type: stack|depot|worker|service|workflow`) to
    /// stackhook CRD form, and `instance-secret`/`secret` to Kubernetes Secrets. Other
    /// DataOS types pass through unchanged with a warning naming them; other documents
    /// pass through unchanged.
    Convert {
        /// Files or directories (searched recursively for *.yaml, *.yml, *.json); `-`
        /// reads stdin. Default: stdin.
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Project mounted depot Secrets into files (propFile, envVars, dotenv, json, yaml):
    /// the webhook's `stackhook-project` init container and refresh sidecar.
    Project(project::ProjectArgs),
    /// Render one Go template with the Stack function set (Helm/Sprig and DataOS), for
    /// Stack authors; output to stdout byte for byte, errors as Go writes them.
    Template(template::TemplateArgs),
    /// Validate Stacks, Depots and workloads offline, with the webhook's rules:
    /// `FILE:LINE:COL` for every problem; exit 0 valid, 1 invalid, 2 unusable input.
    Validate(validate::ValidateArgs),
    /// Run one AdmissionReview (JSON or YAML) through the webhook's code and print the
    /// response (exit 0 allowed, warnings included; 1 denied; 2 unreadable).
    Review(review::ReviewArgs),
    /// Show what a Pod, or the pods of a Deployment/StatefulSet/DaemonSet/ReplicaSet/
    /// Job/CronJob, become at admission: the object given with its pod mutated, as
    /// YAML, or `--patch` the JSON patch relative to that object.
    Mutate(mutate::MutateArgs),
    /// Print every object the controller would apply for each workload: its ConfigMap
    /// and its orchestration objects (Deployment, Service, Ingress, Job, CronJob, or the
    /// Stack's resourceTemplate).
    Render(render::RenderArgs),
    /// Write a CA and a serving certificate for the webhook Service
    /// (ca.crt, tls.crt, tls.key).
    Certs(certs::CertsArgs),
    /// Serve the admission webhook: POST /validate and /mutate over HTTPS; /healthz,
    /// /readyz and /metrics over HTTP.
    Serve(Box<serve::ServeArgs>),
    /// Run Stack authors' test suites (`stackhook-test.yaml`): each case's verdict,
    /// rendered objects and files, and Pod patch against what it expects (golden files,
    /// written by `--update`); a difference fails with a diff. Exit 0 all passed, 1
    /// some failed, 2 a suite cannot be read.
    Test(suite::TestArgs),
    /// Show what new versions of Stacks, Depots, workloads or `stackhook-config`s
    /// would do to the workloads they touch, from `--catalog` or the cluster
    /// (`--kube`, read-only): each verdict before → after with the new causes, the
    /// Stamp, and a diff of the rendered objects. Exit 0 no verdict gets worse, 1 some
    /// workload would be denied, 2 unusable input.
    Diff(diff::DiffArgs),
    /// Run the controller alone (in a cluster): render each workload's ConfigMap and
    /// apply its Deployment, Service, Ingress, Job or CronJob, under a Lease.
    Controller(controller::ControllerArgs),
}

impl Cli {
    /// Runs the chosen command.
    pub fn run(&self) -> anyhow::Result<ExitCode> {
        match &self.command {
            Command::Crds => crds::run(),
            Command::Convert { paths } => convert::run(&stdin_if_empty(paths)),
            Command::Project(args) => args.run(),
            Command::Template(args) => args.run(),
            Command::Validate(args) => args.run(),
            Command::Review(args) => args.run(),
            Command::Mutate(args) => args.run(),
            Command::Render(args) => args.run(),
            Command::Certs(args) => args.run(),
            Command::Serve(args) => args.run(),
            Command::Controller(args) => args.run(),
            Command::Test(args) => args.run(),
            Command::Diff(args) => args.run(),
        }
    }
}

fn stdin_if_empty(paths: &[PathBuf]) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        paths.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}

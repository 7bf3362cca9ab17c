//! `stackhook controller`: the controller without the webhook.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Args;

use super::serve::ClusterArgs;
use super::wiring;
use crate::logging::{self, LogFormat};

#[derive(Debug, Args)]
pub struct ControllerArgs {
    /// Address of the plain-HTTP listener for /healthz, /readyz and /metrics.
    #[arg(long, default_value = "0.0.0.0:8080", env = "STACKHOOK_PROBE_LISTEN")]
    probe_listen: SocketAddr,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "STACKHOOK_LOG_FORMAT")]
    log_format: LogFormat,
}

impl ControllerArgs {
    pub(crate) fn run(&self) -> anyhow::Result<ExitCode> {
        logging::init(self.log_format);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(wiring::controller_only(
            self.probe_listen,
            self.cluster.release_namespace(),
            self.cluster.controller(),
        ))?;
        Ok(ExitCode::SUCCESS)
    }
}

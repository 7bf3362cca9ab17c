//! `stackhook certs`: a CA and a serving certificate for the webhook Service.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::certs;
use crate::output;

#[derive(Debug, Args)]
pub struct CertsArgs {
    /// DNS names of the serving certificate (repeatable), e.g.
    /// stackhook.stackhook-system.svc; the first is its subject.
    #[arg(long = "dns", value_name = "NAME", required = true)]
    dns: Vec<String>,
    /// Directory for ca.crt, tls.crt and tls.key (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

impl CertsArgs {
    pub(crate) fn run(&self) -> anyhow::Result<ExitCode> {
        let Self { dns, out } = self;
        let bundle = certs::generate(dns)?;
        let paths = certs::write_bundle(&bundle, out)?;
        let listed: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        output::emit(&format!("wrote {}\n", listed.join(", ")))?;
        Ok(ExitCode::SUCCESS)
    }
}

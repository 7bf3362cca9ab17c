//! `stackhook crds`: the CRDs as YAML, the same text as `charts/stackhook/crds/`.

use std::process::ExitCode;

use crate::output;

/// The CRDs as one multi-document YAML stream.
pub fn render() -> Result<String, output::OutputError> {
    output::to_yaml_stream(&stackhook_core::model::crds())
}

pub(crate) fn run() -> anyhow::Result<ExitCode> {
    output::emit(&render()?)?;
    Ok(ExitCode::SUCCESS)
}

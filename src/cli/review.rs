//! `stackhook review`: one AdmissionReview (JSON, or YAML as `kubectl get -o yaml`
//! habits write it) through the exact webhook code; prints the response
//! AdmissionReview (like `kwctl run`), with `--decode-patch` its patch as the JSON
//! operations instead of the base64 the API server reads. Exit 0 allowed (warnings
//! included: a workload `Warn` or `Audit` admits), 1 denied, 2 when the review cannot
//! be read or decoded.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use super::engine::CatalogArgs;

use super::EXIT_UNUSABLE;
use super::engine::Loaded;
use crate::output;

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// The AdmissionReview (JSON or YAML); `-` or nothing reads stdin.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
    #[command(flatten)]
    catalog: CatalogArgs,
    /// Print the response's patch as its RFC 6902 operations (JSON), not base64.
    #[arg(long)]
    decode_patch: bool,
}

/// The review as JSON bytes: JSON as it is (its errors are the webhook's to give),
/// anything else read as one YAML document.
fn as_json(name: &str, body: Vec<u8>) -> Result<Vec<u8>, String> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_none_or(|b| matches!(b, b'{' | b'[')) {
        return Ok(body);
    }
    let text = String::from_utf8(body).map_err(|_| format!("{name}: not UTF-8 text"))?;
    let docs = goyaml::parse_documents(&text).map_err(|e| format!("{name}:{e}"))?;
    match docs.as_slice() {
        [doc] => serde_json::to_vec(&doc.value).map_err(|e| format!("{name}: {e}")),
        docs => Err(format!(
            "{name}: expected one AdmissionReview, found {} YAML documents",
            docs.len()
        )),
    }
}

/// The response with its base64 `patch` replaced by the operations it encodes.
fn decode_patch(name: &str, mut value: serde_json::Value) -> anyhow::Result<serde_json::Value> {
    use base64::Engine as _;
    let Some(patch) = value.pointer_mut("/response/patch") else {
        return Ok(value);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(patch.as_str().unwrap_or_default())
        .with_context(|| format!("{name}: the response's patch is not base64"))?;
    *patch = serde_json::from_slice(&bytes)
        .with_context(|| format!("{name}: the response's patch is not JSON"))?;
    Ok(value)
}

pub(crate) fn read_input(file: Option<&PathBuf>) -> anyhow::Result<(String, Vec<u8>)> {
    match file.filter(|f| f.as_os_str() != "-") {
        Some(path) => Ok((
            path.display().to_string(),
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        )),
        None => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read stdin")?;
            Ok(("<stdin>".into(), bytes))
        }
    }
}

impl ReviewArgs {
    pub(crate) fn run(&self) -> anyhow::Result<ExitCode> {
        let Self {
            file,
            catalog,
            decode_patch: decode,
        } = self;
        let engine = Loaded::load(catalog)?;
        let (name, body) = read_input(file.as_ref())?;
        let body = match as_json(&name, body) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{e}");
                return Ok(ExitCode::from(EXIT_UNUSABLE));
            }
        };
        let (response, summary) = match engine.reviewer().review(&body) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{name}: {e}");
                return Ok(ExitCode::from(EXIT_UNUSABLE));
            }
        };
        let mut value: serde_json::Value = serde_json::from_slice(&response)?;
        if *decode {
            value = decode_patch(&name, value)?;
        }
        output::emit(&format!("{}\n", serde_json::to_string_pretty(&value)?))?;
        Ok(if summary.allowed {
            engine.exit_code()
        } else {
            engine.hint_for_denial();
            ExitCode::from(1)
        })
    }
}

//! `stackhook template`: render one Go template with the Stack function set, for
//! Stack authors. Output goes to stdout byte for byte; errors go to stderr in Go's
//! words (`template: NAME:LINE:COL: …`).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use gotemplate::{CallContext, Limits};
use stackhook_core::functions::{CatalogResolver, parse_template};

use crate::load::load_catalog;
use crate::output;

/// Exit code when the template does not parse or execute.
const EXIT_TEMPLATE_ERROR: u8 = 1;

#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// The template file.
    #[arg(long, value_name = "FILE")]
    template: PathBuf,
    /// The data (dot), as JSON or YAML; `-` reads stdin. Without it, dot is empty.
    #[arg(long, value_name = "FILE|-")]
    data: Option<PathBuf>,
    /// The template's name in error messages (default: the file's name, as Go's
    /// ParseFiles names it).
    #[arg(long)]
    name: Option<String>,
    /// Catalog of Depots for `resolve` (files or directories).
    #[arg(long = "catalog", value_name = "DIR")]
    catalogs: Vec<PathBuf>,
    /// The namespace `resolve` looks Depots up in.
    #[arg(long, default_value = "default")]
    namespace: String,
}

fn read_data(path: &Path) -> anyhow::Result<serde_json::Value> {
    let (name, text) = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the data from stdin")?;
        ("<stdin>".to_owned(), text)
    } else {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the data file {}", path.display()))?;
        (path.display().to_string(), text)
    };
    let mut docs = goyaml::parse_documents(&text).map_err(|e| anyhow::anyhow!("{name}:{e}"))?;
    match docs.len() {
        0 => Ok(serde_json::Value::Null),
        1 => Ok(docs.remove(0).value),
        n => anyhow::bail!("{name}: the data holds {n} documents; give one"),
    }
}

impl TemplateArgs {
    pub(crate) fn run(&self) -> anyhow::Result<ExitCode> {
        let Self {
            template,
            data,
            name,
            catalogs,
            namespace,
        } = self;
        let text = std::fs::read_to_string(template)
            .with_context(|| format!("cannot read the template {}", template.display()))?;
        let name = name.clone().unwrap_or_else(|| {
            template.file_name().map_or_else(
                || "template".to_owned(),
                |n| n.to_string_lossy().into_owned(),
            )
        });
        let data = match data {
            Some(path) => read_data(path)?,
            None => serde_json::Value::Null,
        };
        let catalog = if catalogs.is_empty() {
            None
        } else {
            Some(load_catalog(catalogs).map(|(c, _)| c)?)
        };
        let resolver = catalog
            .as_ref()
            .map(|catalog| CatalogResolver { catalog, namespace });
        let context = CallContext {
            host: resolver.as_ref().map(|r| r as _),
            deadline: None,
        };
        let result = parse_template(&name, &text)
            .and_then(|t| t.execute_json(&data, &context, &Limits::default()));
        match result {
            Ok(out) => {
                output::emit(&out)?;
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{e}");
                Ok(ExitCode::from(EXIT_TEMPLATE_ERROR))
            }
        }
    }
}

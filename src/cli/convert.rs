//! `stackhook convert`: DataOS-native manifests to CRD form.
//!
//! Native documents are converted and type-checked (so the output applies cleanly);
//! stackhook documents already in CRD form are type-checked too; DataOS
//! `instance-secret`/`secret` become Kubernetes Secrets; any other DataOS type passes
//! through unchanged with a warning naming it; anything else passes through unchanged,
//! so a whole directory can be piped to `kubectl apply -f -`.

use std::path::PathBuf;
use std::process::ExitCode;

use stackhook_core::model::{self, Parsed, native};

use super::EXIT_UNUSABLE;
use crate::load::{self, LoadErrors};
use crate::output;

pub(crate) fn run(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let inputs = load::read_inputs(paths)?;
    let mut values = Vec::new();
    let mut errors = Vec::new();
    for input in &inputs {
        let docs = match load::documents(input) {
            Ok(d) => d,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        for doc in docs {
            let converted = native::to_crd(doc.value.clone()).ok();
            let said = std::cell::RefCell::new(std::collections::BTreeSet::new());
            let warn = |who: &str, message: &str| {
                // Once each per document.
                if !said.borrow_mut().insert(message.to_owned()) {
                    return;
                }
                eprintln!(
                    "{}:{}: warning: {who}: {message}",
                    doc.file,
                    doc.written_position(message)
                );
            };
            // One voice: the path, then why it was left out.
            let left_out = |key: &str, form: &str| match key.split_once(" (") {
                Some((path, why)) => {
                    format!(
                        "`{path}` left out: {}",
                        why.strip_suffix(')').unwrap_or(why)
                    )
                }
                None => format!("`{key}` left out: {form} has no place for it"),
            };
            match load::parse(&doc) {
                Ok(Parsed::Resource(r)) => {
                    let who = format!("{} {}", r.kind(), model::display_name(&r.to_json()));
                    if let Some(c) = converted {
                        for key in &c.dropped {
                            warn(&who, &left_out(key, "the CRD form"));
                        }
                        for note in &c.notes {
                            warn(&who, note);
                        }
                        values.push(r.to_json());
                        values.extend(c.extra);
                    } else {
                        values.push(r.to_json());
                    }
                }
                Ok(Parsed::Skipped { .. }) => match converted {
                    // Another DataOS type: said, and passed through.
                    Some(c) if c.skipped.is_some() => {
                        let ty = native::dataos_type(&doc.value).unwrap_or_default();
                        let why = c.skipped.unwrap_or_default();
                        warn(
                            &format!("DataOS {ty} {}", model::display_name(&doc.value)),
                            &format!("{why}; passed through unchanged"),
                        );
                        values.push(doc.value);
                    }
                    // A DataOS secret, now a Kubernetes Secret.
                    Some(c) if c.value != doc.value => {
                        let who = format!("Secret {}", model::display_name(&c.value));
                        for key in &c.dropped {
                            warn(&who, &left_out(key, "a Kubernetes Secret"));
                        }
                        for note in &c.notes {
                            warn(&who, note);
                        }
                        values.push(c.value);
                    }
                    _ => values.push(doc.value),
                },
                Err(e) => errors.push(e),
            }
        }
    }
    output::emit(&output::to_yaml_stream(&values)?)?;
    if errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{}", LoadErrors(errors));
        Ok(ExitCode::from(EXIT_UNUSABLE))
    }
}

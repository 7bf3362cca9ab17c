//! `stackhook convert`: DataOS-native manifests to CRD form.
//!
//! Native documents are converted and type-checked (so the output applies cleanly);
//! stackhook documents already in CRD form are type-checked too; anything else passes
//! through unchanged, so a whole directory can be piped to `kubectl apply -f -`.

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
            let (dropped, notes, extra) = native::to_crd(doc.value.clone())
                .map(|c| (c.dropped, c.notes, c.extra))
                .unwrap_or_default();
            match load::parse(&doc) {
                Ok(Parsed::Resource(r)) => {
                    for key in dropped {
                        eprintln!(
                            "{}:{}: warning: {} {}: `{key}` has no place in the CRD form and was left out",
                            doc.file,
                            doc.start(),
                            r.kind(),
                            model::display_name(&r.to_json()),
                        );
                    }
                    for note in notes {
                        eprintln!(
                            "{}:{}: warning: {} {}: {note}",
                            doc.file,
                            doc.start(),
                            r.kind(),
                            model::display_name(&r.to_json()),
                        );
                    }
                    values.push(r.to_json());
                    values.extend(extra);
                }
                Ok(Parsed::Skipped { .. }) => values.push(doc.value),
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

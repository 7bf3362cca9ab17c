//! Printing documents as YAML, the way `kubectl` users read them.

use serde::Serialize;

/// Errors writing output.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A value could not be written as YAML.
    #[error("cannot write YAML")]
    Yaml(#[source] serde_saphyr::SerializeError),
}

/// One value as a YAML document (no `---`), ending in a newline.
pub fn to_yaml<T: Serialize>(value: &T) -> Result<String, OutputError> {
    let mut text = serde_saphyr::to_string(value).map_err(OutputError::Yaml)?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// Several values as a multi-document YAML stream, each starting with `---`.
pub fn to_yaml_stream<T: Serialize>(values: &[T]) -> Result<String, OutputError> {
    let mut out = String::new();
    for v in values {
        out.push_str("---\n");
        out.push_str(&to_yaml(v)?);
    }
    Ok(out)
}

/// Text escaped for an XML attribute or element (JUnit reports).
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// Writes text to stdout. A closed pipe (`stackhook crds | head`) ends output quietly
/// instead of panicking, as `print!` would.
pub fn emit(text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

//! `stackhook project`: arguments → a [`Projector`], run once or watching.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use stackhook_core::projection::{self, Format};

use crate::logging::{self, LogFormat};
use crate::project::{Projector, stop_on_signals, write::AtomicWriter};
use crate::shared::error_chain;

/// Exit code when the projection fails.
const EXIT_FAILED: u8 = 1;

#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// The mounted depot Secrets, laid out as DIR/<depot>/<acl>/<key>.
    #[arg(long, value_name = "DIR")]
    from: PathBuf,
    /// Where to write the projected files (an in-memory emptyDir in a pod).
    #[arg(long, value_name = "DIR")]
    to: PathBuf,
    /// Output format.
    #[arg(long, default_value = "propFile", value_parser = parse_format)]
    format: Format,
    /// File mode of the written files (octal).
    #[arg(long, default_value = "0400", value_parser = parse_mode)]
    mode: u32,
    /// Project once and exit (the default; for init containers).
    #[arg(long, conflicts_with = "watch")]
    once: bool,
    /// Keep the files current as the Secrets change (for native sidecars); stops on
    /// SIGTERM.
    #[arg(long)]
    watch: bool,
    /// A depot that must be present (repeatable).
    #[arg(long = "depot", value_name = "DEPOT")]
    depots: Vec<String>,
    /// A key to write as a whole file `<depot>_<key>`, given as DEPOT/KEY (repeatable).
    #[arg(long = "file", value_name = "DEPOT/KEY", value_parser = parse_file_key)]
    files: Vec<(String, String)>,
    /// Largest value a key may hold, in bytes.
    #[arg(long, default_value_t = projection::DEFAULT_MAX_VALUE_BYTES)]
    max_value_bytes: usize,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse(s).ok_or_else(|| {
        format!(
            "unknown format {s:?} (expected one of: {})",
            Format::NAMES.join(", ")
        )
    })
}

fn parse_mode(s: &str) -> Result<u32, String> {
    let mode = u32::from_str_radix(s.trim_start_matches("0o"), 8)
        .map_err(|_| format!("{s:?} is not an octal file mode such as 0400"))?;
    if mode > 0o777 {
        return Err(format!("{s:?} is not a file mode (at most 0777)"));
    }
    if mode & 0o400 == 0 {
        return Err(format!("mode {s} does not let the owner read the files"));
    }
    Ok(mode)
}

fn parse_file_key(s: &str) -> Result<(String, String), String> {
    let (depot, key) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?}: expected DEPOT/KEY"))?;
    for (what, name) in [("depot", depot), ("key", key)] {
        projection::check_name(name)
            .map_err(|reason| format!("{s:?}: {what} {name:?}: {reason}"))?;
    }
    Ok((depot.to_owned(), key.to_owned()))
}

impl ProjectArgs {
    pub(crate) fn run(&self) -> anyhow::Result<ExitCode> {
        let Self {
            from,
            to,
            format,
            mode,
            once: _,
            watch,
            depots,
            files,
            max_value_bytes,
            log_format,
        } = self;
        logging::init(*log_format);
        for depot in depots {
            projection::check_name(depot)
                .map_err(|reason| anyhow::anyhow!("--depot {depot:?}: {reason}"))?;
        }
        let projector = Projector {
            from: from.clone(),
            depots: depots.clone(),
            projection: projection::ProjectionSettings {
                format: *format,
                file_keys: files.iter().cloned().collect(),
                max_value_bytes: *max_value_bytes,
            },
            writer: AtomicWriter::new(to, *mode),
        };
        let result = if *watch {
            let stop = stop_on_signals()?;
            projector.watch(&stop)
        } else {
            projector.run_once().map(|_| ())
        };
        match result {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(e) => {
                tracing::error!(error = %error_chain(&e), "projection failed; nothing written");
                Ok(ExitCode::from(EXIT_FAILED))
            }
        }
    }
}

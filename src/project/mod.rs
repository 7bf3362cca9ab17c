//! `stackhook project`: the secret projector, run by the webhook as the
//! `stackhook-project` init container (`--once`) or native sidecar (`--watch`).
//!
//! It reads `FROM/<depot>/<acl>/<key>` (the mounted depot Secrets), projects them with
//! the core's [`projection`](stackhook_core::projection), and writes the files
//! atomically under `TO`.
//!
//! `--watch` polls the input every 250 ms, comparing the projected files with the last
//! written set, instead of relying on inotify: Secret volumes change by swapping
//! symlinks in mounted directories, which inotify reports unevenly, and a few `stat`s
//! and small reads four times a second cost nothing. A change is written once the input
//! has been stable for 100 ms (a burst of changes gives one write), well within a second.

pub mod read;
pub mod write;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use stackhook_core::projection::{self, Format, OutputFile, ProjectionError};

use crate::shared::error_chain;
use read::ReadError;
use write::{AtomicWriter, WriteError};

/// How often `--watch` looks at the input.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How long the input must stay unchanged before a change is written.
pub const SETTLE: Duration = Duration::from_millis(100);
/// The longest a burst of changes may delay a write.
pub const MAX_SETTLE: Duration = Duration::from_millis(500);

/// Why a projection failed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The input could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The data cannot be projected.
    #[error(transparent)]
    Project(#[from] ProjectionError),
    /// The output could not be written.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// What to project, from where, to where.
#[derive(Debug, Clone)]
pub struct Projector {
    /// The mounted Secrets.
    pub from: PathBuf,
    /// Depots that must be present.
    pub depots: Vec<String>,
    /// How to project.
    pub projection: projection::ProjectionSettings,
    /// Where to write.
    pub writer: AtomicWriter,
}

impl Projector {
    /// Reads and projects the input (without writing).
    pub fn project(&self) -> Result<Vec<OutputFile>, ProjectError> {
        let limit = match self.projection.max_value_bytes {
            0 => projection::DEFAULT_MAX_VALUE_BYTES,
            n => n,
        };
        let data = read::read_secrets(&self.from, &self.depots, limit)?;
        Ok(projection::project(&data, &self.projection)?)
    }

    /// Projects and writes once.
    pub fn run_once(&self) -> Result<Vec<OutputFile>, ProjectError> {
        let files = self.project()?;
        let generation = self.writer.write(&files)?;
        log_written(
            &files,
            &generation,
            self.projection.format,
            self.writer.dir(),
        );
        Ok(files)
    }

    /// Projects, writes, and keeps the output current until `stop` is set. The first
    /// projection must succeed; later errors are logged and the last good output kept.
    pub fn watch(&self, stop: &AtomicBool) -> Result<(), ProjectError> {
        let mut current = self.run_once()?;
        let mut last_error: Option<String> = None;
        while !sleep_unless_stopped(POLL_INTERVAL, stop) {
            match self.settled(stop) {
                Ok(files) if files == current => {
                    if last_error.take().is_some() {
                        tracing::info!("input readable again; output unchanged");
                    }
                }
                Ok(files) => match self.writer.write(&files) {
                    Ok(generation) => {
                        log_written(
                            &files,
                            &generation,
                            self.projection.format,
                            self.writer.dir(),
                        );
                        current = files;
                        last_error = None;
                    }
                    Err(e) => report(&mut last_error, &ProjectError::Write(e)),
                },
                Err(e) => report(&mut last_error, &e),
            }
        }
        tracing::info!("stopping on signal");
        Ok(())
    }

    /// Projects until two projections `SETTLE` apart agree (or `MAX_SETTLE` passes).
    fn settled(&self, stop: &AtomicBool) -> Result<Vec<OutputFile>, ProjectError> {
        let started = Instant::now();
        let mut files = self.project()?;
        loop {
            if sleep_unless_stopped(SETTLE, stop) || started.elapsed() >= MAX_SETTLE {
                return Ok(files);
            }
            let again = self.project()?;
            if again == files {
                return Ok(files);
            }
            files = again;
        }
    }
}

/// Logs an error once until it changes (a broken mount must not flood the log).
fn report(last: &mut Option<String>, e: &ProjectError) {
    let text = error_chain(e);
    if last.as_deref() != Some(text.as_str()) {
        tracing::error!(error = %text, "projection failed; keeping the last good output");
        *last = Some(text);
    }
}

fn log_written(files: &[OutputFile], generation: &str, format: Format, to: &Path) {
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    tracing::info!(
        to = %to.display(),
        generation,
        %format,
        files = ?names,
        "projected {} file(s)",
        files.len()
    );
}

/// Sleeps for `d` in short steps; returns whether `stop` was set.
fn sleep_unless_stopped(d: Duration, stop: &AtomicBool) -> bool {
    let deadline = Instant::now() + d;
    while Instant::now() < deadline {
        if stop.load(Ordering::Relaxed) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20).min(deadline - Instant::now()));
    }
    stop.load(Ordering::Relaxed)
}

/// A flag set by SIGTERM or SIGINT.
pub fn stop_on_signals() -> std::io::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    Ok(stop)
}

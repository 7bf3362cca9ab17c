//! The catalog from files (`serve --catalog`, or the embedded example catalog): read
//! into the [`LiveCatalog`], then polled and reloaded when a file changes. A reload
//! reads only the files that changed and keeps every entry that did not change (and
//! the webhook's plans and patches for the workloads no change touched); a broken
//! file keeps the last good catalog.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use stackhook_core::catalog::MemoryCatalog;

use crate::load::{self, LoadErrors};
use crate::shared::live::{LiveCatalog, touched_count};
use crate::shared::metrics::{Metrics, ResultLabels};

/// Loads the catalog from `dirs` (none: the embedded examples) into `live`, then
/// watches the files, polling every `interval`. The release namespace's
/// `stackhook-config` applies after a workload's own, as in a cluster.
pub async fn load_and_watch(
    dirs: Vec<PathBuf>,
    release_namespace: String,
    interval: Duration,
    live: &Arc<LiveCatalog>,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<()> {
    let embedded = dirs.is_empty();
    let (loaded, files) = if embedded {
        let ns = release_namespace.clone();
        let loaded = tokio::task::spawn_blocking(move || load::embedded(Some(&ns))).await?;
        (loaded, None)
    } else {
        let mut files = FileCatalog::new(dirs, Some(release_namespace));
        let (loaded, files) = tokio::task::spawn_blocking(move || {
            let loaded = files.refresh().map(Option::unwrap_or_default);
            (loaded, files)
        })
        .await?;
        (loaded, Some(files))
    };
    let loaded = loaded.map_err(|e| anyhow::anyhow!("cannot load the catalog:\n{e}"))?;
    let counts = loaded.counts();
    live.replace(loaded, metrics);
    tracing::info!(
        stacks = counts.stacks,
        depots = counts.depots,
        workloads = counts.workloads,
        source = if embedded {
            "embedded examples"
        } else {
            "files"
        },
        "catalog loaded; ready"
    );
    if let Some(files) = files {
        tokio::spawn(watch(
            Arc::clone(live),
            Arc::clone(metrics),
            files,
            interval,
        ));
    }
    Ok(())
}

/// One catalog file as last read: its size and modification time, and the catalog
/// of what it holds (sharing its entries with the served catalog).
#[derive(Clone)]
struct FileEntry {
    path: PathBuf,
    len: u64,
    modified: SystemTime,
    part: MemoryCatalog,
}

/// The catalog's files as last read. A reload reads and parses only the files that
/// changed (by size and modification time) and puts the catalog together from every
/// file's part, so a change costs the changed file's parse, not the whole catalog's.
pub struct FileCatalog {
    dirs: Vec<PathBuf>,
    release_namespace: Option<String>,
    files: Vec<FileEntry>,
    loaded: bool,
    /// The files as they were when they last failed to load.
    failed: Option<Vec<(PathBuf, u64, SystemTime)>>,
}

impl FileCatalog {
    /// The catalog of the files under `dirs`, not read yet.
    pub fn new(dirs: Vec<PathBuf>, release_namespace: Option<String>) -> Self {
        Self {
            dirs,
            release_namespace,
            files: Vec::new(),
            loaded: false,
            failed: None,
        }
    }

    /// Reads the files that changed since the last call and returns the whole
    /// catalog, or `None` when no file changed. On an error nothing of this attempt
    /// is kept (the next call tries again).
    pub fn refresh(&mut self) -> Result<Option<MemoryCatalog>, LoadErrors> {
        let mut paths = Vec::new();
        for dir in &self.dirs {
            paths.extend(load::manifests_under(dir).map_err(|e| LoadErrors(vec![e]))?);
        }
        let mut stamps = Vec::with_capacity(paths.len());
        let mut errors = Vec::new();
        for path in paths {
            match std::fs::metadata(&path) {
                Ok(m) => {
                    let modified = m.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                    stamps.push((path, m.len(), modified));
                }
                Err(e) => errors.push(load::read_error(&path, e)),
            }
        }
        // Files that failed as they are now fail again: said once, when they broke.
        if self.failed.as_ref() == Some(&stamps) {
            return Ok(None);
        }
        let known: std::collections::HashMap<&PathBuf, &FileEntry> =
            self.files.iter().map(|f| (&f.path, f)).collect();
        let mut changed = !self.loaded || stamps.len() != self.files.len();
        let mut files = Vec::with_capacity(stamps.len());
        for (i, (path, len, modified)) in stamps.iter().enumerate() {
            if let Some(old) = known.get(path)
                && old.len == *len
                && old.modified == *modified
            {
                changed |= self.files.get(i).is_none_or(|f| f.path != *path);
                files.push((*old).clone());
                continue;
            }
            changed = true;
            // Workloads packed: the server holds every one of them, and nothing else does.
            let part = load::read_file(path)
                .map_err(|e| LoadErrors(vec![e]))
                .and_then(|input| load::load_into(MemoryCatalog::compact(), &[input]));
            match part {
                Ok((part, _)) => files.push(FileEntry {
                    path: path.clone(),
                    len: *len,
                    modified: *modified,
                    part,
                }),
                Err(e) => errors.extend(e.0),
            }
        }
        drop(known);
        if !errors.is_empty() {
            self.failed = Some(stamps);
            return Err(LoadErrors(errors));
        }
        self.failed = None;
        if !changed {
            return Ok(None);
        }
        let mut catalog = MemoryCatalog::compact();
        for f in &files {
            if catalog.merge(&f.part).is_err() {
                // Defined twice across files: the whole load says where, as a first
                // load would.
                let whole = load_dirs(&self.dirs, self.release_namespace.as_deref());
                if whole.is_err() {
                    self.failed = Some(stamps);
                }
                return whole.map(Some);
            }
        }
        catalog.set_release_namespace(self.release_namespace.clone());
        self.files = files;
        self.loaded = true;
        Ok(Some(catalog))
    }
}

/// Loads the catalog directories now, every file read.
pub fn load_dirs(
    dirs: &[PathBuf],
    release_namespace: Option<&str>,
) -> Result<MemoryCatalog, LoadErrors> {
    let inputs = load::read_inputs(dirs).map_err(|e| LoadErrors(vec![e]))?;
    // Workloads packed: the server holds every one of them, and nothing else does.
    let (mut catalog, _) = load::load_into(MemoryCatalog::compact(), &inputs)?;
    catalog.set_release_namespace(release_namespace.map(str::to_owned));
    Ok(catalog)
}

/// Reloads the catalog when its files change (polled every `interval`), reading only
/// the files that changed.
pub async fn watch(
    state: Arc<LiveCatalog>,
    metrics: Arc<Metrics>,
    files: FileCatalog,
    interval: Duration,
) {
    let files = Arc::new(std::sync::Mutex::new(files));
    loop {
        tokio::time::sleep(interval).await;
        let f = Arc::clone(&files);
        let refreshed = tokio::task::spawn_blocking(move || {
            f.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .refresh()
        })
        .await;
        match refreshed {
            Ok(Ok(None)) => {}
            Ok(Ok(Some(catalog))) => {
                let (counts, touched) = state.reload(catalog, &metrics);
                let touched = touched_count(&touched);
                tracing::info!(
                    stacks = counts.stacks,
                    depots = counts.depots,
                    workloads = counts.workloads,
                    touched,
                    "catalog reloaded"
                );
            }
            Ok(Err(errors)) => {
                metrics
                    .catalog_reloads
                    .get_or_create(&ResultLabels {
                        result: "failed".into(),
                    })
                    .inc();
                tracing::error!(errors = %errors, "catalog reload failed; keeping the last good catalog");
            }
            Err(e) => tracing::error!(error = %e, "catalog reload task failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackhook_core::catalog::Catalog;
    use stackhook_core::model::StackRef;

    const STACK: &str = "apiVersion: stackhook.io/v1alpha1\nkind: Stack\nmetadata: {name: app-1}\nspec: {name: app, version: \"1\", workerConfig: {}}\n";

    fn worker(name: &str) -> String {
        format!(
            "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {{name: {name}, namespace: team}}\nspec: {{stack: \"app:1\"}}\n"
        )
    }

    fn write(dir: &std::path::Path, file: &str, text: &str) {
        std::fs::write(dir.join(file), text).unwrap();
        // A new modification time even within the file system's granularity.
        let later = SystemTime::now() + Duration::from_secs(rand_secs(file, text));
        let f = std::fs::File::options()
            .write(true)
            .open(dir.join(file))
            .unwrap();
        f.set_modified(later).unwrap();
    }

    fn rand_secs(file: &str, text: &str) -> u64 {
        (file.len() + text.len()) as u64
    }

    fn config(ingress: &str) -> String {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: stackhook-config, namespace: team}}\ndata:\n  default: |\n    ingressDomainSuffix: {ingress}\n"
        )
    }

    #[test]
    fn a_second_stackhook_config_for_a_namespace_is_a_problem_naming_both_files() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.yaml", &config("a.example"));
        write(dir.path(), "b.yaml", &config("b.example"));
        let mut files = FileCatalog::new(vec![dir.path().to_owned()], None);
        let e = files.refresh().unwrap_err().to_string();
        let (a, b) = (
            dir.path().join("a.yaml").display().to_string(),
            dir.path().join("b.yaml").display().to_string(),
        );
        assert_eq!(
            e,
            format!(
                "{b}:1:1: a second stackhook-config for namespace \"team\"; the first, at {a}:1:1, applies (one per namespace)"
            )
        );
        // Within one file too.
        let input = load::Input {
            name: "both.yaml".into(),
            text: format!("{}---\n{}", config("a.example"), config("b.example")),
        };
        let e = load::load_inputs(&[input]).unwrap_err().to_string();
        assert_eq!(
            e,
            "both.yaml:8:1: a second stackhook-config for namespace \"team\"; the first, at both.yaml:1:1, applies (one per namespace)"
        );
    }

    #[test]
    fn a_reload_reads_only_the_files_that_changed_and_says_a_failure_once() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "stack.yaml", STACK);
        write(dir.path(), "workers.yaml", &worker("w1"));
        let mut files = FileCatalog::new(vec![dir.path().to_owned()], Some("sys".into()));
        let first = files.refresh().unwrap().unwrap();
        assert_eq!(first.counts().workloads, 1);
        assert!(files.refresh().unwrap().is_none(), "nothing changed");

        write(
            dir.path(),
            "workers.yaml",
            &format!("{}---\n{}", worker("w1"), worker("w2")),
        );
        let second = files.refresh().unwrap().unwrap();
        assert_eq!(second.counts().workloads, 2);
        // The Stack's file was not read again: the very same object.
        let r = StackRef::parse("app:1").unwrap();
        assert!(Arc::ptr_eq(
            &first.stack(&r).unwrap(),
            &second.stack(&r).unwrap()
        ));

        write(dir.path(), "workers.yaml", "kind: [");
        let e = files.refresh().unwrap_err().to_string();
        assert!(e.contains("workers.yaml:"), "{e}");
        assert!(files.refresh().unwrap().is_none(), "a failure is said once");
        write(dir.path(), "workers.yaml", &worker("w3"));
        let third = files.refresh().unwrap().unwrap();
        assert!(
            third
                .workload("team", stackhook_core::model::WorkloadKind::Worker, "w3")
                .is_some()
        );

        // A Stack defined in two files: the whole load says where.
        write(
            dir.path(),
            "again.yaml",
            &STACK.replace("app-1", "app-1-copy"),
        );
        let e = files.refresh().unwrap_err().to_string();
        assert!(e.contains("stack app:1 is defined twice"), "{e}");
        // Gone again: the files are what the last good catalog was made of.
        std::fs::remove_file(dir.path().join("again.yaml")).unwrap();
        assert!(files.refresh().unwrap().is_none());
        write(dir.path(), "more.yaml", &worker("w4"));
        assert_eq!(files.refresh().unwrap().unwrap().counts().workloads, 2);
    }
}

//! Writing a set of files so that readers never see a partial set — the scheme the
//! kubelet uses for Secret and ConfigMap volumes:
//!
//! ```text
//! TO/..2026_11_21_20_58_01.123456789_7/   one directory per generation (the files)
//! TO/..data -> ..2026_11_21_20_58_01…     swapped atomically by rename(2)
//! TO/icebase -> ..data/icebase            stable names, symlinks through ..data
//! ```
//!
//! A new generation is written and fsynced in full before `..data` is swapped, so any
//! open of a stable name sees a complete file of one generation. The generation before
//! the current one is kept (a reader that resolved `..data` just before a swap can
//! finish), older ones are removed. Nothing is written outside `TO`.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _, symlink};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use stackhook_core::projection::OutputFile;

const DATA: &str = "..data";
const DATA_TMP: &str = "..data_tmp";

/// Why writing failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A filesystem operation failed.
    #[error("{what} {path}", path = .path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An output name is taken by something that is not one of our symlinks.
    #[error("{path} exists and is not a stackhook-managed link; refusing to replace it", path = .path.display())]
    Occupied {
        /// The path.
        path: PathBuf,
    },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> WriteError {
    let path = path.to_owned();
    move |source| WriteError::Io { what, path, source }
}

/// Writes generations of files into one directory.
#[derive(Debug, Clone)]
pub struct AtomicWriter {
    to: PathBuf,
    file_mode: u32,
    dir_mode: u32,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl AtomicWriter {
    /// A writer into `to` (created if missing), writing files with `file_mode`.
    /// Generation directories get the matching search bits (0400 → 0500).
    pub fn new(to: &Path, file_mode: u32) -> Self {
        Self {
            to: to.to_owned(),
            file_mode,
            dir_mode: file_mode | ((file_mode & 0o444) >> 2),
        }
    }

    /// The directory written into.
    pub fn dir(&self) -> &Path {
        &self.to
    }

    /// Writes `files` as a new generation and makes it current. Returns the
    /// generation's directory name.
    pub fn write(&self, files: &[OutputFile]) -> Result<String, WriteError> {
        fs::create_dir_all(&self.to).map_err(io("cannot create", &self.to))?;
        for f in files {
            let stable = self.to.join(&f.name);
            if let Ok(meta) = fs::symlink_metadata(&stable)
                && !meta.file_type().is_symlink()
            {
                return Err(WriteError::Occupied { path: stable });
            }
        }
        let previous = fs::read_link(self.to.join(DATA))
            .ok()
            .map(|p| p.to_string_lossy().into_owned());

        let generation = generation_name();
        let gen_dir = self.to.join(&generation);
        if let Err(e) = self.write_generation(&gen_dir, files) {
            // Leave nothing half-written behind.
            remove_generation(&gen_dir);
            return Err(e);
        }

        let tmp = self.to.join(DATA_TMP);
        let _ = fs::remove_file(&tmp);
        symlink(&generation, &tmp).map_err(io("cannot create link", &tmp))?;
        let data = self.to.join(DATA);
        fs::rename(&tmp, &data).map_err(io("cannot swap", &data))?;

        let names: BTreeSet<&str> = files.iter().map(|f| f.name.as_str()).collect();
        for name in &names {
            let stable = self.to.join(name);
            if fs::symlink_metadata(&stable).is_err() {
                let tmp = self.to.join(format!("..{name}.tmp"));
                let _ = fs::remove_file(&tmp);
                symlink(Path::new(DATA).join(name), &tmp)
                    .map_err(io("cannot create link", &tmp))?;
                fs::rename(&tmp, &stable).map_err(io("cannot create link", &stable))?;
            }
        }
        self.remove_stale(&names, &generation, previous.as_deref())?;
        sync_dir(&self.to)?;
        Ok(generation)
    }

    fn write_generation(&self, dir: &Path, files: &[OutputFile]) -> Result<(), WriteError> {
        fs::create_dir(dir).map_err(io("cannot create", dir))?;
        for f in files {
            let path = dir.join(&f.name);
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(io("cannot create", &path))?;
            file.write_all(&f.bytes)
                .map_err(io("cannot write", &path))?;
            file.sync_all().map_err(io("cannot sync", &path))?;
            fs::set_permissions(&path, fs::Permissions::from_mode(self.file_mode))
                .map_err(io("cannot set the mode of", &path))?;
        }
        sync_dir(dir)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(self.dir_mode))
            .map_err(io("cannot set the mode of", dir))?;
        Ok(())
    }

    /// Removes stable links that no longer name a file, and generations older than the
    /// previous one.
    fn remove_stale(
        &self,
        names: &BTreeSet<&str>,
        current: &str,
        previous: Option<&str>,
    ) -> Result<(), WriteError> {
        let entries = fs::read_dir(&self.to).map_err(io("cannot list", &self.to))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name.starts_with("..") {
                let is_generation = name != DATA && entry.file_type().is_ok_and(|t| t.is_dir());
                if is_generation && name != current && Some(name.as_str()) != previous {
                    remove_generation(&path);
                }
            } else if !names.contains(name.as_str())
                && fs::read_link(&path).is_ok_and(|t| t.starts_with(DATA))
            {
                let _ = fs::remove_file(&path);
            }
        }
        Ok(())
    }
}

fn generation_name() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "..{y:04}_{m:02}_{d:02}_{:02}_{:02}_{:02}.{:09}_{}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        now.subsec_nanos(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's
/// algorithm), so generation names read like the kubelet's without a date crate.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn remove_generation(dir: &Path) {
    // The directory is read-only once written; make it writable to empty it.
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    let _ = fs::remove_dir_all(dir);
}

fn sync_dir(dir: &Path) -> Result<(), WriteError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("cannot sync", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> OutputFile {
        OutputFile {
            name: name.into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn dates_generations_like_the_kubelet() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_413), (2025, 11, 21));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn swaps_generations_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let w = AtomicWriter::new(dir.path(), 0o400);
        let g1 = w.write(&[file("a", "1"), file("b", "1")]).unwrap();
        assert_eq!(fs::read_to_string(dir.path().join("a")).unwrap(), "1");
        let g2 = w.write(&[file("a", "2")]).unwrap();
        assert_eq!(fs::read_to_string(dir.path().join("a")).unwrap(), "2");
        // "b" is gone from the set: its link is removed.
        assert!(fs::symlink_metadata(dir.path().join("b")).is_err());
        // The previous generation is kept, older ones are not.
        assert!(dir.path().join(&g1).exists());
        let g3 = w.write(&[file("a", "3")]).unwrap();
        assert!(!dir.path().join(&g1).exists());
        assert!(dir.path().join(&g2).exists());
        assert!(dir.path().join(&g3).exists());
        let mode = fs::metadata(dir.path().join("a"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o400);
        let mode = fs::metadata(dir.path().join(&g3))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o500);
    }

    #[test]
    fn refuses_to_replace_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a"), "mine").unwrap();
        let e = AtomicWriter::new(dir.path(), 0o400)
            .write(&[file("a", "1")])
            .unwrap_err();
        assert!(
            e.to_string()
                .ends_with("is not a stackhook-managed link; refusing to replace it")
        );
        assert_eq!(fs::read_to_string(dir.path().join("a")).unwrap(), "mine");
        assert!(fs::symlink_metadata(dir.path().join(DATA)).is_err());
    }
}

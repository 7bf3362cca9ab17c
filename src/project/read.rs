//! Reading the mounted Secret volumes: `FROM/<depot>/<acl>/<key>`, as the pod spec the
//! webhook writes lays them out (one Secret volume per depot and ACL).
//!
//! Dot-entries (`..data`, `..2024_…`, the kubelet's atomic-update machinery) are
//! skipped; keys are followed through their symlinks but must stay inside their
//! Secret's directory. Values are read up to the size limit and no further, so a huge
//! file cannot exhaust memory.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use stackhook_core::model::Acl;
use stackhook_core::projection::{SecretData, check_name};

/// Why the input tree cannot be read. Never carries a secret value.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// `--from` does not exist or is not a directory.
    #[error("--from {path}: {reason}", path = .path.display())]
    From {
        /// The directory.
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// An expected depot (`--depot`) has no directory.
    #[error("depot {depot:?}: no secret directory {path}", path = .path.display())]
    MissingDepot {
        /// The depot.
        depot: String,
        /// Where it was expected.
        path: PathBuf,
    },
    /// A depot directory holds something other than `r` and `rw`.
    #[error("depot {depot:?}: unexpected entry {entry:?} (expected the ACL directories r and rw)")]
    UnexpectedEntry {
        /// The depot.
        depot: String,
        /// The entry.
        entry: String,
    },
    /// A name that cannot be a depot or key.
    #[error("depot {depot:?}: key {key:?} cannot be used as a file name: {reason}")]
    UnsafeName {
        /// The depot.
        depot: String,
        /// The key.
        key: String,
        /// Why.
        reason: &'static str,
    },
    /// A key that resolves outside its Secret's directory.
    #[error("depot {depot:?}: key {key:?} points outside its secret directory")]
    Escapes {
        /// The depot.
        depot: String,
        /// The key.
        key: String,
    },
    /// A value over the size limit.
    #[error("depot {depot:?}: key {key:?} is over the limit of {limit} bytes")]
    TooLarge {
        /// The depot.
        depot: String,
        /// The key.
        key: String,
        /// The limit.
        limit: usize,
    },
    /// A directory or key that cannot be read.
    #[error("depot {depot:?}: key {key:?}: cannot read {path}", path = .path.display())]
    Io {
        /// The depot.
        depot: String,
        /// The key (or the directory's name).
        key: String,
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn visible_entries(dir: &Path, depot: &str) -> Result<Vec<(String, PathBuf)>, ReadError> {
    let io = |source| ReadError::Io {
        depot: depot.to_owned(),
        key: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        path: dir.to_owned(),
        source,
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            entries.push((name, entry.path()));
        }
    }
    entries.sort();
    Ok(entries)
}

/// Reads every depot Secret under `from`. `expected` depots must be present.
pub fn read_secrets(
    from: &Path,
    expected: &[String],
    limit: usize,
) -> Result<SecretData, ReadError> {
    match std::fs::metadata(from) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(ReadError::From {
                path: from.to_owned(),
                reason: "not a directory",
            });
        }
        Err(_) => {
            return Err(ReadError::From {
                path: from.to_owned(),
                reason: "no such directory",
            });
        }
    }
    for depot in expected {
        let path = from.join(depot);
        if !path.is_dir() {
            return Err(ReadError::MissingDepot {
                depot: depot.clone(),
                path,
            });
        }
    }
    let mut data = SecretData::default();
    for (depot, depot_dir) in visible_entries(from, "")? {
        check_name(&depot).map_err(|reason| ReadError::UnsafeName {
            depot: depot.clone(),
            key: depot.clone(),
            reason,
        })?;
        if !depot_dir.is_dir() {
            continue;
        }
        for (acl_name, acl_dir) in visible_entries(&depot_dir, &depot)? {
            let acl = match acl_name.as_str() {
                "r" => Acl::Read,
                "rw" => Acl::ReadWrite,
                _ => {
                    return Err(ReadError::UnexpectedEntry {
                        depot,
                        entry: acl_name,
                    });
                }
            };
            let root = acl_dir.canonicalize().map_err(|source| ReadError::Io {
                depot: depot.clone(),
                key: acl_name.clone(),
                path: acl_dir.clone(),
                source,
            })?;
            for (key, path) in visible_entries(&acl_dir, &depot)? {
                let value = read_key(&root, &depot, &key, &path, limit)?;
                data.insert(&depot, acl, &key, value);
            }
        }
    }
    Ok(data)
}

fn read_key(
    root: &Path,
    depot: &str,
    key: &str,
    path: &Path,
    limit: usize,
) -> Result<Vec<u8>, ReadError> {
    let io = |source| ReadError::Io {
        depot: depot.to_owned(),
        key: key.to_owned(),
        path: path.to_owned(),
        source,
    };
    let real = path.canonicalize().map_err(io)?;
    if !real.starts_with(root) {
        return Err(ReadError::Escapes {
            depot: depot.to_owned(),
            key: key.to_owned(),
        });
    }
    let file = std::fs::File::open(&real).map_err(io)?;
    let mut value = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut value)
        .map_err(io)?;
    if value.len() > limit {
        return Err(ReadError::TooLarge {
            depot: depot.to_owned(),
            key: key.to_owned(),
            limit,
        });
    }
    Ok(value)
}

//! How the catalog keeps a workload: shared with the store that owns it (a
//! reflector's, in a cluster), or packed as compact JSON when nothing else holds it
//! (workloads read from files). A parsed workload is a few kilobytes of structs,
//! maps and strings; its JSON is a tenth of that, and the webhook decodes it only
//! when it builds the workload's plan (once per change, see `inject::memo`).

use std::sync::Arc;

use crate::model::{Service, Worker, Workflow, Workload, WorkloadKind};

use super::{Undecodable, WorkloadKey};

/// One workload in the catalog, with the Stack references the index is built from.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    /// Every Stack reference of its units (`Workload::stack_references`).
    pub(super) refs: Arc<[Box<str>]>,
    body: Body,
}

#[derive(Clone, Debug)]
enum Body {
    Shared(Workload),
    Packed(WorkloadKind, Arc<[u8]>),
}

impl Entry {
    /// Keeps `workload` as it is (shared with whoever else holds it).
    pub(super) fn shared(workload: Workload) -> Self {
        Self {
            refs: refs_of(&workload),
            body: Body::Shared(workload),
        }
    }

    /// Keeps `workload` packed; shared when it cannot be serialized (it always can:
    /// plain data with string keys).
    pub(super) fn packed(workload: Workload) -> Self {
        let json = match &workload {
            Workload::Worker(w) => serde_json::to_vec(&**w),
            Workload::Service(w) => serde_json::to_vec(&**w),
            Workload::Workflow(w) => serde_json::to_vec(&**w),
        };
        match json {
            Ok(json) => Self {
                refs: refs_of(&workload),
                body: Body::Packed(workload.kind(), json.into()),
            },
            Err(_) => Self::shared(workload),
        }
    }

    /// The workload (decoded when packed). An error only if packed JSON no longer
    /// decodes, which a roundtrip test of every corpus workload rules out; callers
    /// that answer for every workload (a Depot's delete) must still count it.
    pub(super) fn workload(&self, key: &WorkloadKey) -> Result<Workload, Undecodable> {
        match &self.body {
            Body::Shared(w) => Ok(w.clone()),
            Body::Packed(kind, json) => unpack(*kind, json).map_err(|source| Undecodable {
                key: key.clone(),
                source: Arc::new(source),
            }),
        }
    }

    /// An entry whose packed JSON does not decode as `kind`, for tests of what the
    /// catalog does with one.
    #[cfg(test)]
    pub(super) fn undecodable(kind: WorkloadKind, refs: &[&str]) -> Self {
        Self {
            refs: refs.iter().map(|r| Box::from(*r)).collect(),
            body: Body::Packed(kind, Arc::from(&b"{\"spec\": 1}"[..])),
        }
    }

    /// Whether `other` is the same version of the workload: nothing derived from
    /// this one (plans, patches, Stamps) can differ for it. A cluster's objects are
    /// compared by uid, generation, labels and annotations, so a status write is no
    /// change; packed ones by their bytes.
    pub(super) fn same_version(&self, other: &Self) -> bool {
        match (&self.body, &other.body) {
            (Body::Packed(k1, a), Body::Packed(k2, b)) => k1 == k2 && a == b,
            (Body::Shared(a), Body::Shared(b)) => same_version(a, b),
            _ => false,
        }
    }

    /// Bytes this entry holds beyond its key, for sizing.
    #[cfg(test)]
    pub(super) fn packed_len(&self) -> Option<usize> {
        match &self.body {
            Body::Packed(_, json) => Some(json.len()),
            Body::Shared(_) => None,
        }
    }
}

fn refs_of(w: &Workload) -> Arc<[Box<str>]> {
    w.stack_references().into_iter().map(Box::from).collect()
}

fn unpack(kind: WorkloadKind, json: &[u8]) -> Result<Workload, serde_json::Error> {
    Ok(match kind {
        WorkloadKind::Worker => Workload::Worker(Arc::new(serde_json::from_slice::<Worker>(json)?)),
        WorkloadKind::Service => {
            Workload::Service(Arc::new(serde_json::from_slice::<Service>(json)?))
        }
        WorkloadKind::Workflow => {
            Workload::Workflow(Arc::new(serde_json::from_slice::<Workflow>(json)?))
        }
    })
}

fn same_version(a: &Workload, b: &Workload) -> bool {
    if a.kind() != b.kind() {
        return false;
    }
    let (m, n) = (a.meta(), b.meta());
    match (&m.uid, m.generation, &n.uid, n.generation) {
        // The API server bumps a custom resource's generation on every spec change
        // (never on a status change).
        (Some(u1), Some(g1), Some(u2), Some(g2)) => {
            u1 == u2 && g1 == g2 && m.labels == n.labels && m.annotations == n.annotations
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Parsed, parse_document};
    use serde_json::json;

    fn workload(v: serde_json::Value) -> Workload {
        match parse_document(v) {
            Ok(Parsed::Resource(r)) => match *r {
                crate::model::Resource::Workload(w) => w,
                other => panic!("not a workload: {other:?}"),
            },
            other => panic!("not a resource: {other:?}"),
        }
    }

    fn worker(generation: i64, status: &str) -> Workload {
        workload(json!({
            "apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
            "metadata": {"name": "w", "namespace": "team", "uid": "u1", "generation": generation,
                         "labels": {"team": "a"}},
            "spec": {"stack": "benthos:4.0", "envs": {"A": "1"},
                     "stackSpec": {"inputs": ["dataos://lake:raw/x"], "n": 3}},
            "status": {"phase": status}
        }))
    }

    #[test]
    fn a_packed_workload_decodes_to_what_was_packed() {
        let w = worker(1, "Running");
        let entry = Entry::packed(w.clone());
        assert!(entry.packed_len().is_some());
        let key = WorkloadKey {
            namespace: "team".into(),
            kind: WorkloadKind::Worker,
            name: "w".into(),
        };
        assert_eq!(entry.workload(&key).unwrap(), w);
        assert_eq!(&*entry.refs, &["benthos:4.0".into()]);
    }

    #[test]
    fn a_packed_workload_that_no_longer_decodes_is_an_error_naming_it() {
        let key = WorkloadKey {
            namespace: "team".into(),
            kind: WorkloadKind::Worker,
            name: "w".into(),
        };
        let e = Entry::undecodable(WorkloadKind::Worker, &[])
            .workload(&key)
            .unwrap_err();
        assert_eq!(e.key, key);
        assert_eq!(
            e.to_string(),
            "Worker team/w is in the catalog but its kept copy cannot be decoded"
        );
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn a_status_write_is_the_same_version_and_a_spec_change_is_not() {
        let a = Entry::shared(worker(1, "Pending"));
        assert!(a.same_version(&Entry::shared(worker(1, "Running"))));
        assert!(!a.same_version(&Entry::shared(worker(2, "Pending"))));
        // Packed entries are compared by content.
        let p = Entry::packed(worker(1, "Pending"));
        assert!(p.same_version(&Entry::packed(worker(1, "Pending"))));
        assert!(!p.same_version(&Entry::packed(worker(2, "Pending"))));
        assert!(!p.same_version(&a));
    }
}

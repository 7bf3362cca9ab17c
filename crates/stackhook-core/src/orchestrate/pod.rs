//! What Poros gives a pod besides its containers, so that a pod made from a DataOS
//! Stack's `containerResourceTemplate` never mounts a volume it lacks or reads a
//! Secret nothing makes.
//!
//! DataOS templates (the `python3` and `lakesearch` Stacks of the DataOS docs, for
//! instance) mount volumes by the names Poros gives them and read their environment
//! from a Secret Poros fills:
//!
//! | the template names | stackhook gives |
//! |---|---|
//! | `dataos-config-mount` | the unit's ConfigMap, as the webhook's `stackhook-config` volume |
//! | `dataos-secret-mount` | the projected depot secrets, as the webhook's `stackhook-secrets` volume |
//! | `workdir` | an `emptyDir` (`/etc/dataos/work`, where init containers fetch code) |
//! | `{Name}-{Type}{Stamp}-tdm` | the `tempVolume` claim |
//! | `{Name}-{Type}{Stamp}-pdm` | the `persistentVolume` claim |
//! | `envFrom: {Name}-{Type}{Stamp}-env` | the same variables, written into the container's `env` |
//!
//! The two DataOS volume names are renamed to the webhook's, so that the webhook,
//! which skips a volume or mount the pod already has, fills them and adds no second
//! mount at the same path. The `-env` Secret is not created: its content is the
//! unit's environment, which is no secret (anyone who reads the workload reads it),
//! and creating it would need the controller to hold rights on every Secret of
//! every tenant namespace.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar,
    PersistentVolumeClaimVolumeSource, PodSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::inject::{CONFIG_VOLUME, SECRETS_VOLUME};
use crate::model::Workload;
use crate::render::{self, PERSISTENT_MOUNT_PATH, TEMP_MOUNT_PATH};
use crate::resolve::Resolved;

/// Poros's name for the volume of the rendered config files.
pub const POROS_CONFIG_VOLUME: &str = "dataos-config-mount";
/// Poros's name for the volume of the projected secrets.
pub const POROS_SECRET_VOLUME: &str = "dataos-secret-mount";
/// Poros's scratch volume for code and artifacts, `/etc/dataos/work`.
pub const WORKDIR_VOLUME: &str = "workdir";

/// The names of a unit's claim volumes: `(temp, persistent)`.
fn claim_volume_names(workload: &Workload, r: &Resolved) -> (String, String) {
    let base = r.config_map_name(workload);
    (format!("{base}-tdm"), format!("{base}-pdm"))
}

fn relative(path: &str) -> &str {
    path.trim_matches('/')
}

/// The mounts of the unit's `tempVolume` and `persistentVolume` in the program's
/// default container, as Poros's own templates mount them.
pub(super) fn unit_mounts(workload: &Workload, r: &Resolved) -> Vec<VolumeMount> {
    let (temp, persistent) = claim_volume_names(workload, r);
    let mut mounts = Vec::new();
    if r.unit.temp_volume.is_some() {
        mounts.push(VolumeMount {
            name: temp,
            mount_path: TEMP_MOUNT_PATH.into(),
            sub_path: Some(format!("{}{}", r.unit.name, r.stamp)),
            ..VolumeMount::default()
        });
    }
    if let Some(pv) = &r.unit.persistent_volume {
        let dir = pv.directory.as_deref().map(relative).unwrap_or_default();
        let sub_path = pv
            .sub_path
            .as_deref()
            .map(relative)
            .filter(|s| !s.is_empty())
            .or(Some(dir).filter(|d| !d.is_empty()));
        mounts.push(VolumeMount {
            name: persistent,
            mount_path: if dir.is_empty() {
                PERSISTENT_MOUNT_PATH.into()
            } else {
                format!("{PERSISTENT_MOUNT_PATH}/{dir}")
            },
            sub_path: sub_path.map(str::to_owned),
            read_only: pv.read_only,
            ..VolumeMount::default()
        });
    }
    mounts
}

fn containers_mut(spec: &mut PodSpec) -> impl Iterator<Item = &mut Container> {
    spec.init_containers
        .iter_mut()
        .flatten()
        .chain(spec.containers.iter_mut())
}

/// Completes a pod spec: DataOS volume names renamed, the `-env` Secret's variables
/// written in, and a volume for every mount that has none. A mount that nothing
/// provides is an error naming it and its container.
pub(super) fn complete(
    spec: &mut PodSpec,
    workload: &Workload,
    r: &Resolved,
) -> Result<(), String> {
    let env_secret = render::env_secret_name(&r.unit.name, workload.kind(), &r.stamp);
    let env: Vec<EnvVar> = render::program_environment(workload, &r.unit, &r.stack)
        .into_iter()
        .map(|(name, value)| EnvVar {
            name,
            value: Some(value.unwrap_or_else(|| r.stamp.clone())),
            value_from: None,
        })
        .collect();
    for c in containers_mut(spec) {
        for m in c.volume_mounts.iter_mut().flatten() {
            match m.name.as_str() {
                POROS_CONFIG_VOLUME => m.name = CONFIG_VOLUME.into(),
                POROS_SECRET_VOLUME => m.name = SECRETS_VOLUME.into(),
                _ => {}
            }
        }
        let Some(from) = c.env_from.as_mut() else {
            continue;
        };
        let before = from.len();
        from.retain(|f| {
            f.secret_ref
                .as_ref()
                .is_none_or(|s| s.name != env_secret.as_str())
        });
        if from.len() == before {
            continue;
        }
        if from.is_empty() {
            c.env_from = None;
        }
        let set: BTreeSet<String> = c.env.iter().flatten().map(|e| e.name.clone()).collect();
        let list = c.env.get_or_insert_with(Vec::new);
        list.extend(env.iter().filter(|e| !set.contains(&e.name)).cloned());
    }

    let have: BTreeSet<String> = spec
        .volumes
        .iter()
        .flatten()
        .map(|v| v.name.clone())
        .collect();
    let (temp, persistent) = claim_volume_names(workload, r);
    let mut added: Vec<Volume> = Vec::new();
    let mut missing = None;
    let claim = |claim: &str, read_only: Option<bool>| PersistentVolumeClaimVolumeSource {
        claim_name: claim.to_owned(),
        read_only,
    };
    for c in spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
    {
        for m in c.volume_mounts.iter().flatten() {
            if have.contains(&m.name) || added.iter().any(|v| v.name == m.name) {
                continue;
            }
            let mut v = Volume {
                name: m.name.clone(),
                ..Volume::default()
            };
            match m.name.as_str() {
                CONFIG_VOLUME => {
                    v.config_map = Some(ConfigMapVolumeSource {
                        name: r.config_map_name(workload),
                        // The template mounts it without asking .HasConfigConfs; there is
                        // no ConfigMap then.
                        optional: (!r.has_config(workload)).then_some(true),
                        ..ConfigMapVolumeSource::default()
                    });
                }
                SECRETS_VOLUME => {
                    v.empty_dir = Some(EmptyDirVolumeSource {
                        medium: Some("Memory".into()),
                        size_limit: Some(Quantity("16Mi".into())),
                    });
                }
                WORKDIR_VOLUME => v.empty_dir = Some(EmptyDirVolumeSource::default()),
                n if n == temp && r.unit.temp_volume.is_some() => {
                    v.persistent_volume_claim = Some(claim(
                        r.unit.temp_volume.as_deref().unwrap_or_default(),
                        None,
                    ));
                }
                n if n == persistent && r.unit.persistent_volume.is_some() => {
                    let pv = r.unit.persistent_volume.as_ref();
                    v.persistent_volume_claim = Some(claim(
                        pv.map(|p| p.name.as_str()).unwrap_or_default(),
                        pv.and_then(|p| p.read_only),
                    ));
                }
                _ => {
                    missing.get_or_insert_with(|| (c.name.clone(), m.name.clone()));
                    continue;
                }
            }
            added.push(v);
        }
    }
    if let Some((container, volume)) = missing {
        let hint = if volume == temp {
            " (the workload has no tempVolume)"
        } else if volume == persistent {
            " (the workload has no persistentVolume)"
        } else {
            ""
        };
        return Err(format!(
            "container {container:?} mounts volume {volume:?}, which neither the template nor stackhook provides{hint}"
        ));
    }
    if !added.is_empty() {
        spec.volumes.get_or_insert_with(Vec::new).extend(added);
    }
    Ok(())
}

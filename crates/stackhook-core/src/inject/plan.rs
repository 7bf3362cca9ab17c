//! The half of an injection that does not depend on the Pod: what a workload's pods
//! get from its Stack, Depots and `stackhook-config`. Every replica of a Deployment and
//! every run of a CronJob shares one [`Plan`], so the webhook builds it once per
//! catalog (see [`super::memo`]).

use std::sync::Arc;

use serde_json::Value;

use super::{InjectError, InjectSettings};
use crate::engine::Engine;
use crate::model::{ProjectionType, WorkloadKind};
use crate::projection::env_prefix;
use crate::render::{self, DEPOT_MOUNT_ROOT};
use crate::resolve::{self, Problem};

/// An environment variable's value: text, or the Stamp the pod ends up with (its own
/// `stackhook.io/stamp` when it has one).
#[derive(Debug)]
pub(super) enum EnvValue {
    Text(String),
    Stamp,
    /// A key of a Secret (`dataosSecrets` with `keys`): `(Secret, key)`.
    SecretKey(String, String),
}

/// A Depot Secret mounted for the projector.
#[derive(Debug)]
pub(super) struct DepotVolume {
    pub(super) volume: String,
    pub(super) secret: String,
    pub(super) mount_path: String,
}

/// How the Depots' Secrets reach the program.
#[derive(Debug)]
pub(super) enum Secrets {
    /// No Depot.
    None,
    /// `envFrom` entries: (prefix, Secret name).
    EnvFrom(Vec<(String, String)>),
    /// The projector: the Secret volumes it reads, and its arguments after `--mode`'s
    /// value (`--depot`, `--file` for each Depot).
    PropFile {
        volumes: Vec<DepotVolume>,
        args: Vec<String>,
    },
}

/// What every pod of one workload unit gets.
#[derive(Debug)]
pub struct Plan {
    pub(super) kind: WorkloadKind,
    pub(super) unit_name: String,
    /// The Stamp of the workload as the catalog has it.
    pub(super) stamp: String,
    /// The Stack's reference, `name:version`.
    pub(super) stack: String,
    /// Ours, then the Stack's and the unit's (which replace ours of the same name).
    pub(super) env: Vec<(String, EnvValue)>,
    /// Whether there is a rendered config to mount.
    pub(super) has_config: bool,
    /// The `dataosSecrets` read whole, as `envFrom` entries.
    pub(super) secret_env_from: Vec<String>,
    pub(super) secrets: Secrets,
    pub(super) projector_image: String,
    pub(super) projector_resources: Value,
    /// The namespace's `secretRefresh` (a pod's annotation overrides it).
    pub(super) refresh: bool,
    pub(super) image_pull_secret: Option<String>,
    /// The stackhook version, for `stackhook.io/injected`.
    pub(super) version: String,
    /// What the response warns about (Depots that do not resolve).
    pub(super) warnings: Arc<[String]>,
}

/// Most warnings a pod's response carries.
const MAX_WARNINGS: usize = 3;

impl Plan {
    /// The plan for the unit of workload `kind/namespace/name` that a pod labelled with
    /// `step` (a DAG step) or no step (the workload itself) belongs to.
    pub(super) fn build(
        engine: &Engine<'_>,
        config: &InjectSettings,
        namespace: &str,
        kind: WorkloadKind,
        name: &str,
        step: Option<&str>,
    ) -> Result<Self, InjectError> {
        let Some(workload) = engine.catalog.workload(namespace, kind, name) else {
            // Held but not decodable is not "not found": say which.
            let undecodable = engine
                .catalog
                .undecodable_in(namespace)
                .into_iter()
                .find(|u| u.key.kind == kind && u.key.name == name);
            return Err(match undecodable {
                Some(u) => InjectError::Undecodable(u),
                None => InjectError::WorkloadNotFound {
                    kind,
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                },
            });
        };
        let resolution = resolve::resolve(engine, &workload);
        let wanted = match step {
            Some(step) => format!("{name}-{step}"),
            None => name.to_owned(),
        };
        let Some(resolved) = resolution.unit(&wanted) else {
            if step.is_some() && !render::units(&workload).iter().any(|u| u.name == wanted) {
                return Err(InjectError::StepNotFound {
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                    step: step.unwrap_or_default().to_owned(),
                });
            }
            return Err(InjectError::Stack {
                kind,
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                message: resolution
                    .problems
                    .iter()
                    .map(Problem::at)
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        };
        // Pods are made from workloads already admitted; what no longer resolves
        // (a Depot deleted since) is left out of the pod and named in a warning.
        let warnings: Arc<[String]> = resolution
            .problems
            .iter()
            .filter(|p| p.is_depot())
            .take(MAX_WARNINGS)
            .map(|p| {
                resolve::short_warning(format!(
                    "{kind} {namespace}/{name}: not mounted: {}",
                    p.at()
                ))
            })
            .collect();
        let settings = resolved.settings.clone();
        let stack = &resolved.stack;

        let mut env: Vec<(String, EnvValue)> =
            render::program_environment(&workload, &resolved.unit, stack)
                .into_iter()
                .map(|(k, v)| (k, v.map_or(EnvValue::Stamp, EnvValue::Text)))
                .collect();
        let (secret_env_from, secret_keys) = render::secret_environment(&resolved.unit);
        env.extend(
            secret_keys
                .into_iter()
                .map(|(var, secret, key)| (var, EnvValue::SecretKey(secret, key))),
        );

        let has_config = resolved.has_config(&workload);

        let secrets = if resolved.depots.is_empty() {
            Secrets::None
        } else {
            match stack.spec.projection_type() {
                ProjectionType::EnvVars => Secrets::EnvFrom(
                    resolved
                        .depots
                        .iter()
                        .map(|d| (env_prefix(d.name()), d.secret.name.clone()))
                        .collect(),
                ),
                ProjectionType::PropFile => {
                    let mut volumes = Vec::new();
                    let mut args = Vec::new();
                    for d in &resolved.depots {
                        let acl = d.secret.acl.as_str();
                        volumes.push(DepotVolume {
                            volume: format!("stackhook-depot-{}-{acl}", d.name()),
                            secret: d.secret.name.clone(),
                            mount_path: format!("{DEPOT_MOUNT_ROOT}/{}/{acl}", d.name()),
                        });
                        args.push("--depot".to_owned());
                        args.push(d.name().to_owned());
                        for f in &d.secret.files {
                            args.push("--file".to_owned());
                            args.push(format!("{}/{f}", d.name()));
                        }
                    }
                    Secrets::PropFile { volumes, args }
                }
            }
        };

        Ok(Self {
            kind: workload.kind(),
            unit_name: resolved.unit.name.clone(),
            stamp: resolved.stamp.clone(),
            stack: stack.spec.reference().to_string(),
            env,
            has_config,
            secret_env_from,
            secrets,
            projector_image: settings
                .projector_image
                .unwrap_or_else(|| config.projector_image.clone()),
            projector_resources: settings
                .projector_resources
                .unwrap_or_else(|| config.projector_resources.clone()),
            refresh: settings.secret_refresh == Some(true),
            image_pull_secret: stack
                .spec
                .image
                .as_ref()
                .and_then(|i| i.auth.as_ref())
                .map(|a| a.image_pull_secret.clone()),
            version: config.version.clone(),
            warnings,
        })
    }

    /// An estimate of the memory the plan holds, for the cache's budget.
    pub(super) fn weight(&self) -> usize {
        let env: usize = self
            .env
            .iter()
            .map(|(k, v)| {
                k.len()
                    + match v {
                        EnvValue::Text(t) => t.len(),
                        EnvValue::Stamp => 0,
                        EnvValue::SecretKey(s, k) => s.len() + k.len() + 64,
                    }
                    + 64
            })
            .sum();
        let secrets = match &self.secrets {
            Secrets::None => 0,
            Secrets::EnvFrom(l) => l.iter().map(|(p, s)| p.len() + s.len() + 48).sum(),
            Secrets::PropFile { volumes, args } => {
                volumes
                    .iter()
                    .map(|v| v.volume.len() + v.secret.len() + v.mount_path.len() + 72)
                    .sum::<usize>()
                    + args.iter().map(|a| a.len() + 24).sum::<usize>()
            }
        };
        512 + env
            + secrets
            + self
                .secret_env_from
                .iter()
                .map(|s| s.len() + 48)
                .sum::<usize>()
            + self.projector_image.len()
            + self.warnings.iter().map(String::len).sum::<usize>()
    }
}

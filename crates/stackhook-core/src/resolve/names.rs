//! Names checked where they are made (SPEC §3, "Names"): every object the controller or
//! the webhook makes for a workload gets its name here checked with the API server's
//! rules ([`crate::names`]), so that a workload whose objects could not be created is
//! refused at admission, by `validate` and by the controller alike, naming the field
//! the name comes from and the rule.
//!
//! | object | name | rule |
//! |---|---|---|
//! | every object's `stackhook.io/workload` label | `{Name}` | label value (≤ 63) |
//! | ConfigMap | `{Name}-{Type}{Stamp}` | DNS-1123 subdomain |
//! | Deployment, autoscaler, disruption budget, Ingress, Job | `{Name}` | DNS-1123 subdomain |
//! | Service | `{Name}` | DNS-1035 label |
//! | Ingress host | `{Name}.{namespace}.{suffix}` | DNS-1123 subdomain |
//! | CronJob | `{Name}` | DNS-1123 subdomain, ≤ 52 |
//! | DAG Job | `{Name}-{step}` | DNS-1123 subdomain, label value (`job-name`) |
//! | DAG step label | `{step}` | label value |
//! | claim volumes | `{Name}-{Type}{Stamp}-tdm`, `-pdm` | DNS-1123 label |
//! | depot volumes (webhook) | `stackhook-depot-{depot}-{acl}` | DNS-1123 label |
//! | Service ports | `servicePorts[].name` | DNS-1123 label, unique |
//! | env vars of the pods | `envs` keys | environment variable name |
//! | ConfigMap keys | `configs` keys | config key |

use std::collections::BTreeSet;

use super::{Problem, Resolved};
use crate::compiled::TemplateField;
use crate::model::{ProjectionType, Workload};
use crate::names;
use crate::render::{ORCHESTRATE_ANNOTATION, WORKLOAD_LABEL};

/// Whether the controller makes the workload's objects (as `orchestrate::orchestrated`).
fn orchestrated(workload: &Workload) -> bool {
    workload
        .meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get(ORCHESTRATE_ANNOTATION))
        .map(String::as_str)
        != Some("false")
}

/// Collects the problems of names, each once.
struct Names {
    problems: Vec<Problem>,
}

impl Names {
    fn check(&mut self, path: &str, object: &str, name: &str, rule: fn(&str) -> Vec<String>) {
        for rule in rule(name) {
            self.problems.push(Problem::Name {
                path: path.to_owned(),
                object: object.to_owned(),
                name: name.to_owned(),
                rule,
            });
        }
    }
}

fn cronjob_name(s: &str) -> Vec<String> {
    let mut out = names::dns1123_subdomain(s);
    if s.len() > names::CRONJOB_MAX {
        out.push(names::max_len(names::CRONJOB_MAX));
    }
    out
}

fn job_name(s: &str) -> Vec<String> {
    // The Job's pods carry `batch.kubernetes.io/job-name: <name>`, a label value.
    let mut out = names::dns1123_subdomain(s);
    out.extend(
        names::label_value(s)
            .into_iter()
            .filter(|m| m.starts_with("must be no more")),
    );
    out
}

/// The problems of the names the objects of `workload` would get, and warnings for
/// fields that the objects cannot carry. `units` are the workload's resolved units.
pub(crate) fn problems(
    workload: &Workload,
    units: &[Resolved],
    ingress_suffix: Option<&str>,
) -> (Vec<Problem>, Vec<String>) {
    let name = workload.name();
    let mut n = Names {
        problems: Vec::new(),
    };
    let mut warnings = Vec::new();
    n.check(
        "metadata.name",
        &format!("the value of label {WORKLOAD_LABEL}"),
        name,
        names::label_value,
    );
    // Variables the pods get: names the API server accepts.
    let env_names = |n: &mut Names, at: &str, envs: &std::collections::BTreeMap<String, String>| {
        for key in envs.keys() {
            let mut path = at.to_owned();
            goyaml::push_key(&mut path, key);
            n.check(&path, "the environment variable", key, names::env_var_name);
        }
    };
    env_names(&mut n, "spec.envs", &workload.common().envs);
    // `configs` become keys of the ConfigMap (file names `resolve` checks).
    for key in workload.common().configs.keys() {
        if crate::projection::check_name(key).is_err() {
            continue; // said already, as a file name
        }
        let mut path = "spec.configs".to_owned();
        goyaml::push_key(&mut path, key);
        n.check(&path, "the ConfigMap key", key, names::config_map_key);
    }
    if let Workload::Workflow(w) = workload {
        for (i, step) in w.spec.dag.iter().enumerate() {
            env_names(&mut n, &format!("spec.dag[{i}].envs"), &step.envs);
        }
    }
    let dag = matches!(workload, Workload::Workflow(w) if !w.spec.dag.is_empty());
    for r in units {
        let path = if dag {
            format!("{}.name", r.unit.path)
        } else {
            "metadata.name".to_owned()
        };
        if r.has_config(workload) {
            n.check(
                &path,
                "the ConfigMap",
                &r.config_map_name(workload),
                names::dns1123_subdomain,
            );
        }
        if r.stack.spec.projection_type() == ProjectionType::PropFile {
            for d in &r.depots {
                let at = r
                    .addresses
                    .iter()
                    .find(|a| a.address.depot == d.name())
                    .map_or_else(|| r.unit.stack_spec_path.clone(), |a| a.path.clone());
                n.check(
                    &at,
                    "the pod volume",
                    &format!("stackhook-depot-{}-{}", d.name(), d.secret.acl.as_str()),
                    names::dns1123_label,
                );
            }
        }
    }
    let Some(first) = units.first() else {
        return (n.problems, warnings);
    };
    if !orchestrated(workload)
        || first
            .compiled
            .template(workload.kind(), TemplateField::Resource)
            .is_some()
    {
        return (n.problems, warnings);
    }
    for r in units {
        let path = if dag {
            format!("{}.name", r.unit.path)
        } else {
            "metadata.name".to_owned()
        };
        let cm = r.config_map_name(workload);
        if r.unit.temp_volume.is_some() {
            n.check(
                &path,
                "the pod volume",
                &format!("{cm}-tdm"),
                names::dns1123_label,
            );
        }
        if r.unit.persistent_volume.is_some() {
            n.check(
                &path,
                "the pod volume",
                &format!("{cm}-pdm"),
                names::dns1123_label,
            );
        }
    }
    match workload {
        Workload::Worker(_) => {
            n.check(
                "metadata.name",
                "the Deployment",
                name,
                names::dns1123_subdomain,
            );
        }
        Workload::Service(s) => {
            n.check(
                "metadata.name",
                "the Deployment",
                name,
                names::dns1123_subdomain,
            );
            n.check("metadata.name", "the Service", name, names::dns1035_label);
            // As `orchestrate::service_ports`: the workload's ports, else its one port,
            // else the Stack's.
            let has_port = !s.spec.service_ports.is_empty()
                || s.spec.service_port.is_some()
                || first
                    .stack
                    .spec
                    .ports
                    .as_ref()
                    .is_some_and(|p| p.service_port.is_some());
            if !has_port {
                n.problems.push(Problem::Field {
                    path: "spec.servicePort".into(),
                    message: "a Service needs a port: set spec.servicePort or spec.servicePorts, or the Stack's ports.servicePort (a Kubernetes Service without ports is refused)".into(),
                });
            }
            let mut seen = BTreeSet::new();
            for (j, p) in s.spec.service_ports.iter().enumerate() {
                let Some(port_name) = &p.name else { continue };
                let at = format!("spec.servicePorts[{j}].name");
                n.check(&at, "the Service port", port_name, names::dns1123_label);
                if !seen.insert(port_name.as_str()) {
                    n.problems.push(Problem::Field {
                        path: at,
                        message: format!("Duplicate value: {port_name:?}"),
                    });
                }
            }
            if let Some(ingress) = s.spec.ingress.as_ref().filter(|i| i.enabled) {
                n.check(
                    "metadata.name",
                    "the Ingress",
                    name,
                    names::dns1123_subdomain,
                );
                if let Some(suffix) = ingress_suffix {
                    n.check(
                        "metadata.name",
                        "the Ingress host",
                        &format!("{name}.{}.{suffix}", workload.namespace()),
                        names::dns1123_subdomain,
                    );
                }
                if ingress.strip_path == Some(true) {
                    warnings.push(
                        "spec.ingress.stripPath is not applied: the Ingress has no rewrite; serve the path prefix".to_owned(),
                    );
                }
                if ingress.no_authentication == Some(true) {
                    warnings.push(
                        "spec.ingress.noAuthentication has no effect: stackhook's Ingress adds no authentication".to_owned(),
                    );
                }
            }
        }
        Workload::Workflow(wf) => {
            if wf.spec.dag.is_empty() {
                let cron = wf.spec.schedule.as_ref().is_some_and(|s| s.cron.is_some());
                if cron {
                    n.check("metadata.name", "the CronJob", name, cronjob_name);
                } else {
                    n.check("metadata.name", "the Job", name, job_name);
                }
            } else {
                for (i, step) in wf.spec.dag.iter().enumerate() {
                    let at = format!("spec.dag[{i}].name");
                    n.check(&at, "the Job", &format!("{name}-{}", step.name), job_name);
                    n.check(
                        &at,
                        "the value of label stackhook.io/step",
                        &step.name,
                        names::label_value,
                    );
                }
            }
        }
    }
    (n.problems, warnings)
}

#[cfg(test)]
mod tests;

//! The API server's validation of a Pod, for the fields injection adds or touches,
//! ported from `pkg/apis/core/validation` with its messages: unique volume names
//! (DNS-1123 labels, one source each), unique container names across containers and
//! init containers (DNS-1123 labels), unique port names per container, unique mount
//! paths per container, mounts of volumes that exist, valid env var names, and the
//! only restart policy an init container may have.
//!
//! `kubernetes-validate`-style schema checks do not see any of this; the tests run
//! every Pod they mutate through [`check`], so a patch the API server would refuse
//! fails a test instead of a rollout.

use std::collections::HashSet;

use serde_json::Value;

use crate::names;

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The problems the API server would find in `pod` (a whole Pod, or a Pod
/// template's `{metadata, spec}`), in its words: `spec.volumes[1].name: Duplicate
/// value: "data"`. Empty when it would accept those fields.
pub fn check(pod: &Value) -> Vec<String> {
    let spec = pod.get("spec").unwrap_or(&Value::Null);
    let mut errs = Vec::new();

    // Volumes.
    let mut volumes = HashSet::new();
    for (i, v) in list(spec, "volumes").iter().enumerate() {
        let at = format!("spec.volumes[{i}]");
        let name = str_of(v, "name");
        if name.is_empty() {
            errs.push(format!("{at}.name: Required value"));
        } else {
            for p in names::dns1123_label(name) {
                errs.push(names::invalid(&format!("{at}.name"), name, &p));
            }
            if !volumes.insert(name) {
                errs.push(format!("{at}.name: Duplicate value: {name:?}"));
            }
        }
        let sources: Vec<&String> = v
            .as_object()
            .map(|o| o.keys().filter(|k| k.as_str() != "name").collect())
            .unwrap_or_default();
        match sources.as_slice() {
            [] => errs.push(format!("{at}: Required value: must specify a volume type")),
            [_] => {}
            [_, second, ..] => errs.push(format!(
                "{at}.{second}: Forbidden: may not specify more than 1 volume type"
            )),
        }
    }

    // Containers: regular ones first, as the API server collects their names before
    // it checks the init containers against them.
    let containers = list(spec, "containers");
    let init = list(spec, "initContainers");
    let mut names_seen: HashSet<String> = HashSet::new();
    let mut check_container = |c: &Value, at: String, init_container: bool| {
        let mut errs = Vec::new();
        let name = str_of(c, "name");
        if name.is_empty() {
            errs.push(format!("{at}.name: Required value"));
        } else {
            for p in names::dns1123_label(name) {
                errs.push(names::invalid(&format!("{at}.name"), name, &p));
            }
            if !names_seen.insert(name.to_owned()) {
                errs.push(format!("{at}.name: Duplicate value: {name:?}"));
            }
        }
        let mut ports = HashSet::new();
        for (j, p) in list(c, "ports").iter().enumerate() {
            let pat = format!("{at}.ports[{j}]");
            let port_name = str_of(p, "name");
            if !port_name.is_empty() {
                let problems = names::port_name(port_name);
                if !problems.is_empty() {
                    for m in problems {
                        errs.push(names::invalid(&format!("{pat}.name"), port_name, &m));
                    }
                } else if !ports.insert(port_name) {
                    errs.push(format!("{pat}.name: Duplicate value: {port_name:?}"));
                }
            }
            match p.get("containerPort").and_then(Value::as_i64) {
                None => errs.push(format!("{pat}.containerPort: Required value")),
                Some(n) if !(1..=65535).contains(&n) => errs.push(format!(
                    "{pat}.containerPort: Invalid value: {n}: must be between 1 and 65535, inclusive"
                )),
                Some(_) => {}
            }
        }
        for (j, e) in list(c, "env").iter().enumerate() {
            let name = str_of(e, "name");
            let eat = format!("{at}.env[{j}].name");
            if name.is_empty() {
                errs.push(format!("{eat}: Required value"));
            } else {
                for m in names::env_var_name(name) {
                    errs.push(names::invalid(&eat, name, &m));
                }
            }
        }
        let mut paths = HashSet::new();
        for (j, m) in list(c, "volumeMounts").iter().enumerate() {
            let mat = format!("{at}.volumeMounts[{j}]");
            let name = str_of(m, "name");
            if name.is_empty() {
                errs.push(format!("{mat}.name: Required value"));
            } else if !volumes.contains(name) {
                errs.push(format!("{mat}.name: Not found: {name:?}"));
            }
            let path = str_of(m, "mountPath");
            if path.is_empty() {
                errs.push(format!("{mat}.mountPath: Required value"));
            } else if !paths.insert(path) {
                errs.push(format!(
                    "{mat}.mountPath: Invalid value: {path:?}: must be unique"
                ));
            }
        }
        if init_container
            && let Some(policy) = c.get("restartPolicy").and_then(Value::as_str)
            && policy != "Always"
        {
            errs.push(format!(
                "{at}.restartPolicy: Unsupported value: {policy:?}: supported values: \"Always\""
            ));
        }
        errs
    };
    if containers.is_empty() {
        errs.push("spec.containers: Required value".to_owned());
    }
    for (i, c) in containers.iter().enumerate() {
        errs.extend(check_container(c, format!("spec.containers[{i}]"), false));
    }
    for (i, c) in init.iter().enumerate() {
        errs.extend(check_container(
            c,
            format!("spec.initContainers[{i}]"),
            true,
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::check;

    #[test]
    fn a_valid_pod_has_no_problems() {
        let pod = json!({"spec": {
            "volumes": [{"name": "data", "emptyDir": {}}],
            "initContainers": [{"name": "init", "restartPolicy": "Always",
                                "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "containers": [{"name": "app", "ports": [{"name": "http", "containerPort": 80}],
                            "env": [{"name": "A", "value": "1"}],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
        }});
        assert_eq!(check(&pod), Vec::<String>::new());
    }

    #[test]
    fn every_rule_says_what_the_api_server_says() {
        let pod = json!({"spec": {
            "volumes": [
                {"name": "data", "emptyDir": {}},
                {"name": "data", "emptyDir": {}},
                {"name": "Bad_Name", "emptyDir": {}},
                {"name": "none"},
                {"name": "two", "emptyDir": {}, "secret": {"secretName": "s"}},
            ],
            "initContainers": [{"name": "app", "restartPolicy": "Never"}],
            "containers": [{
                "name": "app",
                "ports": [{"name": "http", "containerPort": 80}, {"name": "http", "containerPort": 0}],
                "env": [{"name": "1X"}],
                "volumeMounts": [
                    {"name": "data", "mountPath": "/d"},
                    {"name": "gone", "mountPath": "/d"},
                ],
            }],
        }});
        assert_eq!(
            check(&pod),
            [
                "spec.volumes[1].name: Duplicate value: \"data\"",
                "spec.volumes[2].name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                "spec.volumes[3]: Required value: must specify a volume type",
                "spec.volumes[4].secret: Forbidden: may not specify more than 1 volume type",
                "spec.containers[0].ports[1].name: Duplicate value: \"http\"",
                "spec.containers[0].ports[1].containerPort: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.containers[0].env[0].name: Invalid value: \"1X\": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')",
                "spec.containers[0].volumeMounts[1].name: Not found: \"gone\"",
                "spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/d\": must be unique",
                "spec.initContainers[0].name: Duplicate value: \"app\"",
                "spec.initContainers[0].restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
            ]
        );
    }

    #[test]
    fn a_pod_needs_a_container_and_names() {
        assert_eq!(
            check(&json!({"spec": {"volumes": [{"emptyDir": {}}],
                                   "initContainers": [{"volumeMounts": [{"name": "x"}]}]}})),
            [
                "spec.volumes[0].name: Required value",
                "spec.containers: Required value",
                "spec.initContainers[0].name: Required value",
                "spec.initContainers[0].volumeMounts[0].name: Not found: \"x\"",
                "spec.initContainers[0].volumeMounts[0].mountPath: Required value",
            ]
        );
    }
}

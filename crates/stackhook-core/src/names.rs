//! The API server's rules for names, ported with its messages
//! (`k8s.io/apimachinery/pkg/util/validation`), so that stackhook refuses at
//! admission what the API server would refuse later, in the API server's words.
//!
//! Each function returns the problems of a value, empty when it is valid; a caller
//! writes them as `<field>: Invalid value: "<value>": <problem>` ([`invalid`]).

/// The longest DNS-1123 label (and label value).
pub const LABEL_MAX: usize = 63;
/// The longest DNS-1123 subdomain.
pub const SUBDOMAIN_MAX: usize = 253;
/// The longest CronJob name: the Jobs it makes add 11 characters.
pub const CRONJOB_MAX: usize = 52;

const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_LABEL_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const CONFIG_KEY_MSG: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const ENV_VAR_MSG: &str = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')";

/// `must be no more than N characters`.
pub fn max_len(n: usize) -> String {
    format!("must be no more than {n} characters")
}

/// A field error as the API server writes it: `field: Invalid value: "value": problem`.
pub fn invalid(field: &str, value: &str, problem: &str) -> String {
    format!("{field}: Invalid value: {value:?}: {problem}")
}

fn alnum_lower(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn is_label_shape(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && alnum_lower(b[0])
        && alnum_lower(b[b.len() - 1])
        && b.iter().all(|&c| alnum_lower(c) || c == b'-')
}

/// The problems of `s` as a DNS-1123 label (a volume or container name, a label).
pub fn dns1123_label(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > LABEL_MAX {
        out.push(max_len(LABEL_MAX));
    }
    if !is_label_shape(s) {
        out.push(DNS1123_LABEL_MSG.to_owned());
    }
    out
}

/// The problems of `s` as a DNS-1123 subdomain (most object names).
pub fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > SUBDOMAIN_MAX {
        out.push(max_len(SUBDOMAIN_MAX));
    }
    if !s.split('.').all(is_label_shape) {
        out.push(DNS1123_SUBDOMAIN_MSG.to_owned());
    }
    out
}

/// The problems of `s` as a DNS-1035 label (a Service's name).
pub fn dns1035_label(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > LABEL_MAX {
        out.push(max_len(LABEL_MAX));
    }
    if !(is_label_shape(s) && s.as_bytes()[0].is_ascii_lowercase()) {
        out.push(DNS1035_LABEL_MSG.to_owned());
    }
    out
}

/// The problems of `s` as a label value.
pub fn label_value(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > LABEL_MAX {
        out.push(max_len(LABEL_MAX));
    }
    let b = s.as_bytes();
    let ok = b.is_empty()
        || (b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter()
                .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.')));
    if !ok {
        out.push(LABEL_VALUE_MSG.to_owned());
    }
    out
}

/// The problems of `s` as an environment variable's name.
pub fn env_var_name(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let ok = !b.is_empty()
        && !b[0].is_ascii_digit()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'));
    if !ok {
        out.push(ENV_VAR_MSG.to_owned());
    }
    dots(s, &mut out);
    out
}

/// The API server's rule for names that become file names (env var names, ConfigMap
/// keys): not `.`, not `..`, not starting with `..`.
fn dots(s: &str, out: &mut Vec<String>) {
    if s == "." {
        out.push("must not be '.'".to_owned());
    } else if s == ".." {
        out.push("must not be '..'".to_owned());
    } else if s.starts_with("..") {
        out.push("must not start with '..'".to_owned());
    }
}

/// The problems of `s` as a key of a ConfigMap's data (a config file's name).
pub fn config_map_key(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > SUBDOMAIN_MAX {
        out.push(max_len(SUBDOMAIN_MAX));
    }
    if s.is_empty()
        || !s
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
    {
        out.push(CONFIG_KEY_MSG.to_owned());
    }
    dots(s, &mut out);
    out
}

/// The problems of `s` as a port's name (an IANA service name).
pub fn port_name(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > 15 {
        out.push(max_len(15));
    }
    if !s.bytes().all(alnum_lower_or_hyphen) {
        out.push(
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_owned(),
        );
    }
    if !s.bytes().any(|b| b.is_ascii_lowercase()) {
        out.push("must contain at least one letter (a-z)".to_owned());
    }
    if s.contains("--") {
        out.push("must not contain consecutive hyphens".to_owned());
    }
    if s.starts_with('-') || s.ends_with('-') {
        out.push("must not begin or end with a hyphen".to_owned());
    }
    out
}

fn alnum_lower_or_hyphen(b: u8) -> bool {
    alnum_lower(b) || b == b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_rfc_1123() {
        assert!(dns1123_label("my-name").is_empty());
        assert!(dns1123_label("123-abc").is_empty());
        assert_eq!(dns1123_label("My_Name"), [DNS1123_LABEL_MSG]);
        assert_eq!(dns1123_label("-a"), [DNS1123_LABEL_MSG]);
        assert_eq!(dns1123_label(""), [DNS1123_LABEL_MSG]);
        assert_eq!(dns1123_label(&"a".repeat(64)), [max_len(63)]);
        assert!(dns1123_label(&"a".repeat(63)).is_empty());
    }

    #[test]
    fn subdomains_allow_dots_between_labels() {
        assert!(dns1123_subdomain("orders.api-v2").is_empty());
        assert_eq!(dns1123_subdomain("orders..api"), [DNS1123_SUBDOMAIN_MSG]);
        assert_eq!(dns1123_subdomain("Orders"), [DNS1123_SUBDOMAIN_MSG]);
        assert_eq!(dns1123_subdomain(&"a".repeat(254)), [max_len(253)]);
    }

    #[test]
    fn dns_1035_labels_start_with_a_letter_and_have_no_dots() {
        assert!(dns1035_label("orders-api").is_empty());
        assert_eq!(dns1035_label("orders.api-v2"), [DNS1035_LABEL_MSG]);
        assert_eq!(dns1035_label("1orders"), [DNS1035_LABEL_MSG]);
        assert_eq!(
            dns1035_label(&"a".repeat(64)),
            [max_len(63)],
            "too long, else valid"
        );
        assert_eq!(
            invalid(
                "metadata.name",
                "orders.api-v2",
                &dns1035_label("orders.api-v2")[0]
            ),
            format!("metadata.name: Invalid value: \"orders.api-v2\": {DNS1035_LABEL_MSG}")
        );
    }

    #[test]
    fn label_values_may_be_empty_or_mixed_case() {
        assert!(label_value("").is_empty());
        assert!(label_value("My_value.1").is_empty());
        assert_eq!(label_value("a b"), [LABEL_VALUE_MSG]);
        assert_eq!(label_value(&"a".repeat(64)), [max_len(63)]);
    }

    #[test]
    fn env_var_names_follow_the_api_servers_rules() {
        assert!(env_var_name("MY_ENV.NAME").is_empty());
        assert!(env_var_name("-x").is_empty());
        assert_eq!(env_var_name("1X"), [ENV_VAR_MSG]);
        assert_eq!(env_var_name("A B"), [ENV_VAR_MSG]);
        assert_eq!(env_var_name(""), [ENV_VAR_MSG]);
        assert_eq!(env_var_name(".."), ["must not be '..'"]);
        assert_eq!(env_var_name("..x"), ["must not start with '..'"]);
    }

    #[test]
    fn config_map_keys_are_file_names_of_few_characters() {
        assert!(config_map_key("app.yaml").is_empty());
        assert_eq!(config_map_key("app config.yaml"), [CONFIG_KEY_MSG]);
        assert_eq!(config_map_key(".."), ["must not be '..'"]);
        assert_eq!(config_map_key(&"a".repeat(254)), [max_len(253)]);
    }

    #[test]
    fn port_names_are_iana_service_names() {
        assert!(port_name("http").is_empty());
        assert_eq!(port_name("80"), ["must contain at least one letter (a-z)"]);
        assert_eq!(port_name("a--b"), ["must not contain consecutive hyphens"]);
        assert_eq!(port_name("http-metrics-abcd"), [max_len(15)]);
        assert_eq!(
            port_name("-Http"),
            [
                "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                "must not begin or end with a hyphen"
            ]
        );
    }
}

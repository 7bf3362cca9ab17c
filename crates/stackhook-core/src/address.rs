//! `dataos://` addresses: `dataos://depot[:collection[/dataset…]][?key=value&…]`.
//!
//! DataOS documents write the access an address needs as a query parameter
//! (`dataos://icebase:retail/city?acl=rw`, hundreds of times in its documentation),
//! DataOS v2alpha as `?purpose=r|rw`: each must be `r` or `rw`, and any other
//! parameter is an error naming it (DataOS reads no other).
//!
//! The depot part is `[a-z0-9-]+`, the collection `[A-Za-z0-9_]+`, and the dataset is
//! one or more non-empty `/`-separated segments (`dataos://gcdexport:none/a/b.csv`).
//! Errors name the offending part and its character offset in the address, so a user
//! can find it in a long `stackSpec`.

use std::fmt;

/// The scheme every address starts with.
pub const SCHEME: &str = "dataos://";

/// The query parameters an address may carry: the access it needs (`acl` as the
/// DataOS docs write it, `purpose` as v2alpha does).
const ACCESS_PARAMS: [&str; 2] = ["acl", "purpose"];

/// A parsed `dataos://` address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    /// The Depot's name (a Depot in the workload's namespace).
    pub depot: String,
    /// The collection inside the depot, if given.
    pub collection: Option<String>,
    /// The dataset path inside the collection, if given (may contain `/`).
    pub dataset: Option<String>,
    /// The query parameters after `?`, in order (`acl=rw`).
    pub params: Vec<(String, String)>,
}

/// Why an address does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The text does not start with `dataos://`.
    #[error("address {address:?} does not start with \"dataos://\"")]
    MissingScheme {
        /// The address as given.
        address: String,
    },
    /// Nothing follows the scheme.
    #[error("address {address:?} has no depot name after \"dataos://\"")]
    MissingDepot {
        /// The address as given.
        address: String,
    },
    /// The depot name has a character outside `[a-z0-9-]`.
    #[error(
        "address {address:?}: depot {depot:?} has invalid character {found:?} at offset {offset} (allowed: a-z, 0-9, -)"
    )]
    InvalidDepot {
        /// The address as given.
        address: String,
        /// The depot part.
        depot: String,
        /// The first character that is not allowed.
        found: char,
        /// Its character offset in the whole address.
        offset: usize,
    },
    /// A `:` is not followed by a collection.
    #[error("address {address:?} has an empty collection after \":\"")]
    EmptyCollection {
        /// The address as given.
        address: String,
    },
    /// The collection has a character outside `[A-Za-z0-9_]`.
    #[error(
        "address {address:?}: collection {collection:?} has invalid character {found:?} at offset {offset} (allowed: A-Z, a-z, 0-9, _)"
    )]
    InvalidCollection {
        /// The address as given.
        address: String,
        /// The collection part.
        collection: String,
        /// The first character that is not allowed.
        found: char,
        /// Its character offset in the whole address.
        offset: usize,
    },
    /// The dataset path has an empty segment (`a//b`, a trailing `/`, or nothing after `/`).
    #[error("address {address:?}: dataset {dataset:?} has an empty path segment")]
    EmptyDatasetSegment {
        /// The address as given.
        address: String,
        /// The dataset part.
        dataset: String,
    },
    /// `?acl=` or `?purpose=` is neither `r` nor `rw`.
    #[error("address {address:?}: {param} {value:?} is not r or rw")]
    InvalidAcl {
        /// The address as given.
        address: String,
        /// The parameter (`acl` or `purpose`).
        param: String,
        /// The value given.
        value: String,
    },
    /// A query parameter other than `acl` and `purpose`.
    #[error("address {address:?}: unknown parameter {param:?} (known: acl, purpose)")]
    UnknownParameter {
        /// The address as given.
        address: String,
        /// The parameter's name.
        param: String,
    },
    /// Two addresses written in one field (`dataos://a:b/cdataos://d:e/f`, or
    /// separated by a comma or space).
    #[error(
        "address {address:?} holds a second address at offset {offset}: write one address per field"
    )]
    TwoAddresses {
        /// The text as given.
        address: String,
        /// The character offset of the second `dataos://`.
        offset: usize,
    },
    /// A dataset is given without a collection (`dataos://depot/x`).
    #[error(
        "address {address:?}: a dataset needs a collection first (dataos://depot:collection/dataset)"
    )]
    DatasetWithoutCollection {
        /// The address as given.
        address: String,
    },
}

impl Address {
    /// Parses `dataos://depot[:collection[/dataset…]][?key=value&…]`.
    pub fn parse(address: &str) -> Result<Self, AddressError> {
        let own = || address.to_owned();
        let rest = address
            .strip_prefix(SCHEME)
            .ok_or_else(|| AddressError::MissingScheme { address: own() })?;
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let params: Vec<(String, String)> = query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (p.to_owned(), String::new()),
            })
            // A parameter without a name (`?&`, `?=x`) says nothing.
            .filter(|(k, _)| !k.is_empty())
            .collect();
        if let Some(at) = rest.find(SCHEME) {
            return Err(AddressError::TwoAddresses {
                address: own(),
                offset: address[..SCHEME.len() + at].chars().count(),
            });
        }
        for (k, value) in &params {
            if !ACCESS_PARAMS.contains(&k.as_str()) {
                return Err(AddressError::UnknownParameter {
                    address: own(),
                    param: k.clone(),
                });
            }
            if !matches!(value.as_str(), "r" | "rw") {
                return Err(AddressError::InvalidAcl {
                    address: own(),
                    param: k.clone(),
                    value: value.clone(),
                });
            }
        }
        if rest.is_empty() {
            return Err(AddressError::MissingDepot { address: own() });
        }
        let scheme_chars = SCHEME.chars().count();
        let depot_end = rest.find([':', '/']).unwrap_or(rest.len());
        let depot = &rest[..depot_end];
        if depot.is_empty() {
            return Err(AddressError::MissingDepot { address: own() });
        }
        if let Some((i, found)) = depot
            .chars()
            .enumerate()
            .find(|(_, c)| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(AddressError::InvalidDepot {
                address: own(),
                depot: depot.to_owned(),
                found,
                offset: scheme_chars + i,
            });
        }
        let after_depot = &rest[depot_end..];
        if after_depot.starts_with('/') {
            return Err(AddressError::DatasetWithoutCollection { address: own() });
        }
        let Some(after_colon) = after_depot.strip_prefix(':') else {
            return Ok(Self {
                depot: depot.to_owned(),
                collection: None,
                dataset: None,
                params,
            });
        };
        let (collection, dataset) = match after_colon.split_once('/') {
            Some((c, d)) => (c, Some(d)),
            None => (after_colon, None),
        };
        if collection.is_empty() {
            return Err(AddressError::EmptyCollection { address: own() });
        }
        let collection_start = scheme_chars + depot.chars().count() + 1;
        if let Some((i, found)) = collection
            .chars()
            .enumerate()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        {
            return Err(AddressError::InvalidCollection {
                address: own(),
                collection: collection.to_owned(),
                found,
                offset: collection_start + i,
            });
        }
        if let Some(dataset) = dataset
            && dataset.split('/').any(str::is_empty)
        {
            return Err(AddressError::EmptyDatasetSegment {
                address: own(),
                dataset: dataset.to_owned(),
            });
        }
        Ok(Self {
            depot: depot.to_owned(),
            collection: Some(collection.to_owned()),
            dataset: dataset.map(str::to_owned),
            params,
        })
    }

    /// The access `?acl=` (or v2alpha's `?purpose=`) asks for, `r` or `rw` (checked by
    /// [`Address::parse`]), if it is given (the last one wins).
    pub fn acl(&self) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| ACCESS_PARAMS.contains(&k.as_str()))
            .map(|(_, v)| v.as_str())
    }

    /// Whether `text` looks like an address (starts with the scheme), valid or not.
    pub fn is_address(text: &str) -> bool {
        text.starts_with(SCHEME)
    }
}

impl std::str::FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}", self.depot)?;
        if let Some(c) = &self.collection {
            write!(f, ":{c}")?;
        }
        if let Some(d) = &self.dataset {
            write!(f, "/{d}")?;
        }
        for (i, (k, v)) in self.params.iter().enumerate() {
            let sep = if i == 0 { '?' } else { '&' };
            if v.is_empty() {
                write!(f, "{sep}{k}")?;
            } else {
                write!(f, "{sep}{k}={v}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_acl_and_other_query_parameters() {
        let a = Address::parse("dataos://icebase:retail/city?acl=rw").unwrap();
        assert_eq!(
            (
                a.depot.as_str(),
                a.collection.as_deref(),
                a.dataset.as_deref()
            ),
            ("icebase", Some("retail"), Some("city"))
        );
        assert_eq!(a.acl(), Some("rw"));
        assert_eq!(a.to_string(), "dataos://icebase:retail/city?acl=rw");
        let a = Address::parse("dataos://icebase:retail?acl=r&purpose=rw").unwrap();
        assert_eq!(a.collection.as_deref(), Some("retail"));
        assert_eq!(a.dataset, None);
        assert_eq!(a.acl(), Some("rw"));
        assert_eq!(
            Address::parse("dataos://icebase:retail/city?purpose=rw")
                .unwrap()
                .acl(),
            Some("rw")
        );
        assert_eq!(
            Address::parse("dataos://icebase:retail?purpose=write")
                .unwrap_err()
                .to_string(),
            "address \"dataos://icebase:retail?purpose=write\": purpose \"write\" is not r or rw"
        );
        assert_eq!(
            Address::parse("dataos://icebase:retail?acl=r&format=csv")
                .unwrap_err()
                .to_string(),
            "address \"dataos://icebase:retail?acl=r&format=csv\": unknown parameter \"format\" (known: acl, purpose)"
        );
        let a = Address::parse("dataos://lake?&=x").unwrap();
        assert_eq!((a.acl(), a.params.len()), (None, 0));
        assert_eq!(a.to_string(), "dataos://lake");
        assert_eq!(
            Address::parse("dataos://icebase:retail?acl=admin")
                .unwrap_err()
                .to_string(),
            "address \"dataos://icebase:retail?acl=admin\": acl \"admin\" is not r or rw"
        );
    }

    #[test]
    fn two_addresses_in_one_field_are_named_as_such() {
        for text in [
            "dataos://icebase:retail/citydataos://icebase:retail/state",
            "dataos://icebase:retail/city,dataos://icebase:retail/state",
        ] {
            assert_eq!(
                Address::parse(text).unwrap_err().to_string(),
                format!(
                    "address {text:?} holds a second address at offset {}: write one address per field",
                    text.rfind("dataos://").unwrap()
                )
            );
        }
    }

    #[test]
    fn parses_the_spec_examples() {
        let a = Address::parse("dataos://icebase:retail/city").unwrap();
        assert_eq!(a.depot, "icebase");
        assert_eq!(a.collection.as_deref(), Some("retail"));
        assert_eq!(a.dataset.as_deref(), Some("city"));

        let a = Address::parse("dataos://testawslh").unwrap();
        assert_eq!(a.depot, "testawslh");
        assert_eq!(a.collection, None);

        let a = Address::parse("dataos://gcdexport:none/a/b.csv").unwrap();
        assert_eq!(a.collection.as_deref(), Some("none"));
        assert_eq!(a.dataset.as_deref(), Some("a/b.csv"));
        assert_eq!(a.to_string(), "dataos://gcdexport:none/a/b.csv");
    }

    #[test]
    fn collection_without_dataset() {
        let a = Address::parse("dataos://sys-streams:quality_profile").unwrap();
        assert_eq!(a.depot, "sys-streams");
        assert_eq!(a.collection.as_deref(), Some("quality_profile"));
        assert_eq!(a.dataset, None);
    }

    #[test]
    fn rejects_bare_scheme() {
        assert_eq!(
            Address::parse("dataos://").unwrap_err().to_string(),
            r#"address "dataos://" has no depot name after "dataos://""#
        );
    }

    #[test]
    fn rejects_uppercase_and_underscore_in_depot_naming_the_character() {
        assert_eq!(
            Address::parse("dataos://Bad_Depot:x")
                .unwrap_err()
                .to_string(),
            r#"address "dataos://Bad_Depot:x": depot "Bad_Depot" has invalid character 'B' at offset 9 (allowed: a-z, 0-9, -)"#
        );
        assert_eq!(
            Address::parse("dataos://bad_depot")
                .unwrap_err()
                .to_string(),
            r#"address "dataos://bad_depot": depot "bad_depot" has invalid character '_' at offset 12 (allowed: a-z, 0-9, -)"#
        );
    }

    #[test]
    fn rejects_wrong_scheme() {
        assert_eq!(
            Address::parse("s3://bucket").unwrap_err().to_string(),
            r#"address "s3://bucket" does not start with "dataos://""#
        );
    }

    #[test]
    fn rejects_bad_collection() {
        assert_eq!(
            Address::parse("dataos://icebase:").unwrap_err().to_string(),
            r#"address "dataos://icebase:" has an empty collection after ":""#
        );
        assert_eq!(
            Address::parse("dataos://icebase:re-tail/x")
                .unwrap_err()
                .to_string(),
            r#"address "dataos://icebase:re-tail/x": collection "re-tail" has invalid character '-' at offset 19 (allowed: A-Z, a-z, 0-9, _)"#
        );
    }

    #[test]
    fn rejects_empty_dataset_segments() {
        for bad in [
            "dataos://icebase:retail/",
            "dataos://icebase:retail//x",
            "dataos://icebase:retail/x/",
        ] {
            let e = Address::parse(bad).unwrap_err();
            assert!(
                matches!(e, AddressError::EmptyDatasetSegment { .. }),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn rejects_dataset_without_collection() {
        assert_eq!(
            Address::parse("dataos://icebase/x")
                .unwrap_err()
                .to_string(),
            r#"address "dataos://icebase/x": a dataset needs a collection first (dataos://depot:collection/dataset)"#
        );
    }

    #[test]
    fn never_panics_on_odd_input() {
        for s in [
            "dataos://ü",
            "dataos://a:ü/ü",
            "dataos://:",
            "dataos:///",
            "dataos://a::b",
        ] {
            let _ = Address::parse(s);
        }
        assert!(Address::parse("dataos://a::b").is_err());
    }
}

//! Reading an AdmissionReview in one pass.
//!
//! The API server writes a request's fields in the order of Go's `AdmissionRequest`:
//! `kind` and `operation` come before `object`. When they say a Pod is being created
//! (or `kind` does and `operation` has not come yet), the pod is read straight into the
//! view injection needs, in the same pass as the envelope; any other object is kept as
//! JSON text until the route that needs it parses it. A body whose pod does not fit the view is read again with the object
//! kept as text ([`Mode::Text`]), so that such a pod is answered, as before, with a
//! denial that says why rather than with an undecodable review.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::borrowed::Text;
use crate::inject::PodView;

/// How the request's object is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// A Pod being created into a [`PodView`], anything else as text.
    Pods,
    /// Every object as text.
    Text,
}

#[derive(Deserialize)]
pub(super) struct Gvk<'a> {
    #[serde(borrow, default)]
    pub(super) group: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) kind: Cow<'a, str>,
}

impl Gvk<'_> {
    /// Whether this is the core `Pod`.
    pub(super) fn is_pod(&self) -> bool {
        self.group.is_empty() && self.kind == "Pod"
    }
}

/// The object of a request.
pub(super) enum ObjectIn<'a> {
    /// As JSON text.
    Raw(&'a RawValue),
    /// A Pod being created, already read.
    Pod(Box<PodView<'a>>),
}

pub(super) struct ReviewIn<'a> {
    pub(super) api_version: Cow<'a, str>,
    pub(super) request: Option<RequestIn<'a>>,
}

pub(super) struct RequestIn<'a> {
    pub(super) uid: Cow<'a, str>,
    pub(super) kind: Gvk<'a>,
    pub(super) operation: Cow<'a, str>,
    pub(super) namespace: Option<Cow<'a, str>>,
    pub(super) name: Option<Cow<'a, str>>,
    pub(super) object: Option<ObjectIn<'a>>,
    pub(super) old_object: Option<&'a RawValue>,
}

/// Reads `body` as an AdmissionReview.
pub(super) fn read(body: &[u8], mode: Mode) -> Result<ReviewIn<'_>, serde_json::Error> {
    let mut d = serde_json::Deserializer::from_slice(body);
    let review = ReviewSeed(mode).deserialize(&mut d)?;
    d.end()?;
    Ok(review)
}

struct ReviewSeed(Mode);

impl<'de> DeserializeSeed<'de> for ReviewSeed {
    type Value = ReviewIn<'de>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ReviewSeed {
    type Value = ReviewIn<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an AdmissionReview")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut api_version = None;
        let mut request = None;
        while let Some(Text(key)) = map.next_key()? {
            match key.as_ref() {
                "apiVersion" => api_version = Some(map.next_value::<Text<'de>>()?.0),
                "request" => request = map.next_value_seed(OptionalRequest(self.0))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(ReviewIn {
            api_version: api_version.ok_or_else(|| de::Error::missing_field("apiVersion"))?,
            request,
        })
    }
}

/// `request`, which may be `null`.
struct OptionalRequest(Mode);

impl<'de> DeserializeSeed<'de> for OptionalRequest {
    type Value = Option<RequestIn<'de>>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptionalRequest {
    type Value = Option<RequestIn<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an AdmissionRequest")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer
            .deserialize_map(RequestVisitor(self.0))
            .map(Some)
    }
}

struct RequestVisitor(Mode);

impl<'de> Visitor<'de> for RequestVisitor {
    type Value = RequestIn<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an AdmissionRequest")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut uid = None;
        let mut kind: Option<Gvk<'de>> = None;
        let mut operation: Option<Cow<'de, str>> = None;
        let mut namespace = None;
        let mut name = None;
        let mut object = None;
        let mut old_object = None;
        while let Some(Text(key)) = map.next_key()? {
            match key.as_ref() {
                "uid" => uid = Some(map.next_value::<Text<'de>>()?.0),
                "kind" => kind = Some(map.next_value()?),
                "operation" => operation = Some(map.next_value::<Text<'de>>()?.0),
                "namespace" => namespace = map.next_value::<Option<Text<'de>>>()?.map(|t| t.0),
                "name" => name = map.next_value::<Option<Text<'de>>>()?.map(|t| t.0),
                "object" => {
                    // Only a CREATE is patched; an operation not read yet may be one.
                    let pod_create = self.0 == Mode::Pods
                        && kind.as_ref().is_some_and(Gvk::is_pod)
                        && operation.as_deref().is_none_or(|o| o == "CREATE");
                    object = if pod_create {
                        map.next_value::<Option<PodView<'de>>>()?
                            .map(|v| ObjectIn::Pod(Box::new(v)))
                    } else {
                        map.next_value::<Option<&'de RawValue>>()?
                            .map(ObjectIn::Raw)
                    };
                }
                "oldObject" => old_object = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(RequestIn {
            uid: uid.ok_or_else(|| de::Error::missing_field("uid"))?,
            kind: kind.ok_or_else(|| de::Error::missing_field("kind"))?,
            operation: operation.ok_or_else(|| de::Error::missing_field("operation"))?,
            namespace,
            name,
            object,
            old_object,
        })
    }
}

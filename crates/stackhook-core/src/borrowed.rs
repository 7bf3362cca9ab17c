//! Reading strings without copying them.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Visitor};

/// A string borrowed from the input unless it has escapes to undo. (`Cow<str>`'s own
/// `Deserialize` always copies; derived structs borrow with `#[serde(borrow)]`, which
/// hand-written visitors cannot use.)
pub(crate) struct Text<'a>(pub(crate) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(V(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_unless_there_are_escapes() {
        let plain: Text<'_> = serde_json::from_str(r#""stackhook.io/stamp""#).unwrap();
        assert!(matches!(plain.0, Cow::Borrowed("stackhook.io/stamp")));
        let escaped: Text<'_> = serde_json::from_str(r#""stackhook.io\/stamp""#).unwrap();
        assert!(matches!(escaped.0, Cow::Owned(ref s) if s == "stackhook.io/stamp"));
        let e = serde_json::from_str::<Text<'_>>("3").err().unwrap();
        assert_eq!(
            e.to_string(),
            "invalid type: integer `3`, expected a string at line 1 column 1"
        );
    }
}

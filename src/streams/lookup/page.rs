//! A LookupEvents page read from the answer's bytes: every string borrowed where it has no
//! escapes, and `CloudTrailEvent` kept as the JSON string literal AWS wrote, so a record carries
//! it out unchanged (no unescaping and escaping again).

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// The members of a LookupEvents answer the streams use; others are ignored, as the SDK does.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Page<'a> {
    #[serde(borrow, default)]
    pub events: Option<Vec<PageEvent<'a>>>,
    #[serde(borrow, default)]
    pub next_token: Option<Str<'a>>,
}

impl<'a> Page<'a> {
    /// Parses an answer's body; an error says why it is not a LookupEvents answer.
    pub fn parse(body: &'a [u8]) -> serde_json::Result<Page<'a>> {
        serde_json::from_slice(body)
    }

    pub fn events(&self) -> &[PageEvent<'a>] {
        self.events.as_deref().unwrap_or_default()
    }
}

/// One event of a page, as LookupEvents gives it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PageEvent<'a> {
    #[serde(borrow, default)]
    pub access_key_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub cloud_trail_event: Option<JsonString<'a>>,
    #[serde(borrow, default)]
    pub event_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub event_name: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub event_source: Option<Str<'a>>,
    /// Epoch seconds.
    #[serde(default)]
    pub event_time: Option<f64>,
    #[serde(borrow, default)]
    pub read_only: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub resources: Option<Vec<PageResource<'a>>>,
    #[serde(borrow, default)]
    pub username: Option<Str<'a>>,
}

impl PageEvent<'_> {
    /// The whole second of `EventTime` (LookupEvents' precision).
    pub fn second(&self) -> Option<i64> {
        self.event_time.map(|t| t.floor() as i64)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PageResource<'a> {
    #[serde(borrow, default)]
    pub resource_name: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub resource_type: Option<Str<'a>>,
}

/// A JSON string as it was written (quotes and escapes included): serialised unchanged, read
/// as text only where its content is needed. Anything but a string is refused, as the SDK does.
#[derive(Debug, Clone, Copy)]
pub struct JsonString<'a>(&'a RawValue);

impl<'a> JsonString<'a> {
    /// The string's text: borrowed when it has no escapes.
    pub fn text(&self) -> Cow<'a, str> {
        let literal: &'a str = self.0.get();
        // Checked to be a JSON string when read: quotes around, valid escapes inside.
        let inner = &literal[1..literal.len() - 1];
        if !inner.contains('\\') {
            return Cow::Borrowed(inner);
        }
        Cow::Owned(serde_json::from_str::<String>(literal).unwrap_or_default())
    }
}

/// A string member, borrowed from the body when it has no escapes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Str<'a>(pub Cow<'a, str>);

impl<'a> Str<'a> {
    pub fn get<'b>(s: &'b Option<Str<'a>>) -> Option<&'b str> {
        s.as_ref().map(|s| &*s.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonString<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <&'de RawValue>::deserialize(d)?;
        if !raw.get().starts_with('"') {
            return Err(D::Error::custom("CloudTrailEvent is not a string"));
        }
        Ok(JsonString(raw))
    }
}

impl Serialize for JsonString<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl JsonSchema for JsonString<'_> {
    fn schema_name() -> Cow<'static, str> {
        String::schema_name()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        String::json_schema(generator)
    }

    fn inline_schema() -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    proptest! {
        /// Whatever the record text, CloudTrailEvent goes out exactly as the SDK would have
        /// given it (the same string), and its text is the string's content.
        #[test]
        fn cloud_trail_event_round_trips_unchanged(record in "\\PC{0,80}") {
            let body = json!({"Events": [{"EventId": "e", "CloudTrailEvent": record}]}).to_string();
            let page = Page::parse(body.as_bytes()).unwrap();
            let e = &page.events()[0];
            let j = e.cloud_trail_event.unwrap();
            prop_assert_eq!(j.text(), record.as_str());
            let out: String = serde_json::from_str(&serde_json::to_string(&j).unwrap()).unwrap();
            prop_assert_eq!(out, record);
        }
    }

    #[test]
    fn an_answer_that_is_not_a_page_is_refused() {
        for body in [
            r#"{"Events": [{"CloudTrailEvent": {"a": 1}}]}"#,
            r#"{"Events": {}}"#,
            "<html>502</html>",
            r#"{"Events": [{"EventId": "e1"#,
        ] {
            assert!(Page::parse(body.as_bytes()).is_err(), "{body}");
        }
        let page = Page::parse(br#"{"Events": [], "NextToken": "t", "Other": [1]}"#).unwrap();
        assert!(page.events().is_empty());
        assert_eq!(Str::get(&page.next_token), Some("t"));
        let page = Page::parse(br#"{"Events": [{"EventId": "plain", "EventName": "esc\"aped"}]}"#)
            .unwrap();
        let e = &page.events()[0];
        assert!(matches!(e.event_id, Some(Str(Cow::Borrowed("plain")))));
        assert_eq!(Str::get(&e.event_name), Some("esc\"aped"));
        let page = Page::parse(br#"{"Events": [{"EventTime": 1.7e9, "EventId": null}]}"#).unwrap();
        assert_eq!(page.events()[0].second(), Some(1_700_000_000));
    }
}

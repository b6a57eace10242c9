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
    /// The string's text in `scratch` (reused from record to record, so unescaping allocates
    /// nothing), or borrowed when it has no escapes.
    pub fn text_in<'s>(&self, scratch: &'s mut String) -> &'s str
    where
        'a: 's,
    {
        let literal: &'a str = self.0.get();
        let inner = &literal[1..literal.len() - 1];
        if unescape_into(inner, scratch) {
            scratch
        } else {
            inner
        }
    }
}

/// Unescapes `inner`, the content of a JSON string literal already checked by the parser, into
/// `out`; false (and `out` untouched) when it has no escapes, so it can be used as it is.
pub fn unescape_into(inner: &str, out: &mut String) -> bool {
    let bytes = inner.as_bytes();
    let Some(first) = memchr::memchr(b'\\', bytes) else {
        return false;
    };
    out.clear();
    out.reserve(inner.len());
    let mut at = 0;
    let mut next = Some(first);
    while let Some(i) = next {
        out.push_str(&inner[at..i]);
        let (c, used) = match bytes.get(i + 1) {
            Some(b'"') => ('"', 2),
            Some(b'\\') => ('\\', 2),
            Some(b'/') => ('/', 2),
            Some(b'b') => ('\u{8}', 2),
            Some(b'f') => ('\u{c}', 2),
            Some(b'n') => ('\n', 2),
            Some(b'r') => ('\r', 2),
            Some(b't') => ('\t', 2),
            Some(b'u') => unicode_escape(&inner[i..]),
            // Not reached: the parser refused such a literal.
            _ => ('\u{fffd}', 1),
        };
        out.push(c);
        at = i + used;
        next = memchr::memchr(b'\\', &bytes[at..]).map(|j| at + j);
    }
    out.push_str(&inner[at..]);
    true
}

/// `\uXXXX` (a surrogate pair when followed by `\uXXXX`) at the start of `s`: the character and
/// how many bytes it took. A lone surrogate becomes U+FFFD, as serde_json reads it.
fn unicode_escape(s: &str) -> (char, usize) {
    let hex = |from: usize| {
        s.get(from..from + 4)
            .and_then(|h| u32::from_str_radix(h, 16).ok())
    };
    let Some(high) = hex(2) else {
        return ('\u{fffd}', 2);
    };
    if !(0xD800..0xDC00).contains(&high) {
        return (char::from_u32(high).unwrap_or('\u{fffd}'), 6);
    }
    match (s.get(6..8), hex(8)) {
        (Some("\\u"), Some(low)) if (0xDC00..0xE000).contains(&low) => {
            let c = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
            (char::from_u32(c).unwrap_or('\u{fffd}'), 12)
        }
        _ => ('\u{fffd}', 6),
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
            let mut scratch = String::new();
            prop_assert_eq!(j.text_in(&mut scratch), record.as_str());
            let out: String = serde_json::from_str(&serde_json::to_string(&j).unwrap()).unwrap();
            prop_assert_eq!(out, record);
        }
    }

    proptest! {
        /// The fast unescape reads every string as serde_json does, escapes of every kind and
        /// surrogate pairs included.
        #[test]
        fn unescaping_matches_serde_json(text in "(\\PC|[\"\\\\/\u{8}\u{c}\n\r\t\u{1}\u{7f}\u{10000}-\u{10ffff}]){0,40}", ascii in any::<bool>()) {
            let literal = if ascii {
                // serde_json writes non-ASCII as is; escaped writers send \uXXXX (pairs too).
                let mut l = String::from("\"");
                for c in text.chars() {
                    match c {
                        '"' => l.push_str("\\\""),
                        '\\' => l.push_str("\\\\"),
                        c if c.is_ascii() && !c.is_control() => l.push(c),
                        c => {
                            let mut units = [0u16; 2];
                            for u in c.encode_utf16(&mut units) {
                                l.push_str(&format!("\\u{u:04x}"));
                            }
                        }
                    }
                }
                l.push('"');
                l
            } else {
                serde_json::to_string(&text).unwrap()
            };
            let mut out = String::from("leftover");
            let escaped = unescape_into(&literal[1..literal.len() - 1], &mut out);
            let got = if escaped { out.clone() } else { literal[1..literal.len() - 1].to_string() };
            prop_assert_eq!(&got, &text);
            prop_assert_eq!(got, serde_json::from_str::<String>(&literal).unwrap());
        }
    }

    #[test]
    fn lone_surrogates_read_as_serde_json_reads_them() {
        for literal in [
            r#""\ud800""#,
            r#""a\udc00b""#,
            r#""\ud800\u0041""#,
            r#""\/\b""#,
        ] {
            let mut out = String::new();
            assert!(unescape_into(&literal[1..literal.len() - 1], &mut out));
            let theirs: Result<String, _> = serde_json::from_str(literal);
            if let Ok(theirs) = theirs {
                assert_eq!(out, theirs, "{literal}");
            }
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

//! Whether `trail_events` writes a record, decided from the members the scanner noted while it
//! walked the record (`Picks`), before anything is built.

use crate::config::{EventCategory, EventFilter};

/// The record members an event filter decides on, noted while the record is scanned so that a
/// filtered record is never built.
pub const PICKED: [&[u8]; 4] = [b"eventSource", b"eventName", b"readOnly", b"eventCategory"];

/// Where each `PICKED` member's value is (start and end in the scanned buffer, then in the
/// record's bytes); the first of a repeated name counts, as in the slow path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Picks(pub [Option<(usize, usize)>; 4]);

impl Picks {
    /// The spans moved to be relative to a record starting at `from`.
    pub fn relative_to(self, from: usize) -> Picks {
        Picks(self.0.map(|p| p.map(|(a, b)| (a - from, b - from))))
    }
}

/// A string member's value, from its JSON text (unescaped only when it holds escapes; `None`
/// when absent or not a string).
fn text(raw: Option<&[u8]>) -> Option<std::borrow::Cow<'_, str>> {
    let raw = raw?;
    let inner = raw.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if inner.contains(&b'\\') {
        serde_json::from_slice::<String>(raw).ok().map(Into::into)
    } else {
        std::str::from_utf8(inner).ok().map(Into::into)
    }
}

fn listed(list: &[String], value: Option<&str>) -> bool {
    value.is_some_and(|v| list.iter().any(|x| x == v))
}

/// Whether `filter` lets a record through as far as its `PICKED[member]` goes, that member's
/// value being the JSON text `raw` (`None`: absent). A record is kept when every member lets it
/// through, so the first member that does not decides alone: the scanner then stops reading
/// the record there.
pub fn member_keeps(filter: &EventFilter, member: usize, raw: Option<&[u8]>) -> bool {
    let allowed = |only: &Option<Vec<String>>, except: &[String]| {
        if only.is_none() && except.is_empty() {
            return true;
        }
        let value = text(raw);
        only.as_ref().is_none_or(|o| listed(o, value.as_deref()))
            && !listed(except, value.as_deref())
    };
    match member {
        0 => allowed(&filter.sources, &filter.exclude_sources),
        1 => allowed(&filter.names, &filter.exclude_names),
        2 => !(filter.exclude_read_only && raw == Some(b"true".as_slice())),
        _ => filter.categories.as_ref().is_none_or(|categories| {
            // Records before version 1.07 carry no category: they are management events.
            let category = text(raw);
            let category = category
                .as_deref()
                .unwrap_or(EventCategory::Management.as_str());
            categories.iter().any(|c| c.as_str() == category)
        }),
    }
}

/// Whether `filter` keeps `record`, whose `PICKED` members are at `picks`.
pub fn keeps(filter: &EventFilter, record: &[u8], picks: &Picks) -> bool {
    (0..PICKED.len()).all(|member| {
        let raw = picks.0[member].and_then(|(a, b)| record.get(a..b));
        member_keeps(filter, member, raw)
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Element, RecordSplitter, Shape};
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    /// The records of `file` that `filter` keeps, through the splitter.
    fn kept(filter: &EventFilter, file: &str) -> Vec<String> {
        let mut splitter = RecordSplitter::with_window(file.as_bytes(), Vec::new())
            .filtering(Some(filter.clone()));
        let mut out = Vec::new();
        while let Some(e) = splitter.next(&Shape::Any).unwrap() {
            if let Element::Record { bytes, picks, .. } = e {
                if keeps(filter, bytes, &picks) {
                    let v: Value = serde_json::from_slice(bytes).unwrap();
                    out.push(v["eventID"].as_str().unwrap().to_string());
                }
            }
        }
        out
    }

    /// The same decision, from the parsed record.
    fn model(filter: &EventFilter, r: &Value) -> bool {
        let s = |k: &str| r.get(k).and_then(Value::as_str);
        let inside = |list: &Option<Vec<String>>, v: Option<&str>| {
            list.as_ref()
                .is_none_or(|l| v.is_some_and(|v| l.iter().any(|x| x == v)))
        };
        let outside =
            |list: &[String], v: Option<&str>| v.is_none_or(|v| !list.iter().any(|x| x == v));
        inside(&filter.sources, s("eventSource"))
            && outside(&filter.exclude_sources, s("eventSource"))
            && inside(&filter.names, s("eventName"))
            && outside(&filter.exclude_names, s("eventName"))
            && !(filter.exclude_read_only && r.get("readOnly") == Some(&Value::Bool(true)))
            && filter.categories.as_ref().is_none_or(|c| {
                let category = s("eventCategory").unwrap_or("Management");
                c.iter().any(|c| c.as_str() == category)
            })
    }

    #[test]
    fn nested_and_repeated_names_do_not_decide() {
        let filter = EventFilter {
            names: Some(vec!["GetObject".into()]),
            ..EventFilter::default()
        };
        let file = r#"{"Other":{"eventName":"GetObject"},"Records":[
            {"eventID":"a","requestParameters":{"eventName":"GetObject"},"eventName":"PutObject"},
            {"eventID":"b","eventName":"Get\u004fbject"},
            {"eventID":"c","eventName":"GetObject","eventName":"PutObject"},
            {"eventID":"d"}]}"#;
        assert_eq!(kept(&filter, file), ["b", "c"]);
    }

    proptest! {
        #[test]
        fn the_scanner_decides_as_the_parsed_record_would(
            records in prop::collection::vec((
                prop::option::of(prop::sample::select(vec!["s3.amazonaws.com", "iam.amazonaws.com", "kms.amazonaws.com"])),
                prop::option::of(prop::sample::select(vec!["GetObject", "CreateUser", "Decrypt"])),
                prop::option::of(any::<bool>()),
                prop::option::of(prop::sample::select(vec!["Management", "Data", "NetworkActivity", "Insight"])),
                any::<bool>(),
            ), 1..20),
            sources in prop::option::of(prop::sample::subsequence(vec!["s3.amazonaws.com", "iam.amazonaws.com"], 0..=2)),
            exclude_names in prop::sample::subsequence(vec!["Decrypt", "CreateUser"], 0..=2),
            exclude_read_only in any::<bool>(),
            categories in prop::option::of(prop::sample::subsequence(vec![EventCategory::Management, EventCategory::Data, EventCategory::NetworkActivity], 0..=3)),
        ) {
            let filter = EventFilter {
                sources: sources.map(|s| s.into_iter().map(String::from).collect()),
                exclude_names: exclude_names.into_iter().map(String::from).collect(),
                exclude_read_only,
                categories,
                ..EventFilter::default()
            };
            let values: Vec<Value> = records.iter().enumerate().map(|(i, (source, name, read_only, category, nested))| {
                let mut r = json!({"eventID": i.to_string()});
                if let Some(v) = source { r["eventSource"] = json!(v); }
                if let Some(v) = name { r["eventName"] = json!(v); }
                if let Some(v) = read_only { r["readOnly"] = json!(v); }
                if let Some(v) = category { r["eventCategory"] = json!(v); }
                if *nested { r["requestParameters"] = json!({"eventName": "Decrypt", "readOnly": true}); }
                r
            }).collect();
            let file = json!({"Records": values}).to_string();
            let want: Vec<String> = values.iter().filter(|r| model(&filter, r)).map(|r| r["eventID"].as_str().unwrap().to_string()).collect();
            prop_assert_eq!(kept(&filter, &file), want);
        }
    }
}

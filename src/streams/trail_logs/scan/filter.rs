//! Whether `trail_events` writes a record, decided from the members the scanner noted while it
//! walked the record (`Picks`), before anything is built.

use super::json::Picks;
use crate::config::{EventCategory, EventFilter};

/// A noted string member's value (unescaped only when it holds escapes; `None` when absent or
/// not a string).
fn text<'a>(record: &'a [u8], span: Option<(usize, usize)>) -> Option<std::borrow::Cow<'a, str>> {
    let raw = record.get(span?.0..span?.1)?;
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

/// Whether `filter` keeps `record`, whose `PICKED` members are at `picks`.
pub fn keeps(filter: &EventFilter, record: &[u8], picks: &Picks) -> bool {
    let [source, name, read_only, category] = picks.0;
    if filter.sources.is_some() || !filter.exclude_sources.is_empty() {
        let source = text(record, source);
        if filter
            .sources
            .as_ref()
            .is_some_and(|s| !listed(s, source.as_deref()))
            || listed(&filter.exclude_sources, source.as_deref())
        {
            return false;
        }
    }
    if filter.names.is_some() || !filter.exclude_names.is_empty() {
        let name = text(record, name);
        if filter
            .names
            .as_ref()
            .is_some_and(|n| !listed(n, name.as_deref()))
            || listed(&filter.exclude_names, name.as_deref())
        {
            return false;
        }
    }
    if filter.exclude_read_only
        && read_only.and_then(|(a, b)| record.get(a..b)) == Some(b"true".as_slice())
    {
        return false;
    }
    if let Some(categories) = &filter.categories {
        // Records before version 1.07 carry no category: they are management events.
        let category = text(record, category);
        let category = category
            .as_deref()
            .unwrap_or(EventCategory::Management.as_str());
        if !categories.iter().any(|c| c.as_str() == category) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::{Element, RecordSplitter, Shape};
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    /// The records of `file` that `filter` keeps, through the splitter.
    fn kept(filter: &EventFilter, file: &str) -> Vec<String> {
        let mut splitter = RecordSplitter::with_window(file.as_bytes(), Vec::new());
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

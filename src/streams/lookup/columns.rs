//! The columns LookupEvents gives every event, shared by the management and Insights records,
//! with the names and JSON types of the connector this one replaces: their schema, and their
//! writing straight from the page's spans.

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::Serialize;

use super::page::{Page, PageEvent};
use super::reader::Literal;

/// The columns LookupEvents returns for every event, whatever its category, with the names and
/// JSON types of the connector this one replaces. (The schema; `write_lookup_columns` writes
/// them.)
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct LookupColumns<'a> {
    /// Access key id used to make the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<Cow<'a, str>>,
    /// The full CloudTrail record as JSON text, exactly as AWS returned it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_trail_event: Option<Cow<'a, str>>,
    /// Unique id of the event (the primary key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Cow<'a, str>>,
    /// The API call, e.g. ConsoleLogin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_name: Option<Cow<'a, str>>,
    /// The service called, e.g. signin.amazonaws.com.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_source: Option<Cow<'a, str>>,
    /// When the event happened, epoch seconds (the cursor).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_time: Option<f64>,
    /// "true" or "false": whether the call only reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<Cow<'a, str>>,
    /// Resources the call referenced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<EventResource<'a>>>,
    /// User name or role session name of the caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<Cow<'a, str>>,
}

/// A resource an event referenced.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct EventResource<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<Cow<'a, str>>,
}

/// Members of one object, each after a comma but the first.
struct Members<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl Members<'_> {
    fn key(&mut self, key: &[u8]) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.extend_from_slice(key);
    }

    /// A string member, as the page writes it (valid JSON), when it has one.
    fn string(&mut self, page: &Page, key: &[u8], value: Option<Literal>) {
        if let Some(literal) = value {
            self.key(key);
            self.out.extend_from_slice(page.json_of(literal).as_bytes());
        }
    }
}

/// Writes the data object's opening brace and the columns of `LookupColumns` for `event`, in
/// its order: every string as the page writes it, `CloudTrailEvent` included (unless it holds
/// a lone surrogate), so nothing is unescaped and escaped again.
pub fn write_lookup_columns(page: &Page, event: &PageEvent, out: &mut Vec<u8>) {
    out.push(b'{');
    let mut m = Members { out, first: true };
    m.string(page, br#""AccessKeyId":"#, event.access_key_id);
    match &event.cloud_trail_event {
        Some(record) if record.exact => {
            m.string(page, br#""CloudTrailEvent":"#, Some(record.literal))
        }
        Some(_) => {
            m.key(br#""CloudTrailEvent":"#);
            let text = &page.record_of(event).unwrap_or_default();
            serde_json::to_writer(&mut *m.out, text).expect("a string serialises");
        }
        None => {}
    }
    m.string(page, br#""EventId":"#, event.event_id);
    m.string(page, br#""EventName":"#, event.event_name);
    m.string(page, br#""EventSource":"#, event.event_source);
    if let Some(time) = event.event_time {
        m.key(br#""EventTime":"#);
        serde_json::to_writer(&mut *m.out, &time).expect("a number serialises");
    }
    m.string(page, br#""ReadOnly":"#, event.read_only);
    m.key(br#""Resources":["#);
    for (n, resource) in page.resources[event.resources.clone()].iter().enumerate() {
        if n > 0 {
            m.out.push(b',');
        }
        m.out.push(b'{');
        let mut r = Members {
            out: &mut *m.out,
            first: true,
        };
        r.string(page, br#""ResourceName":"#, resource.resource_name);
        r.string(page, br#""ResourceType":"#, resource.resource_type);
        m.out.push(b'}');
    }
    m.out.push(b']');
    m.string(page, br#""Username":"#, event.username);
}

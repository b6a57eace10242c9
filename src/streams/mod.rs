//! The streams this source offers: their catalog entries (schemas from the record types) and
//! what distinguishes the streams read from LookupEvents.

pub mod insight_events;
mod lenient;
pub mod lookup;
pub mod management_events;
pub mod trail_events;
pub mod trails;

use aws_sdk_cloudtrail::types::Event;
use serde_json::{json, Value};

use crate::config::{Config, LOOKUP_KEYS};
use crate::schema::schema_for;
use lenient::UnparsableRecord;

/// A stream read from LookupEvents.
pub struct LookupKind {
    pub name: &'static str,
    /// The `EventCategory` sent; `None` for management events.
    pub category: Option<&'static str>,
    /// The lookup attribute keys LookupEvents accepts for this category.
    pub filter_keys: &'static [&'static str],
    /// Writes the record of an event as a JSON object; reports a `CloudTrailEvent` it could not
    /// parse (the record is written all the same).
    pub write_record: fn(&Event, &mut Vec<u8>) -> serde_json::Result<Option<UnparsableRecord>>,
    pub schema: fn() -> Value,
}

pub static MANAGEMENT_EVENTS: LookupKind = LookupKind {
    name: management_events::NAME,
    category: None,
    filter_keys: LOOKUP_KEYS,
    write_record: |e, out| {
        let (record, problem) = management_events::ManagementEvent::from_event(e);
        serde_json::to_writer(out, &record).map(|()| problem)
    },
    schema: schema_for::<management_events::ManagementEvent>,
};

pub static INSIGHT_EVENTS: LookupKind = LookupKind {
    name: insight_events::NAME,
    category: Some("insight"),
    filter_keys: &["EventId", "EventName", "EventSource"],
    write_record: |e, out| {
        let (record, problem) = insight_events::InsightEvent::from_event(e);
        serde_json::to_writer(out, &record).map(|()| problem)
    },
    schema: schema_for::<insight_events::InsightEvent>,
};

/// Every stream, in catalog order.
pub static LOOKUP_STREAMS: [&LookupKind; 2] = [&MANAGEMENT_EVENTS, &INSIGHT_EVENTS];

/// The AirbyteStream entries of the catalog: `trail_events` only when `trail_logs` is set.
pub fn catalog(config: &Config) -> Vec<Value> {
    let trails = json!({
        "name": trails::NAME,
        "json_schema": schema_for::<trails::TrailRecord>(),
        "supported_sync_modes": ["full_refresh"],
        "source_defined_primary_key": [["TrailArn"]],
        "is_resumable": false
    });
    LOOKUP_STREAMS
        .iter()
        .map(|kind| {
            json!({
                "name": kind.name,
                "json_schema": (kind.schema)(),
                "supported_sync_modes": ["full_refresh", "incremental"],
                "source_defined_cursor": true,
                "default_cursor_field": ["EventTime"],
                "source_defined_primary_key": [["EventId"]],
                "is_resumable": true
            })
        })
        .chain(std::iter::once(trails))
        .chain(
            config
                .trail_logs
                .as_ref()
                .map(|_| trail_events::catalog_entry()),
        )
        .collect()
}

pub fn names(config: &Config) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = LOOKUP_STREAMS.iter().map(|k| k.name).collect();
    names.push(trails::NAME);
    if config.trail_logs.is_some() {
        names.push(trail_events::NAME);
    }
    names
}

pub fn lookup_kind(name: &str) -> Option<&'static LookupKind> {
    LOOKUP_STREAMS.iter().copied().find(|k| k.name == name)
}

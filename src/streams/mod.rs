//! The streams this source offers: their catalog entries (schemas from the record types) and
//! their readers.

pub mod lookup;
pub mod management_events;

use serde_json::{json, Value};

use crate::schema::schema_for;

/// The AirbyteStream entries of the catalog.
pub fn catalog() -> Vec<Value> {
    vec![json!({
        "name": management_events::NAME,
        "json_schema": schema_for::<management_events::ManagementEvent>(),
        "supported_sync_modes": ["full_refresh", "incremental"],
        "source_defined_cursor": true,
        "default_cursor_field": ["EventTime"],
        "source_defined_primary_key": [["EventId"]],
        "is_resumable": true
    })]
}

pub fn names() -> Vec<&'static str> {
    vec![management_events::NAME]
}

//! The columns LookupEvents gives every event, shared by the management and Insights records,
//! with the names and JSON types of the connector this one replaces.

use schemars::JsonSchema;
use serde::Serialize;

use super::page::{JsonString, PageEvent, PageResource, Str};

/// The columns LookupEvents returns for every event, whatever its category, with the names and
/// JSON types of the connector this one replaces.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct LookupColumns<'a> {
    /// Access key id used to make the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<&'a str>,
    /// The full CloudTrail record as JSON text, exactly as AWS returned it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_trail_event: Option<JsonString<'a>>,
    /// Unique id of the event (the primary key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<&'a str>,
    /// The API call, e.g. ConsoleLogin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_name: Option<&'a str>,
    /// The service called, e.g. signin.amazonaws.com.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_source: Option<&'a str>,
    /// When the event happened, epoch seconds (the cursor).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_time: Option<f64>,
    /// "true" or "false": whether the call only reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<&'a str>,
    /// Resources the call referenced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<EventResource<'a>>>,
    /// User name or role session name of the caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<&'a str>,
}

impl<'a> LookupColumns<'a> {
    pub fn from_event(e: &'a PageEvent<'_>) -> Self {
        LookupColumns {
            access_key_id: Str::get(&e.access_key_id),
            cloud_trail_event: e.cloud_trail_event,
            event_id: Str::get(&e.event_id),
            event_name: Str::get(&e.event_name),
            event_source: Str::get(&e.event_source),
            event_time: e.event_time,
            read_only: Str::get(&e.read_only),
            resources: Some(
                e.resources
                    .iter()
                    .flatten()
                    .map(EventResource::from_page)
                    .collect(),
            ),
            username: Str::get(&e.username),
        }
    }
}

/// A resource an event referenced.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct EventResource<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<&'a str>,
}

impl<'a> EventResource<'a> {
    pub fn from_page(r: &'a PageResource<'_>) -> Self {
        EventResource {
            resource_name: Str::get(&r.resource_name),
            resource_type: Str::get(&r.resource_type),
        }
    }
}

//! The streams read from LookupEvents (`management_events`, `insight_events`): what tells them
//! apart, and their one implementation of `Stream`.

pub mod columns;
pub mod cursor;
pub mod insight_events;
mod lenient;
pub mod management_events;
pub mod page;
pub mod read;
pub mod window;

use std::sync::Arc;

use serde_json::Value;

use super::{catalog_entry, ReadContext, Stream, StreamRead};
use crate::config::LOOKUP_KEYS;
use crate::emit::RecordBatch;
use crate::protocol::{AirbyteStream, SyncMode};
use crate::schema::schema_for;
use cursor::EventStreamState;
use lenient::UnparsableRecord;
use page::PageEvent;

/// A stream read from LookupEvents.
pub struct LookupKind {
    pub name: &'static str,
    /// The `EventCategory` sent; `None` for management events.
    pub category: Option<&'static str>,
    /// The lookup attribute keys LookupEvents accepts for this category.
    pub filter_keys: &'static [&'static str],
    /// Adds the record of an event to the batch; reports a `CloudTrailEvent` it could not
    /// parse (the record is added all the same).
    /// `scratch` holds the unescaped `CloudTrailEvent`, reused from record to record.
    pub push_record: fn(
        &PageEvent,
        &mut RecordBatch,
        i64,
        &mut String,
    ) -> serde_json::Result<Option<UnparsableRecord>>,
    pub schema: fn() -> Value,
}

pub static MANAGEMENT_EVENTS: LookupKind = LookupKind {
    name: management_events::NAME,
    category: None,
    filter_keys: LOOKUP_KEYS,
    push_record: |e, batch, emitted_at, scratch| {
        let text = e.cloud_trail_event.map(|j| j.text_in(scratch));
        let (record, problem) = management_events::ManagementEvent::from_event(e, text);
        batch.push(&record, emitted_at).map(|()| problem)
    },
    schema: schema_for::<management_events::ManagementEvent>,
};

pub static INSIGHT_EVENTS: LookupKind = LookupKind {
    name: insight_events::NAME,
    category: Some("insight"),
    filter_keys: &["EventId", "EventName", "EventSource"],
    push_record: |e, batch, emitted_at, scratch| {
        let text = e.cloud_trail_event.map(|j| j.text_in(scratch));
        let (record, problem) = insight_events::InsightEvent::from_event(e, text);
        batch.push(&record, emitted_at).map(|()| problem)
    },
    schema: schema_for::<insight_events::InsightEvent>,
};

impl Stream for LookupKind {
    fn name(&self) -> &'static str {
        self.name
    }

    fn catalog_entry(&self) -> AirbyteStream {
        catalog_entry(
            self.name,
            (self.schema)(),
            "EventId",
            Some("EventTime"),
            true,
        )
    }

    fn prepare(
        &'static self,
        context: &Arc<ReadContext>,
        mode: SyncMode,
        saved: Option<&Value>,
    ) -> Result<StreamRead, String> {
        let config = &context.config;
        let state = match saved {
            Some(v) => {
                EventStreamState::from_json(v, &config.regions, config.max_event_delay_secs)?
            }
            None => EventStreamState::default(),
        };
        let state = match mode {
            SyncMode::Incremental => state.for_incremental(config.max_event_delay_secs),
            // Only an interrupted full refresh's own state is resumed.
            SyncMode::FullRefresh if state.full_refresh => state,
            SyncMode::FullRefresh => EventStreamState {
                full_refresh: true,
                ..EventStreamState::default()
            },
        };
        Ok(Box::pin(read::read_stream(self, context.clone(), state)))
    }
}

//! The streams read from LookupEvents (`management_events`, `insight_events`): what tells them
//! apart, and their one implementation of `Stream`.

pub mod columns;
pub mod cursor;
mod escaped;
mod event_key;
pub mod insight_events;
mod lenient;
pub mod management_events;
pub mod page;
pub mod read;
mod reader;
pub mod record;
#[cfg(test)]
mod reference;
#[cfg(test)]
mod speed;
pub mod window;

use std::sync::{Arc, LazyLock};

use serde_json::Value;

use super::checkpoint::Checkpointer;
use super::{catalog_entry, ReadContext, ReadFuture, Stream};
use crate::config::LOOKUP_KEYS;
use crate::emit::{RecordBatch, RecordTail};
use crate::protocol::AirbyteStream;
use crate::schema::schema_for;
use columns::write_lookup_columns;
use cursor::EventStreamState;
use page::{Page, PageEvent, RecordRead};
use reader::Invalid;
use record::{Columns, Value as ColumnValue};

/// A stream read from LookupEvents.
pub struct LookupKind {
    pub name: &'static str,
    /// The `EventCategory` sent; `None` for management events.
    pub category: Option<&'static str>,
    /// The lookup attribute keys LookupEvents accepts for this category.
    pub filter_keys: &'static [&'static str],
    /// The columns flattened from the record, beside LookupEvents' own.
    pub columns: &'static LazyLock<Columns>,
    pub schema: fn() -> Value,
}

static MANAGEMENT_COLUMNS: LazyLock<Columns> =
    LazyLock::new(|| Columns::new(management_events::COLUMNS));
static INSIGHT_COLUMNS: LazyLock<Columns> = LazyLock::new(|| Columns::new(insight_events::COLUMNS));

pub static MANAGEMENT_EVENTS: LookupKind = LookupKind {
    name: management_events::NAME,
    category: None,
    filter_keys: LOOKUP_KEYS,
    columns: &MANAGEMENT_COLUMNS,
    schema: schema_for::<management_events::ManagementEvent>,
};

pub static INSIGHT_EVENTS: LookupKind = LookupKind {
    name: insight_events::NAME,
    category: Some("insight"),
    filter_keys: &["EventId", "EventName", "EventSource"],
    columns: &INSIGHT_COLUMNS,
    schema: schema_for::<insight_events::InsightEvent>,
};

impl LookupKind {
    /// Adds the record of `event` to the batch. When its `CloudTrailEvent` is not a JSON
    /// object, says why: the record goes out all the same, its flattened columns null.
    /// `values` is kept from record to record.
    pub fn push_record<'p>(
        &self,
        page: &'p Page,
        event: &PageEvent,
        batch: &mut RecordBatch,
        tail: &RecordTail,
        values: &mut Vec<Option<ColumnValue<'p>>>,
    ) -> Option<Invalid> {
        let record = event.cloud_trail_event.as_ref().map(|r| &r.read);
        let (problem, values) = match record {
            Some(RecordRead::Picked(picked)) => (None, page.values(picked)),
            Some(RecordRead::Text(text)) => {
                let problem = self.columns.pick(page.record_text(text), values).err();
                (problem, &values[..])
            }
            None => {
                values.clear();
                values.resize(self.columns.len(), None);
                (None, &values[..])
            }
        };
        batch.push_written(tail, |out| {
            write_lookup_columns(page, event, out);
            self.columns.write(values, out);
        });
        problem
    }
}

impl Stream for LookupKind {
    type State = EventStreamState;

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

    fn read(
        &'static self,
        context: Arc<ReadContext>,
        state: EventStreamState,
        checkpointer: Checkpointer,
    ) -> ReadFuture {
        Box::pin(read::read_stream(self, context, state, checkpointer))
    }
}

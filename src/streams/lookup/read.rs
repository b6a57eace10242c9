//! Reading a LookupEvents stream: every region (of every account of an organization)
//! concurrently, each in ascending time windows drained page by page (newest first inside a
//! window), a checkpoint after each window, and windows that end `max_event_delay` before now so
//! late events are never skipped.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_cloudtrail::primitives::DateTime;
use aws_sdk_cloudtrail::types::{EventCategory, LookupAttribute, LookupAttributeKey};

use super::cursor::{EventStreamState, RegionCursor};
use super::event_key::EventKey;
use super::page::{Page, PageBuffers};
use super::window::{LookupWindow, RegionPlan, Step};
use super::LookupKind;
use crate::aws::call::{Retry, RetryBudget};
use crate::aws::raw::{keeping_body, BufferPool, Slot, BODIES};
use crate::aws::RegionClient;
use crate::config::Config;
use crate::emit::{Emitter, LogLevel, RecordBatch, RecordTail};
use crate::error::{AwsProblem, Error};
use crate::streams::checkpoint::Checkpointer;
use crate::streams::{ReadContext, ReadReport};
use crate::time::{format_epoch, now_millis, now_secs, DAY_SECS};

/// Event ids seen in a window: a few per event, hashed by foldhash (already built for
/// hashbrown), as SipHash's resistance to chosen keys buys nothing against AWS's own ids.
type EventIds = HashSet<EventKey, foldhash::fast::RandomState>;

/// The buffers pages' records are framed in (see `BODIES`).
static BATCHES: BufferPool = BufferPool::new();

/// LookupEvents serves the last 90 days.
pub const RETENTION_SECS: i64 = 90 * DAY_SECS;
/// Unparsable records are each logged up to this many times per sync, then counted.
const MAX_RECORD_WARNINGS: u64 = 20;
/// A throttled wait this long is shown the platform's way (RUNNING, RATE_LIMITED).
const RATE_LIMITED_AFTER: std::time::Duration = std::time::Duration::from_secs(3);
/// Account-regions read at once. Each is paced at `requests_per_second` (2 by AWS's quota), so
/// this many keep up to 256 pages/s in flight, while the requests, connections and window
/// state in flight stay bounded however many accounts an organization has.
pub const ACCOUNT_REGIONS_AT_ONCE: usize = 128;

/// The time range one sync reads, the same for every region.
#[derive(Debug, Clone, Copy)]
pub struct SyncRange {
    /// First second to read when a region has no cursor.
    pub first: i64,
    /// Oldest second LookupEvents still serves.
    pub oldest: i64,
    /// Last second to read (inclusive).
    pub horizon: i64,
}

impl SyncRange {
    /// Incremental syncs stop `max_event_delay` before now; a full refresh reads up to now.
    pub fn new(config: &Config, incremental: bool, now: i64, emitter: &Emitter) -> SyncRange {
        let oldest = now - RETENTION_SECS;
        let first = match config.start_date {
            Some(start) if start < oldest => {
                emitter.log(
                    LogLevel::Info,
                    &format!(
                        "start_date {} is older than the 90 days LookupEvents keeps: reading from {}",
                        format_epoch(start),
                        format_epoch(oldest)
                    ),
                );
                oldest
            }
            Some(start) => start,
            None => oldest,
        };
        let horizon = if incremental {
            now - config.max_event_delay_secs
        } else {
            now
        };
        SyncRange {
            first,
            oldest,
            horizon,
        }
    }
}

/// The stream's state while a sync runs, shared by its regions. Each region's progress is
/// recorded as its windows close; the state is written when a checkpoint is due and at the end,
/// so it never runs ahead of the records written and never floods stdout.
pub struct StateBook {
    state: Mutex<(EventStreamState, Checkpointer)>,
}

impl StateBook {
    pub fn new(state: EventStreamState, checkpointer: Checkpointer) -> Self {
        StateBook {
            state: Mutex::new((state, checkpointer.first_due_now())),
        }
    }

    pub fn cursor(&self, account: Option<&str>, region: &str) -> Option<RegionCursor> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .cursor(account, region)
    }

    /// Records that `account`'s `region` is read through `read_through` (its records already
    /// written) and writes the state when a checkpoint is due.
    pub fn advance(&self, account: Option<&str>, region: &str, read_through: i64) {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (state, checkpointer) = &mut *guard;
        state.set(account, region, RegionCursor { read_through });
        checkpointer.offer(&*state);
    }

    /// Writes the state as it is, due or not: the last one of a sync (at least one per stream).
    pub fn emit(&self) -> bool {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (state, checkpointer) = &mut *guard;
        checkpointer.write(&*state)
    }
}

/// How draining a window ended.
enum WindowEnd {
    Drained {
        events: u64,
    },
    /// Too dense: stopped after emitting every event above `oldest_seen` and, of second
    /// `oldest_seen`, those in `emitted_at_oldest`.
    Split {
        events: u64,
        oldest_seen: i64,
        newest_seen: i64,
        emitted_at_oldest: EventIds,
    },
}

/// What one region's reader needs.
pub struct RegionRead {
    pub kind: &'static LookupKind,
    pub client: RegionClient,
    pub emitter: Arc<Emitter>,
    pub book: Arc<StateBook>,
    pub range: SyncRange,
    pub filter: Option<LookupAttribute>,
    pub warnings: Arc<AtomicU64>,
    /// Events dropped for an EventTime outside the window asked for.
    pub outside: Arc<AtomicU64>,
    /// Whether the region has answered in this sync: until then, a refused connection fails soon.
    pub reached: AtomicBool,
}

/// The configured filter as a LookupAttribute, when `kind` accepts its key.
pub fn lookup_attribute(config: &Config, kind: &LookupKind) -> Option<LookupAttribute> {
    let filter = config
        .lookup_filter
        .as_ref()
        .filter(|f| kind.filter_keys.contains(&f.key));
    filter.map(|f| {
        LookupAttribute::builder()
            .attribute_key(LookupAttributeKey::from(f.key))
            .attribute_value(&f.value)
            .build()
            .expect("key and value are set")
    })
}

impl RegionRead {
    /// Reads the region from its cursor to the horizon; returns the number of records.
    pub async fn run(self) -> Result<u64, Error> {
        let region = self.client.region.clone();
        let account = self.client.account.clone();
        let account = account.as_deref();
        let place = match account {
            Some(a) => format!("account {a}, {region}"),
            None => region.clone(),
        };
        let read_through = match self.book.cursor(account, &region) {
            Some(c) if c.read_through < self.range.oldest - 1 => {
                self.emitter.log(
                    LogLevel::Warn,
                    &format!(
                        "{} in {place}: the saved cursor ({}) is older than the 90 days LookupEvents keeps; events before {} can no longer be read",
                        self.kind.name,
                        format_epoch(c.read_through),
                        format_epoch(self.range.oldest)
                    ),
                );
                self.range.oldest - 1
            }
            Some(c) => c.read_through,
            None => self.range.first - 1,
        };
        let mut plan: RegionPlan<EventIds> = RegionPlan::new(read_through, self.range.horizon);
        let mut total = 0;
        while let Some(step) = plan.next_step() {
            let window = match step {
                Step::Checkpoint(second) => {
                    self.book.advance(account, &region, second);
                    continue;
                }
                Step::Read(window) => window,
            };
            match self.drain_window(window, &plan).await? {
                WindowEnd::Drained { events } => {
                    total += events;
                    let second = plan.drained(window, events);
                    self.book.advance(account, &region, second);
                }
                WindowEnd::Split {
                    events,
                    oldest_seen,
                    newest_seen,
                    emitted_at_oldest,
                } => {
                    total += events;
                    plan.split(
                        window,
                        events,
                        (oldest_seen, newest_seen),
                        emitted_at_oldest,
                    );
                }
            }
        }
        Ok(total)
    }

    /// Emits the events of `window`, newest first, skipping those that split windows above
    /// already emitted. Stops early (a split) when the window is too dense to go without a
    /// checkpoint. A NextToken that expires midway restarts the window, skipping the events
    /// already emitted.
    async fn drain_window(
        &self,
        window: LookupWindow,
        plan: &RegionPlan<EventIds>,
    ) -> Result<WindowEnd, Error> {
        let site = self.client.site("LookupEvents");
        let mut emitted = EventIds::default();
        let mut token: Option<String> = None;
        let mut guard = crate::aws::pages::PageGuard::default();
        let mut restarts = 0;
        let mut events = 0u64;
        let mut oldest_seen = i64::MAX;
        let mut newest_seen = i64::MIN;
        let mut emitted_at_oldest = EventIds::default();
        let mut buffers = PageBuffers::default();
        loop {
            let request = self
                .client
                .client
                .lookup_events()
                .start_time(DateTime::from_secs(window.start))
                .end_time(DateTime::from_secs(window.end))
                .max_results(50)
                .set_lookup_attributes(self.filter.clone().map(|a| vec![a]))
                .set_event_category(self.kind.category.map(EventCategory::from))
                .set_next_token(token.clone());
            let mut on_retry = |f: &crate::error::AwsFailure, pause: std::time::Duration| {
                if f.problem != AwsProblem::Throttled {
                    self.emitter.log(
                        LogLevel::Warn,
                        &format!("{f}; retrying in {:.1}s", pause.as_secs_f64()),
                    );
                } else if pause >= RATE_LIMITED_AFTER {
                    let reset = now_millis() + pause.as_millis() as i64;
                    self.emitter.rate_limited(self.kind.name, reset);
                }
            };
            // Until the region has answered once, a refused connection is a wrong endpoint or
            // network rather than an outage to ride out.
            let budget = if self.reached.load(Ordering::Relaxed) {
                RetryBudget::SYNC
            } else {
                RetryBudget::SYNC_FIRST_CONTACT
            };
            // The page is read from the answer's bytes (see aws::raw); one that is not a
            // LookupEvents answer is retried within the same budget, as the SDK's parse
            // failing would be.
            let mut retry = Retry::new(&self.client.pacer, &self.client.stop, budget);
            let slot = Slot::default();
            let mut body: Vec<u8> = Vec::new();
            let page = loop {
                let sent = retry
                    .call(&site, &mut on_retry, || {
                        let call = keeping_body(&slot, request.clone().send());
                        self.client.send(call)
                    })
                    .await;
                if let Err(f) = sent {
                    break Err(f);
                }
                body = slot
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take()
                    .unwrap_or_default();
                let unreadable =
                    match Page::parse(&body, std::mem::take(&mut buffers), self.kind.columns) {
                        Ok(page) => break Ok((page, body.len())),
                        Err((e, kept)) => {
                            buffers = kept;
                            site.failure(
                                AwsProblem::ServiceFault { status: 200 },
                                None,
                                format!("unreadable answer: {e}"),
                            )
                        }
                    };
                if let Err(f) = retry.pause_after(unreadable, &mut on_retry).await {
                    break Err(f);
                }
            };
            let (page, size) = match page {
                Ok(page) => {
                    self.reached.store(true, Ordering::Relaxed);
                    page
                }
                Err(f)
                    if token.is_some()
                        && f.code.as_deref() == Some("InvalidNextTokenException")
                        && restarts < 3 =>
                {
                    restarts += 1;
                    self.emitter.log(
                        LogLevel::Warn,
                        &format!(
                            "{} in {}: the NextToken expired, re-reading the window from its start",
                            self.kind.name, site.region
                        ),
                    );
                    token = None;
                    guard = Default::default();
                    continue;
                }
                Err(f) => return Err(Error::aws(f).for_stream(self.kind.name)),
            };
            let tail = RecordTail::closing(now_millis());
            // Per page, sized by the answer (records are about its size plus the columns), and
            // given back to the bounded pool after it: a reader waiting for its pacer holds no
            // buffer, so memory does not grow with the account-regions in flight.
            let mut batch = RecordBatch::with_buffer(self.kind.name, BATCHES.take(size * 3 / 2));
            // The columns' values of the page's records (they borrow the page).
            let mut values = Vec::new();
            for event in page.events() {
                let id = event.event_id.map(|id| page.text_of(id));
                let id = id.as_deref();
                // An event outside the window asked for would come again with every window
                // (and be misplaced by the split logic): not CloudTrail's behaviour, dropped.
                if let Some(t) = event.second() {
                    if !window.contains(t) {
                        self.warn_outside(id.unwrap_or("?"), t, window);
                        continue;
                    }
                }
                if let Some(id) = id {
                    let key = EventKey::of(id);
                    if plan.emitted_at_boundaries().any(|skip| skip.contains(&key))
                        || !emitted.insert(key.clone())
                    {
                        continue;
                    }
                    let second = event.second().unwrap_or(window.start);
                    newest_seen = newest_seen.max(second);
                    if second < oldest_seen {
                        oldest_seen = second;
                        emitted_at_oldest.clear();
                    }
                    if second == oldest_seen {
                        emitted_at_oldest.insert(key);
                    }
                }
                let problem = self
                    .kind
                    .push_record(&page, event, &mut batch, &tail, &mut values);
                if let Some(problem) = problem {
                    self.warn_unparsable(id.unwrap_or("?"), &problem.to_string());
                }
            }
            events += batch.len();
            self.emitter.records(&mut batch);
            BATCHES.give(batch.into_buffer());
            token = page.next_token.map(|t| page.text_of(t).into_owned());
            let listed = page.events().len();
            buffers = page.into_buffers();
            BODIES.give(body);
            // After this page's records: the window stays open in the state, read again later.
            if let Err(why) = guard.check(listed, token.as_deref()) {
                let failure = crate::aws::pages::PageGuard::failure(&site, why);
                return Err(Error::aws(failure).for_stream(self.kind.name));
            }
            if token.is_none() {
                return Ok(WindowEnd::Drained { events });
            }
            if RegionPlan::<EventIds>::should_split(window, events, oldest_seen) {
                return Ok(WindowEnd::Split {
                    events,
                    oldest_seen,
                    newest_seen,
                    emitted_at_oldest,
                });
            }
        }
    }

    fn warn_outside(&self, event_id: &str, second: i64, window: LookupWindow) {
        let n = self.outside.fetch_add(1, Ordering::Relaxed);
        if n < MAX_RECORD_WARNINGS {
            self.emitter.log(
                LogLevel::Warn,
                &format!(
                    "{} in {}: event {event_id} has EventTime {}, outside the range asked for ({} to {}): dropped, as the endpoint does not honour StartTime/EndTime",
                    self.kind.name,
                    self.client.region,
                    format_epoch(second),
                    format_epoch(window.start),
                    format_epoch(window.end)
                ),
            );
        }
    }

    fn warn_unparsable(&self, event_id: &str, problem: &str) {
        let n = self.warnings.fetch_add(1, Ordering::Relaxed);
        if n < MAX_RECORD_WARNINGS {
            self.emitter.log(
                LogLevel::Warn,
                &format!("{}: event {event_id} has a CloudTrailEvent that is not a JSON object ({problem}); it is emitted with the parsed columns empty", self.kind.name),
            );
        }
    }
}

/// Reads the stream in every region concurrently, each from its cursor in `state`.
pub async fn read_stream(
    kind: &'static LookupKind,
    context: Arc<ReadContext>,
    state: EventStreamState,
    checkpointer: Checkpointer,
) -> ReadReport {
    let name = kind.name;
    let (config, emitter) = (&context.config, &context.emitter);
    let connection = match context.cloudtrail().await {
        Ok(c) => c,
        Err(e) => return ReadReport::failed(e),
    };
    let clients = &connection.clients;
    let state = match &connection.base_account {
        Some(base) => state.adopt_as(base),
        None => state,
    };
    let filter = lookup_attribute(config, kind);
    if let (Some(f), None) = (&config.lookup_filter, &filter) {
        emitter.log(
            LogLevel::Warn,
            &format!(
                "{name}: lookup_attributes_filter on {} does not apply to this stream (LookupEvents accepts only {} for it): reading it unfiltered",
                f.key,
                kind.filter_keys.join(", ")
            ),
        );
    }
    let range = SyncRange::new(config, !state.full_refresh, now_secs(), emitter);
    let book = Arc::new(StateBook::new(state, checkpointer));
    let warnings = Arc::new(AtomicU64::new(0));
    let outside = Arc::new(AtomicU64::new(0));
    let at_once = Arc::new(tokio::sync::Semaphore::new(ACCOUNT_REGIONS_AT_ONCE));
    let tasks: Vec<_> = clients
        .iter()
        .map(|client| {
            let read = RegionRead {
                kind,
                client: client.clone(),
                emitter: emitter.clone(),
                book: book.clone(),
                range,
                filter: filter.clone(),
                warnings: warnings.clone(),
                outside: outside.clone(),
                reached: AtomicBool::new(false),
            };
            let at_once = at_once.clone();
            let place = match &client.account {
                Some(a) => format!("account {a}, {}", client.region),
                None => client.region.clone(),
            };
            let task = tokio::spawn(async move {
                let _permit = at_once.acquire_owned().await;
                read.run().await
            });
            (place, task)
        })
        .collect();
    let mut errors: Vec<Error> = connection
        .unreadable
        .iter()
        .map(|e| e.clone().for_stream(name))
        .collect();
    let mut counts = Vec::new();
    let mut total = 0u64;
    for (place, task) in tasks {
        match task.await {
            Ok(Ok(records)) => {
                total += records;
                counts.push(format!("{records} in {place}"));
            }
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(Error::Internal(format!(
                "the reader of {place} stopped: {e}"
            ))),
        }
    }
    // An organization's summary stays one line, however many accounts it has.
    if connection.accounts > 0 {
        let read = connection.accounts - connection.unreadable.len();
        counts = vec![format!(
            "{total} from {} account-regions of {read} of {} accounts",
            clients.len(),
            connection.accounts
        )];
    }
    let unparsable = warnings.load(Ordering::Relaxed);
    if unparsable > 0 {
        emitter.log(
            LogLevel::Warn,
            &format!("{name}: {unparsable} events had a CloudTrailEvent that is not a JSON object"),
        );
    }
    let dropped = outside.load(Ordering::Relaxed);
    if dropped > 0 {
        emitter.log(
            LogLevel::Warn,
            &format!("{name}: {dropped} events had an EventTime outside the range asked for and were dropped"),
        );
    }
    book.emit();
    ReadReport {
        summary: Some(format!("{name}: records read: {}", counts.join(", "))),
        errors,
    }
}

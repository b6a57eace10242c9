//! The control API under `/_emulator/` (health, stats, events, faults, requests) and the
//! in-process methods behind it that add and list events.

use std::collections::HashMap;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::emulator::scope_key;
use crate::emulator::Emulator;
use crate::faults::Faults;
use crate::http::response;
use crate::records::{management_event_of, ACCOUNT};

/// Events to add through the control API.
#[derive(Debug, Deserialize)]
pub struct NewEvents {
    pub region: String,
    /// The account whose history gets them; the base account when not set.
    #[serde(default)]
    pub account: Option<String>,
    pub events: Vec<NewEvent>,
}

#[derive(Debug, Deserialize)]
pub struct NewEvent {
    /// Epoch seconds.
    pub time: i64,
    /// Epoch seconds from which the event is visible; default: at once.
    pub visible_at: Option<f64>,
    #[serde(default)]
    pub insight: bool,
    /// Replace the generated `CloudTrailEvent` text (e.g. with invalid JSON).
    pub cloudtrail_event: Option<String>,
    /// Replace the whole LookupEvents object served for the event (missing fields, odd values);
    /// `time` still places it in the history.
    pub answer: Option<serde_json::Value>,
}

/// One event as the control API lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ListedEvent {
    pub event_id: String,
    pub event_time: i64,
    pub visible_at: f64,
    pub insight: bool,
}

impl Emulator {
    pub fn add_events(&self, new: NewEvents) -> Vec<ListedEvent> {
        let mut rng = self.inner.rng.lock().unwrap();
        let mut store = self.inner.store.write().unwrap();
        let account = new.account.as_deref().unwrap_or(ACCOUNT);
        let key = scope_key(account, &new.region);
        new.events
            .into_iter()
            .map(|e| {
                let mut generated = management_event_of(&mut rng, account, &new.region, e.time);
                if let Some(text) = e.cloudtrail_event {
                    generated.cloudtrail_event = text;
                }
                let visible_at = e.visible_at.unwrap_or(e.time as f64);
                let listed = ListedEvent {
                    event_id: generated.event_id.clone(),
                    event_time: e.time,
                    visible_at,
                    insight: e.insight,
                };
                let answer = e.answer.map(|a| a.to_string());
                store.insert(&key, generated, visible_at, e.insight, answer);
                listed
            })
            .collect()
    }

    /// Every stored event per region (`account/region` for member accounts, see `scope_key`),
    /// visible or not, newest first.
    pub fn events(&self) -> HashMap<String, Vec<ListedEvent>> {
        let store = self.inner.store.read().unwrap();
        store
            .regions()
            .map(|r| {
                let list = store
                    .events(r)
                    .iter()
                    .map(|e| ListedEvent {
                        event_id: e.event.event_id.clone(),
                        event_time: e.event.event_time,
                        visible_at: e.visible_at,
                        insight: e.insight,
                    })
                    .collect();
                (r.clone(), list)
            })
            .collect()
    }

    /// Answers `method path` under `/_emulator/`; unsigned, since only tests and tools call it.
    pub(crate) fn control(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Response<Full<Bytes>> {
        let ok = |v: serde_json::Value| response(StatusCode::OK, "application/json", v.to_string());
        let bad = |m: String| {
            response(
                StatusCode::BAD_REQUEST,
                "application/json",
                json!({"error": m}).to_string(),
            )
        };
        match (method, path) {
            ("GET", "health") => ok(json!("ok")),
            ("GET", "stats") => ok(json!(self.stats())),
            ("GET", "requests") => ok(json!(self.requests())),
            ("GET", "events") => {
                let mut all = self.events();
                if let Some(region) = query.and_then(|q| q.strip_prefix("region=")) {
                    all.retain(|r, _| r == region);
                }
                ok(json!(all))
            }
            ("POST", "events") => match serde_json::from_slice::<NewEvents>(body) {
                Ok(new) => ok(json!(self.add_events(new))),
                Err(e) => bad(e.to_string()),
            },
            ("POST", "faults") => match serde_json::from_slice::<Faults>(body) {
                Ok(f) => {
                    self.set_faults(f);
                    ok(json!("ok"))
                }
                Err(e) => bad(e.to_string()),
            },
            _ => response(StatusCode::NOT_FOUND, "application/json", "{}".into()),
        }
    }
}

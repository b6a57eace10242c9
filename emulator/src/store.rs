//! The emulator's event history and LookupEvents semantics: per-region events kept newest first,
//! inclusive time ranges, at most one lookup attribute, 50 per page, NextTokens bound to the
//! parameters that produced them, and events that only become visible some time after they happen.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde::Deserialize;

use crate::records::GeneratedEvent;

/// One stored event: the record plus when it becomes visible to LookupEvents.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub event: GeneratedEvent,
    /// Epoch seconds (fractional) from which LookupEvents returns the event.
    pub visible_at: f64,
    /// Unique, increasing insertion number: the tie-breaker inside one second.
    pub seq: u64,
    /// The LookupEvents JSON object of this event, rendered once.
    pub json: String,
    pub insight: bool,
}

/// All regions' events. Each region's list is sorted by (time, seq) descending: newest first.
#[derive(Default)]
pub struct EventStore {
    regions: HashMap<String, Vec<StoredEvent>>,
    next_seq: u64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupRequest {
    pub start_time: Option<f64>,
    pub end_time: Option<f64>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
    #[serde(default)]
    pub lookup_attributes: Vec<LookupAttribute>,
    pub event_category: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupAttribute {
    pub attribute_key: String,
    pub attribute_value: String,
}

/// An AWS error answer: `__type` and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
}

fn api_error(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        code,
        message: message.into(),
    }
}

const MANAGEMENT_KEYS: &[&str] = &[
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
];
const INSIGHT_KEYS: &[&str] = &["EventId", "EventName", "EventSource"];

impl EventStore {
    /// Stores an event; `answer` replaces the LookupEvents JSON object rendered from it (to
    /// serve odd answers: missing fields, absurd values).
    pub fn insert(
        &mut self,
        region: &str,
        event: GeneratedEvent,
        visible_at: f64,
        insight: bool,
        answer: Option<String>,
    ) {
        self.next_seq += 1;
        let json = answer.unwrap_or_else(|| render(&event));
        let list = self.regions.entry(region.to_string()).or_default();
        let stored = StoredEvent {
            event,
            visible_at,
            seq: self.next_seq,
            json,
            insight,
        };
        let key = (stored.event.event_time, stored.seq);
        let at = list.partition_point(|e| (e.event.event_time, e.seq) > key);
        list.insert(at, stored);
    }

    /// Bulk load, sorted once: for generating large data sets quickly.
    pub fn extend(
        &mut self,
        region: &str,
        events: impl IntoIterator<Item = (GeneratedEvent, f64, bool)>,
    ) {
        let list = self.regions.entry(region.to_string()).or_default();
        for (event, visible_at, insight) in events {
            self.next_seq += 1;
            let json = render(&event);
            list.push(StoredEvent {
                event,
                visible_at,
                seq: self.next_seq,
                json,
                insight,
            });
        }
        list.sort_by_key(|e| std::cmp::Reverse((e.event.event_time, e.seq)));
    }

    /// Every stored event of a region, newest first, visible or not.
    pub fn events(&self, region: &str) -> &[StoredEvent] {
        self.regions.get(region).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn regions(&self) -> impl Iterator<Item = &String> {
        self.regions.keys()
    }

    /// Answers LookupEvents in `region` at time `now` with the response body.
    pub fn lookup(&self, region: &str, req: &LookupRequest, now: f64) -> Result<String, ApiError> {
        let insight = match req.event_category.as_deref() {
            None => false,
            Some("insight") => true,
            Some(other) => {
                return Err(api_error(
                    "InvalidEventCategoryException",
                    format!("Event category {other} is not valid."),
                ))
            }
        };
        let max = req.max_results.unwrap_or(50);
        if !(1..=50).contains(&max) {
            return Err(api_error(
                "InvalidMaxResultsException",
                "MaxResults must be between 1 and 50.",
            ));
        }
        if req.lookup_attributes.len() > 1 {
            return Err(api_error(
                "InvalidLookupAttributesException",
                "You can only specify one lookup attribute.",
            ));
        }
        let attribute = req.lookup_attributes.first();
        if let Some(a) = attribute {
            let allowed = if insight {
                INSIGHT_KEYS
            } else {
                MANAGEMENT_KEYS
            };
            if !allowed.contains(&a.attribute_key.as_str()) {
                return Err(api_error(
                    "InvalidLookupAttributesException",
                    format!("The attribute key {} is not valid.", a.attribute_key),
                ));
            }
        }
        let start = req.start_time.map(|t| t.ceil() as i64).unwrap_or(i64::MIN);
        let end = req.end_time.map(|t| t.floor() as i64).unwrap_or(now as i64);
        if req.start_time.is_some() && req.end_time.is_some() && start > end {
            return Err(api_error(
                "InvalidTimeRangeException",
                "Start time must be before end time.",
            ));
        }
        let fingerprint = fingerprint(region, req);
        let list = self.events(region);
        // Resume strictly after the (time, seq) position the token names: stable even when
        // events are inserted between pages.
        let mut from = list.partition_point(|e| e.event.event_time > end);
        if let Some(token) = &req.next_token {
            let (time, seq) = parse_token(token, &fingerprint).ok_or_else(|| {
                api_error(
                    "InvalidNextTokenException",
                    "A token that is not valid was specified.",
                )
            })?;
            from = from.max(list.partition_point(|e| (e.event.event_time, e.seq) >= (time, seq)));
        }
        let mut body = String::with_capacity(4096 * max as usize);
        body.push_str("{\"Events\":[");
        let mut count = 0;
        let mut last = None;
        let mut more = false;
        for e in &list[from..] {
            if e.event.event_time < start {
                break;
            }
            if e.visible_at > now || e.insight != insight || !matches(e, attribute) {
                continue;
            }
            if count == max {
                more = true;
                break;
            }
            if count > 0 {
                body.push(',');
            }
            body.push_str(&e.json);
            count += 1;
            last = Some((e.event.event_time, e.seq));
        }
        body.push(']');
        if let (true, Some((time, seq))) = (more, last) {
            let _ = write!(body, ",\"NextToken\":\"{fingerprint}.{time}.{seq}\"");
        }
        body.push('}');
        Ok(body)
    }
}

fn matches(e: &StoredEvent, attribute: Option<&LookupAttribute>) -> bool {
    let Some(a) = attribute else { return true };
    let v = a.attribute_value.as_str();
    let ev = &e.event;
    match a.attribute_key.as_str() {
        "EventId" => ev.event_id == v,
        "EventName" => ev.event_name == v,
        "ReadOnly" => (if ev.read_only { "true" } else { "false" }) == v,
        "Username" => ev.username.as_deref() == Some(v),
        "ResourceType" => ev.resources.iter().any(|(t, _)| t == v),
        "ResourceName" => ev.resources.iter().any(|(_, n)| n == v),
        "EventSource" => ev.event_source == v,
        "AccessKeyId" => ev.access_key_id.as_deref() == Some(v),
        _ => false,
    }
}

/// A NextToken is only valid with the parameters that produced it: they are hashed into it.
fn fingerprint(region: &str, req: &LookupRequest) -> String {
    let mut canon = BTreeMap::new();
    canon.insert("region", region.to_string());
    canon.insert("start", format!("{:?}", req.start_time));
    canon.insert("end", format!("{:?}", req.end_time));
    canon.insert("category", format!("{:?}", req.event_category));
    for a in &req.lookup_attributes {
        canon.insert("attr", format!("{}={}", a.attribute_key, a.attribute_value));
    }
    let text = format!("{canon:?}");
    // FNV-1a: a stable hash, independent of the process's hasher seed.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn parse_token(token: &str, fingerprint: &str) -> Option<(i64, u64)> {
    let mut parts = token.split('.');
    if parts.next()? != fingerprint {
        return None;
    }
    let time = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((time, seq))
}

/// An event as LookupEvents lists it (one member of `Events`).
pub fn render(e: &GeneratedEvent) -> String {
    let mut v = serde_json::json!({
        "EventId": e.event_id,
        "EventName": e.event_name,
        "ReadOnly": if e.read_only { "true" } else { "false" },
        "EventTime": e.event_time as f64,
        "EventSource": e.event_source,
        "Resources": e.resources.iter().map(|(t, n)| serde_json::json!({"ResourceType": t, "ResourceName": n})).collect::<Vec<_>>(),
        "CloudTrailEvent": e.cloudtrail_event,
    });
    if let Some(u) = &e.username {
        v["Username"] = u.clone().into();
    }
    if let Some(k) = &e.access_key_id {
        v["AccessKeyId"] = k.clone().into();
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{management_event, Rng};

    fn store(times: &[i64]) -> EventStore {
        let mut s = EventStore::default();
        let mut rng = Rng::new(1);
        for &t in times {
            s.insert(
                "us-east-1",
                management_event(&mut rng, "us-east-1", t),
                t as f64,
                false,
                None,
            );
        }
        s
    }

    fn ids(body: &str) -> (Vec<f64>, Option<String>) {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        let times = v["Events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["EventTime"].as_f64().unwrap())
            .collect();
        (times, v["NextToken"].as_str().map(String::from))
    }

    fn req(start: f64, end: f64, max: i64, token: Option<String>) -> LookupRequest {
        LookupRequest {
            start_time: Some(start),
            end_time: Some(end),
            max_results: Some(max),
            next_token: token,
            lookup_attributes: vec![],
            event_category: None,
        }
    }

    #[test]
    fn pages_newest_first_with_inclusive_bounds() {
        let s = store(&[10, 11, 11, 12, 13, 14]);
        let (t, tok) = ids(&s
            .lookup("us-east-1", &req(11.0, 13.0, 2, None), 100.0)
            .unwrap());
        assert_eq!(t, vec![13.0, 12.0]);
        let (t, tok) = ids(&s
            .lookup("us-east-1", &req(11.0, 13.0, 2, tok), 100.0)
            .unwrap());
        assert_eq!(t, vec![11.0, 11.0]);
        assert!(tok.is_none());
    }

    #[test]
    fn token_is_bound_to_its_parameters() {
        let s = store(&[10, 11, 12]);
        let (_, tok) = ids(&s
            .lookup("us-east-1", &req(10.0, 12.0, 1, None), 100.0)
            .unwrap());
        let err = s
            .lookup("us-east-1", &req(10.0, 11.0, 1, tok), 100.0)
            .unwrap_err();
        assert_eq!(err.code, "InvalidNextTokenException");
    }

    #[test]
    fn invisible_events_are_hidden() {
        let mut s = store(&[10]);
        let mut rng = Rng::new(2);
        s.insert(
            "us-east-1",
            management_event(&mut rng, "us-east-1", 11),
            500.0,
            false,
            None,
        );
        let (t, _) = ids(&s
            .lookup("us-east-1", &req(0.0, 20.0, 50, None), 100.0)
            .unwrap());
        assert_eq!(t, vec![10.0]);
    }
}

//! The state of a LookupEvents stream: a cursor per region (and per account of an organization),
//! as this connector writes it (serde, errors located by path), and the previous connector's
//! `{"EventTime": …}`, read by hand.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::config::is_account_id;
use crate::emit::LogLevel;
use crate::error::brief;
use crate::streams::saved_state::SavedState;
use crate::streams::ReadContext;

/// Bounds of a plausible epoch second (year 1970 to about 5138): anything else is corrupt.
const MAX_EPOCH_SECS: f64 = 1e11;
/// How far ahead of this machine's clock a cursor may be without a warning: the clock of the
/// machine that wrote it may have run ahead a little. Further ahead, no sync has read that far,
/// and the cursor skips every event up to it: said in a warning naming the field. Not refused:
/// Airbyte's acceptance tests expect a state of abnormally large values to read nothing and
/// succeed.
const MAX_CLOCK_AHEAD_SECS: i64 = 300;

/// Everything of one region up to and including the second `read_through` has been emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionCursor {
    #[serde(deserialize_with = "epoch_second")]
    pub read_through: i64,
}

/// The cursors of one account: per region.
pub type Cursors = BTreeMap<String, RegionCursor>;

/// The state of one LookupEvents stream: a cursor per region of the credentials' own account,
/// and per account and region when an organization is read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventStreamState {
    pub regions: Cursors,
    pub accounts: BTreeMap<String, Cursors>,
    /// Written by a full refresh: its cursors reach up to the moment it ran, not
    /// `max_event_delay` before, so an incremental sync must not take them as they are.
    pub full_refresh: bool,
}

/// The `stream_state` this connector writes.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    #[serde(default)]
    state_version: u32,
    /// Always written (empty in an organization's state): versions before accounts require it.
    #[serde(default)]
    regions: Cursors,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    accounts: BTreeMap<String, Cursors>,
    /// The oldest region cursor, as the previous connector wrote it: tools that know only that
    /// field can still read the state.
    #[serde(rename = "EventTime", default, skip_serializing_if = "Option::is_none")]
    event_time: Option<f64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    full_refresh: bool,
}

const STATE_VERSION: u32 = 2;

fn epoch_second<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let v = Value::deserialize(d)?;
    epoch_secs(&v)
        .map(|t| t.floor() as i64)
        .map_err(serde::de::Error::custom)
}

impl Serialize for EventStreamState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Stored {
            state_version: STATE_VERSION,
            regions: self.regions.clone(),
            accounts: self.accounts.clone(),
            event_time: self
                .regions
                .values()
                .chain(self.accounts.values().flat_map(|a| a.values()))
                .map(|c| c.read_through)
                .min()
                .map(|t| t as f64),
            full_refresh: self.full_refresh,
        }
        .serialize(s)
    }
}

impl EventStreamState {
    /// `read` without its warnings.
    #[cfg(test)]
    pub fn from_json(v: &Value, regions: &[String], lookback_secs: i64) -> Result<Self, String> {
        Self::read(v, regions, lookback_secs, crate::time::now_secs()).map(|(state, _)| state)
    }

    /// Reads a stream state, with a warning for each cursor further ahead of `now` than any
    /// clock runs. The previous connector's `{"EventTime": T}` applies to every region in
    /// `regions`, re-reading `lookback_secs` before T: it read up to the moment it ran, so
    /// events that became visible late around T may be missing from it.
    pub fn read(
        v: &Value,
        regions: &[String],
        lookback_secs: i64,
        now: i64,
    ) -> Result<(Self, Vec<String>), String> {
        let Value::Object(map) = v else {
            return Err(format!(
                "expected an object like {{\"EventTime\": 1623346856.0}}, got {}",
                brief(v)
            ));
        };
        if map.contains_key("regions") || map.contains_key("accounts") {
            let stored: Stored = serde_path_to_error::deserialize(v)
                .map_err(|e| format!("at {}: {}", e.path(), e.inner()))?;
            if let Some(bad) = stored.accounts.keys().find(|a| !is_account_id(a)) {
                return Err(format!(
                    "at accounts: '{}' is not an account id (12 digits)",
                    bad.escape_default()
                ));
            }
            let cursors = stored
                .regions
                .iter()
                .map(|(r, c)| (format!("regions.{}", r.escape_default()), c))
                .chain(stored.accounts.iter().flat_map(|(a, cursors)| {
                    cursors
                        .iter()
                        .map(move |(r, c)| (format!("accounts.{a}.{}", r.escape_default()), c))
                }));
            let ahead = cursors
                .filter_map(|(at, c)| ahead_of(&format!("{at}.read_through"), c.read_through, now))
                .collect();
            let state = EventStreamState {
                regions: stored.regions,
                accounts: stored.accounts,
                full_refresh: stored.full_refresh,
            };
            return Ok((state, ahead));
        }
        match map.get("EventTime") {
            Some(t) => {
                let t = epoch_secs(t).map_err(|e| format!("EventTime {e}"))?;
                let ahead = ahead_of("EventTime", t.floor() as i64, now);
                let read_through = (t.floor() as i64)
                    .saturating_sub(lookback_secs)
                    .saturating_sub(1);
                let state = EventStreamState {
                    regions: regions
                        .iter()
                        .map(|r| (r.clone(), RegionCursor { read_through }))
                        .collect(),
                    accounts: BTreeMap::new(),
                    full_refresh: false,
                };
                Ok((state, ahead.into_iter().collect()))
            }
            None if map.is_empty() => Ok((EventStreamState::default(), vec![])),
            None => Err("it has neither 'regions' nor 'EventTime'".into()),
        }
    }

    /// The state an incremental sync continues from: a full refresh's cursors step back by
    /// `lookback_secs`, the delay within which events may still appear below them.
    pub fn for_incremental(mut self, lookback_secs: i64) -> Self {
        if self.full_refresh {
            let all = self.accounts.values_mut().flat_map(|a| a.values_mut());
            for c in self.regions.values_mut().chain(all) {
                c.read_through = c.read_through.saturating_sub(lookback_secs);
            }
            self.full_refresh = false;
        }
        self
    }

    /// The cursor of `account`'s `region` (`None`: the credentials' own account).
    pub fn cursor(&self, account: Option<&str>, region: &str) -> Option<RegionCursor> {
        match account {
            None => self.regions.get(region).copied(),
            Some(a) => self.accounts.get(a)?.get(region).copied(),
        }
    }

    pub fn set(&mut self, account: Option<&str>, region: &str, cursor: RegionCursor) {
        let cursors = match account {
            None => &mut self.regions,
            Some(a) => self.accounts.entry(a.to_string()).or_default(),
        };
        cursors.insert(region.to_string(), cursor);
    }

    /// Continues a single-account state as `base`'s (the account of the credentials) when an
    /// organization is read: its region cursors become `base`'s, unless `base` already has a
    /// cursor for that region (a state that holds both is already an organization's).
    pub fn adopt_as(mut self, base: &str) -> Self {
        if self.regions.is_empty() {
            return self;
        }
        let cursors = self.accounts.entry(base.to_string()).or_default();
        for (region, c) in std::mem::take(&mut self.regions) {
            cursors.entry(region).or_insert(c);
        }
        self
    }
}

/// The warning for a cursor `at` further ahead of `now` than a clock runs: it claims events
/// read that have not happened yet, and skips them when they do.
fn ahead_of(at: &str, secs: i64, now: i64) -> Option<String> {
    if secs <= now.saturating_add(MAX_CLOCK_AHEAD_SECS) {
        return None;
    }
    Some(format!(
        "{at} is {} ({secs}), after now ({}): no sync has read that far, so nothing is read up to then and events up to it will be skipped when they happen. The state was edited, or written on a machine whose clock ran ahead: reset the stream, or fix the state",
        crate::time::format_epoch(secs),
        crate::time::format_epoch(now)
    ))
}

fn epoch_secs(v: &Value) -> Result<f64, String> {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if n.is_finite() && (0.0..MAX_EPOCH_SECS).contains(&n) => Ok(n),
        _ => Err(format!(
            "must be epoch seconds (a number), got {}",
            brief(v)
        )),
    }
}

impl SavedState for EventStreamState {
    fn parse(saved: &Value, stream: &'static str, context: &ReadContext) -> Result<Self, String> {
        let config = &context.config;
        let now = crate::time::now_secs();
        let (state, ahead) =
            EventStreamState::read(saved, &config.regions, config.max_event_delay_secs, now)?;
        for warning in ahead {
            let message = format!("the saved state of stream {stream}: {warning}");
            context.emitter.log(LogLevel::Warn, &message);
        }
        Ok(state)
    }

    fn fresh(full_refresh: bool) -> Self {
        EventStreamState {
            full_refresh,
            ..EventStreamState::default()
        }
    }

    fn written_by_full_refresh(&self) -> bool {
        self.full_refresh
    }

    fn for_incremental(self, context: &ReadContext) -> Self {
        EventStreamState::for_incremental(self, context.config.max_event_delay_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::InputState;
    use proptest::prelude::*;
    use serde_json::json;

    fn regions() -> Vec<String> {
        vec!["us-east-1".into(), "eu-west-1".into()]
    }

    fn arbitrary_cursors() -> impl Strategy<Value = Cursors> {
        proptest::collection::btree_map(
            proptest::sample::select(vec!["us-east-1", "eu-west-1", "ap-south-1"])
                .prop_map(String::from),
            (0i64..10_000_000_000).prop_map(|t| RegionCursor { read_through: t }),
            0..3,
        )
    }

    fn arbitrary_state() -> impl Strategy<Value = EventStreamState> {
        let accounts = proptest::collection::btree_map(
            proptest::sample::select(vec!["111122223333", "123456789012", "444455556666"])
                .prop_map(String::from),
            arbitrary_cursors(),
            0..3,
        );
        (arbitrary_cursors(), accounts, any::<bool>()).prop_map(
            |(regions, accounts, full_refresh)| EventStreamState {
                regions,
                accounts,
                full_refresh,
            },
        )
    }

    #[test]
    fn a_single_account_state_continues_as_the_base_accounts() {
        // Both the previous connector's form and this connector's own become the base account's.
        let old = EventStreamState::from_json(&json!({"EventTime": 1000}), &regions(), 0).unwrap();
        let ours = json!({"state_version": 2, "regions": {"us-east-1": {"read_through": 1500}}});
        let ours = EventStreamState::from_json(&ours, &regions(), 0).unwrap();
        for (state, expected) in [(old, 999), (ours, 1500)] {
            let adopted = state.adopt_as("123456789012");
            assert_eq!(
                adopted.cursor(Some("123456789012"), "us-east-1"),
                Some(RegionCursor {
                    read_through: expected
                })
            );
            assert_eq!(adopted.cursor(Some("111122223333"), "us-east-1"), None);
            let v = serde_json::to_value(&adopted).unwrap();
            assert_eq!(
                v["accounts"]["123456789012"]["us-east-1"]["read_through"],
                expected
            );
            assert_eq!(v["regions"], json!({}));
            assert_eq!(v["EventTime"], expected as f64);
        }
    }

    #[test]
    fn reads_every_accepted_form() {
        let forms = [
            r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"management_events"},"stream_state":{"EventTime":1623346856.0}}}]"#,
            r#"{"management_events":{"EventTime":1623346856}}"#,
            r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"management_events","namespace":null},"stream_state":{"EventTime":1.0}},"global_":null,"data":null,"destinationStats":null},
                {"type":"STREAM","stream":{"stream_descriptor":{"name":"management_events"},"stream_state":{"EventTime":1623346856.0}},"sourceStats":{"recordCount":3.0}}]"#,
            r#"{"type":"LEGACY","data":{"management_events":{"EventTime":1623346856}}}"#,
        ];
        for text in forms {
            let input = InputState::parse(text).unwrap();
            let s =
                EventStreamState::from_json(&input.streams["management_events"], &regions(), 60)
                    .unwrap();
            assert_eq!(
                s.regions["us-east-1"].read_through,
                1_623_346_856 - 61,
                "{text}"
            );
            assert_eq!(
                s.regions["eu-west-1"].read_through,
                1_623_346_856 - 61,
                "{text}"
            );
        }
        for empty in ["", "[]", "null", "{}"] {
            assert!(InputState::parse(empty).unwrap().streams.is_empty());
        }
    }

    #[test]
    fn corrupt_states_are_named() {
        for (v, words) in [
            (json!({"EventTime": "yesterday"}), "EventTime"),
            (json!({"EventTime": -5}), "EventTime"),
            (
                json!({"regions": {"us-east-1": {"read_through": null}}}),
                "regions.us-east-1",
            ),
            (json!({"regions": []}), "regions"),
            (json!({"accounts": {"1234": {}}}), "accounts"),
            (
                json!({"accounts": {"111122223333": {"us-east-1": {"read_through": "x"}}}}),
                "accounts.111122223333.us-east-1",
            ),
            (json!({"cursor": 1}), "neither"),
            (json!([1]), "object"),
        ] {
            let e = EventStreamState::from_json(&v, &regions(), 0).unwrap_err();
            assert!(e.contains(words), "{v} -> {e}");
        }
    }

    #[test]
    fn a_cursor_ahead_of_the_clock_is_named_in_a_warning() {
        let now = 1_700_000_000;
        for (v, field) in [
            (json!({"EventTime": 4_102_444_800u64}), "EventTime"),
            (
                json!({"regions": {"us-east-1": {"read_through": 99_999_999_999u64}}}),
                "regions.us-east-1.read_through",
            ),
            (
                json!({"accounts": {"111122223333": {"eu-west-1": {"read_through": 4_102_444_800u64}}}}),
                "accounts.111122223333.eu-west-1.read_through",
            ),
        ] {
            let (_, warnings) = EventStreamState::read(&v, &regions(), 0, now).unwrap();
            assert_eq!(warnings.len(), 1, "{v}");
            assert!(warnings[0].starts_with(field), "{}", warnings[0]);
        }
        // A clock a little behind the writer's is no cause for a warning.
        let v = json!({"regions": {"us-east-1": {"read_through": now + 60}}});
        assert!(EventStreamState::read(&v, &regions(), 0, now)
            .unwrap()
            .1
            .is_empty());
    }

    #[test]
    fn a_full_refresh_state_is_marked_and_steps_back_for_incremental_syncs() {
        let mut s = EventStreamState {
            full_refresh: true,
            ..Default::default()
        };
        s.regions
            .insert("us-east-1".into(), RegionCursor { read_through: 1000 });
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["full_refresh"], true);
        assert_eq!(v["EventTime"], 1000.0);
        let back = EventStreamState::from_json(&v, &regions(), 0).unwrap();
        assert_eq!(back, s);
        let incremental = back.for_incremental(900);
        assert!(!incremental.full_refresh);
        assert_eq!(incremental.regions["us-east-1"].read_through, 100);
        let plain = serde_json::to_value(&incremental).unwrap();
        assert!(plain.get("full_refresh").is_none(), "{plain}");
    }

    proptest! {
        /// Whatever a stream state holds, reading it answers Ok or an error: never a panic,
        /// and a cursor read is always a plausible epoch second.
        #[test]
        fn any_state_is_read_or_rejected(v in crate::state::tests::arbitrary_json()) {
            if let Ok(state) = EventStreamState::from_json(&v, &regions(), 900) {
                prop_assert!(state.regions.values().all(|c| c.read_through >= -901 && (c.read_through as f64) < MAX_EPOCH_SECS));
            }
        }

        #[test]
        fn our_state_reads_back_exactly(s in arbitrary_state()) {
            let back = EventStreamState::from_json(&serde_json::to_value(&s).unwrap(), &regions(), 900).unwrap();
            prop_assert_eq!(back, s);
        }

        /// Adopting a single-account state loses no cursor and moves none backwards: every
        /// region cursor becomes the base account's unless it already had one, other accounts
        /// are untouched, and doing it again changes nothing.
        #[test]
        fn adopting_as_the_base_account_keeps_every_cursor(s in arbitrary_state(), base in proptest::sample::select(vec!["111122223333", "123456789012"])) {
            let adopted = s.clone().adopt_as(base);
            prop_assert!(adopted.regions.is_empty());
            for (region, c) in &s.regions {
                let kept = s.cursor(Some(base), region).unwrap_or(*c);
                prop_assert_eq!(adopted.cursor(Some(base), region), Some(kept));
            }
            for (account, cursors) in &s.accounts {
                for (region, c) in cursors {
                    prop_assert_eq!(adopted.cursor(Some(account), region), Some(*c));
                }
            }
            for (account, cursors) in &adopted.accounts {
                prop_assert!(account == base || s.accounts.get(account) == Some(cursors));
            }
            prop_assert_eq!(adopted.clone().adopt_as(base), adopted);
        }
    }
}

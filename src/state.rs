//! Incremental state: per-region cursors of the event streams, and reading every state form a
//! user may hand us (Airbyte's STREAM messages, the legacy per-stream object, the previous
//! connector's `{"EventTime": …}`, PyAirbyte's `[]`).

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use crate::error::Error;

/// Everything of one region up to and including the second `read_through` has been emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionCursor {
    pub read_through: i64,
}

/// The state of one LookupEvents stream: a cursor per region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventStreamState {
    pub regions: BTreeMap<String, RegionCursor>,
}

/// Bounds of a plausible epoch second (year 1970 to about 5138): anything else is corrupt.
const MAX_EPOCH_SECS: f64 = 1e11;

impl EventStreamState {
    /// The `stream_state` we write. `EventTime` (the oldest region cursor, as the previous
    /// connector wrote it) keeps the state readable by tools that know only that field.
    pub fn to_json(&self) -> Value {
        let regions: serde_json::Map<String, Value> = self
            .regions
            .iter()
            .map(|(r, c)| (r.clone(), json!({ "read_through": c.read_through })))
            .collect();
        let mut state = json!({ "state_version": 2, "regions": regions });
        if let Some(oldest) = self.regions.values().map(|c| c.read_through).min() {
            state["EventTime"] = json!(oldest as f64);
        }
        state
    }

    /// Reads a stream state. The previous connector's `{"EventTime": T}` applies to every region
    /// in `regions`, re-reading `lookback_secs` before T: it read up to the moment it ran, so
    /// events that became visible late around T may be missing from it.
    pub fn from_json(v: &Value, regions: &[String], lookback_secs: i64) -> Result<Self, String> {
        let Value::Object(map) = v else {
            return Err(format!(
                "expected an object like {{\"EventTime\": 1623346856.0}}, got {}",
                brief(v)
            ));
        };
        if let Some(by_region) = map.get("regions") {
            let Value::Object(by_region) = by_region else {
                return Err(format!(
                    "'regions' must be an object of region cursors, got {}",
                    brief(by_region)
                ));
            };
            let mut state = EventStreamState::default();
            for (region, cursor) in by_region {
                let t = cursor
                    .get("read_through")
                    .ok_or_else(|| format!("regions.{region} has no 'read_through'"))?;
                let t = epoch_secs(t).map_err(|e| format!("regions.{region}.read_through {e}"))?;
                state.regions.insert(
                    region.clone(),
                    RegionCursor {
                        read_through: t.floor() as i64,
                    },
                );
            }
            return Ok(state);
        }
        match map.get("EventTime") {
            Some(t) => {
                let t = epoch_secs(t).map_err(|e| format!("EventTime {e}"))?;
                let read_through = (t.floor() as i64)
                    .saturating_sub(lookback_secs)
                    .saturating_sub(1);
                Ok(EventStreamState {
                    regions: regions
                        .iter()
                        .map(|r| (r.clone(), RegionCursor { read_through }))
                        .collect(),
                })
            }
            None if map.is_empty() => Ok(EventStreamState::default()),
            None => Err("it has neither 'regions' nor 'EventTime'".into()),
        }
    }
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

fn brief(v: &Value) -> String {
    let text = v.to_string();
    if text.len() > 80 {
        format!(
            "{}…",
            &text[..text
                .char_indices()
                .nth(77)
                .map(|(i, _)| i)
                .unwrap_or(text.len())]
        )
    } else {
        text
    }
}

/// The input state file, by stream name (later entries win, as PyAirbyte may repeat a stream).
#[derive(Debug, Default)]
pub struct InputState {
    pub streams: HashMap<String, Value>,
}

impl InputState {
    pub fn parse(text: &str) -> Result<InputState, Error> {
        if text.trim().is_empty() {
            return Ok(InputState::default());
        }
        let v: Value = serde_json::from_str(text)
            .map_err(|e| Error::config(format!("the state file is not valid JSON: {e}")))?;
        let mut state = InputState::default();
        match v {
            Value::Null => {}
            Value::Array(messages) => {
                for (i, m) in messages.iter().enumerate() {
                    state
                        .add_message(m)
                        .map_err(|e| Error::config(format!("state message #{i}: {e}")))?;
                }
            }
            Value::Object(ref map) if map.contains_key("type") || map.contains_key("stream") => {
                state
                    .add_message(&v)
                    .map_err(|e| Error::config(format!("state message: {e}")))?;
            }
            Value::Object(map) => state.add_legacy(&map),
            other => {
                return Err(Error::config(format!(
                    "the state must be a list of state messages or an object, got {}",
                    brief(&other)
                )))
            }
        }
        Ok(state)
    }

    fn add_legacy(&mut self, map: &serde_json::Map<String, Value>) {
        for (name, s) in map {
            if !s.is_null() {
                self.streams.insert(name.clone(), s.clone());
            }
        }
    }

    fn add_stream(&mut self, stream: &Value) -> Result<(), String> {
        let name = stream
            .get("stream_descriptor")
            .and_then(|d| d.get("name"))
            .and_then(Value::as_str)
            .ok_or("stream_descriptor.name is missing")?;
        match stream.get("stream_state") {
            None | Some(Value::Null) => {}
            Some(s) => {
                self.streams.insert(name.to_string(), s.clone());
            }
        }
        Ok(())
    }

    fn add_message(&mut self, m: &Value) -> Result<(), String> {
        let Value::Object(map) = m else {
            return Err(format!("expected an object, got {}", brief(m)));
        };
        let kind = map.get("type").and_then(Value::as_str).unwrap_or("STREAM");
        match kind {
            "STREAM" => {
                self.add_stream(map.get("stream").ok_or("a STREAM state without 'stream'")?)
            }
            "GLOBAL" => {
                let states = map
                    .get("global")
                    .and_then(|g| g.get("stream_states"))
                    .and_then(Value::as_array)
                    .ok_or("a GLOBAL state without global.stream_states")?;
                states.iter().try_for_each(|s| self.add_stream(s))
            }
            "LEGACY" => {
                if let Some(Value::Object(data)) = map.get("data") {
                    self.add_legacy(data);
                }
                Ok(())
            }
            other => Err(format!("unknown state type '{other}'")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn regions() -> Vec<String> {
        vec!["us-east-1".into(), "eu-west-1".into()]
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
        assert!(InputState::parse("{not json")
            .unwrap_err()
            .to_string()
            .contains("not valid JSON"));
        assert!(InputState::parse("[1]")
            .unwrap_err()
            .to_string()
            .contains("#0"));
        assert!(InputState::parse("42").is_err());
        for (v, words) in [
            (json!({"EventTime": "yesterday"}), "EventTime"),
            (json!({"EventTime": -5}), "EventTime"),
            (
                json!({"regions": {"us-east-1": {"read_through": null}}}),
                "regions.us-east-1",
            ),
            (json!({"regions": []}), "regions"),
            (json!({"cursor": 1}), "neither"),
            (json!([1]), "object"),
        ] {
            let e = EventStreamState::from_json(&v, &regions(), 0).unwrap_err();
            assert!(e.contains(words), "{v} -> {e}");
        }
    }

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            any::<i64>().prop_map(Value::from),
            "[a-zA-Z_]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("type".to_string()),
                        Just("stream".to_string()),
                        Just("stream_descriptor".to_string()),
                        Just("name".to_string()),
                        Just("stream_state".to_string()),
                        Just("regions".to_string()),
                        Just("read_through".to_string()),
                        Just("EventTime".to_string()),
                        Just("management_events".to_string()),
                        Just("us-east-1".to_string()),
                        Just("global".to_string()),
                        Just("stream_states".to_string()),
                        Just("data".to_string())
                    ],
                    inner,
                    0..6,
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Whatever a state file holds, reading it answers Ok or a config error: never a panic,
        /// and a cursor read is always a plausible epoch second.
        #[test]
        fn any_state_file_is_read_or_rejected(v in arbitrary_json(), text in "\\PC{0,40}") {
            let _ = InputState::parse(&text);
            if let Ok(input) = InputState::parse(&v.to_string()) {
                for s in input.streams.values() {
                    if let Ok(state) = EventStreamState::from_json(s, &regions(), 900) {
                        prop_assert!(state.regions.values().all(|c| c.read_through >= -901 && (c.read_through as f64) < MAX_EPOCH_SECS));
                    }
                }
            }
        }

        #[test]
        fn our_state_reads_back_exactly(cursors in proptest::collection::btree_map("[a-z]{2}-[a-z]{4}-[0-9]", 0i64..10_000_000_000, 0..6)) {
            let s = EventStreamState { regions: cursors.into_iter().map(|(r, t)| (r, RegionCursor { read_through: t })).collect() };
            let back = EventStreamState::from_json(&s.to_json(), &regions(), 900).unwrap();
            prop_assert_eq!(back, s);
        }
    }
}

//! The input state file in every form a user may hand us (Airbyte's STREAM and GLOBAL
//! messages, the legacy per-stream object, PyAirbyte's `[]` and repeated entries), split by
//! stream; each stream reads its own part.

use std::collections::HashMap;

use serde_json::Value;

use crate::error::brief;
use crate::error::Error;

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
pub mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn corrupt_state_files_are_named() {
        assert!(InputState::parse("{not json")
            .unwrap_err()
            .to_string()
            .contains("not valid JSON"));
        assert!(InputState::parse("[1]")
            .unwrap_err()
            .to_string()
            .contains("#0"));
        assert!(InputState::parse("42").is_err());
    }

    pub fn arbitrary_json() -> impl Strategy<Value = Value> {
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
                        Just("full_refresh".to_string()),
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
        /// Whatever a state file holds, reading it answers Ok or a config error: never a panic.
        #[test]
        fn any_state_file_is_read_or_rejected(v in arbitrary_json(), text in "\\PC{0,40}") {
            let _ = InputState::parse(&text);
            let _ = InputState::parse(&v.to_string());
        }
    }
}

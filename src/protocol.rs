//! The Airbyte protocol as typed messages: what the connector reads besides the config (the
//! configured catalog) and every message it writes. Only the emitter serialises the latter.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    FullRefresh,
    Incremental,
}

#[derive(Debug, Deserialize)]
pub struct ConfiguredCatalog {
    pub streams: Vec<ConfiguredStream>,
}

/// One configured stream; other fields (`destination_sync_mode`, `cursor_field`,
/// `generation_id`…) are accepted and not needed.
#[derive(Debug, Deserialize)]
pub struct ConfiguredStream {
    pub stream: StreamName,
    pub sync_mode: SyncMode,
}

#[derive(Debug, Deserialize)]
pub struct StreamName {
    pub name: String,
}

impl ConfiguredCatalog {
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = read_input(path, "catalog")?;
        let de = &mut serde_json::Deserializer::from_str(&text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            Error::config(format!(
                "the configured catalog is not valid: at {}: {}",
                e.path(),
                e.inner()
            ))
        })
    }
}

/// Reads an input file named `what` for messages.
pub fn read_input(path: &Path, what: &str) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| {
        Error::config(format!(
            "cannot read the {what} file {}: {e}",
            path.display()
        ))
    })
}

/// Every message the connector writes but RECORD (framed by the emitter's record batches).
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Message<'a> {
    Spec {
        spec: Spec,
    },
    Catalog {
        catalog: Catalog,
    },
    ConnectionStatus {
        #[serde(rename = "connectionStatus")]
        connection_status: ConnectionStatus,
    },
    State {
        state: StateMessage<'a>,
    },
    Log {
        log: LogMessage<'a>,
    },
    Trace {
        trace: Trace<'a>,
    },
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    pub documentation_url: &'static str,
    pub connection_specification: Value,
    pub supports_incremental: bool,
    #[serde(rename = "protocol_version")]
    pub protocol_version: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Catalog {
    pub streams: Vec<AirbyteStream>,
}

/// A stream's catalog entry.
#[derive(Debug, Clone, Serialize)]
pub struct AirbyteStream {
    pub name: &'static str,
    pub json_schema: Value,
    pub supported_sync_modes: Vec<SyncMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_defined_cursor: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_cursor_field: Option<Vec<&'static str>>,
    pub source_defined_primary_key: Vec<Vec<&'static str>>,
    pub is_resumable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Succeeded,
    Failed,
}

#[derive(Debug, Serialize)]
pub struct ConnectionStatus {
    pub status: Status,
    pub message: String,
}

#[derive(Debug, Serialize)]
pub struct StreamDescriptor<'a> {
    pub name: &'a str,
}

#[derive(Debug, Serialize)]
pub struct StateMessage<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub stream: StreamState<'a>,
    #[serde(rename = "sourceStats")]
    pub source_stats: SourceStats,
}

#[derive(Debug, Serialize)]
pub struct StreamState<'a> {
    pub stream_descriptor: StreamDescriptor<'a>,
    pub stream_state: &'a RawValue,
}

#[derive(Debug, Serialize)]
pub struct SourceStats {
    #[serde(rename = "recordCount")]
    pub record_count: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LogLevel {
    Info,
    Warn,
}

#[derive(Debug, Serialize)]
pub struct LogMessage<'a> {
    pub level: LogLevel,
    pub message: &'a str,
}

#[derive(Debug, Serialize)]
pub struct Trace<'a> {
    #[serde(flatten)]
    pub kind: TraceKind<'a>,
    /// Milliseconds, as a number (the protocol's type).
    pub emitted_at: f64,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TraceKind<'a> {
    Error {
        error: ErrorTrace<'a>,
    },
    StreamStatus {
        stream_status: StreamStatusTrace<'a>,
    },
}

#[derive(Debug, Serialize)]
pub struct ErrorTrace<'a> {
    pub message: String,
    pub internal_message: String,
    pub failure_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_descriptor: Option<StreamDescriptor<'a>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamStatus {
    Started,
    Running,
    Complete,
    Incomplete,
}

#[derive(Debug, Serialize)]
pub struct StreamStatusTrace<'a> {
    pub stream_descriptor: StreamDescriptor<'a>,
    pub status: StreamStatus,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<StatusReason>,
}

/// Why a stream is in its status; only rate limiting is reported.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StatusReason {
    RateLimited { rate_limited: RateLimited },
}

#[derive(Debug, Serialize)]
pub struct RateLimited {
    /// When the wait ends, epoch milliseconds.
    pub quota_reset: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn to_value(m: &Message) -> Value {
        serde_json::to_value(m).unwrap()
    }

    #[test]
    fn messages_have_the_protocols_shape() {
        let state = RawValue::from_string(r#"{"a":1}"#.into()).unwrap();
        assert_eq!(
            to_value(&Message::State {
                state: StateMessage {
                    kind: "STREAM",
                    stream: StreamState {
                        stream_descriptor: StreamDescriptor { name: "s" },
                        stream_state: &state,
                    },
                    source_stats: SourceStats { record_count: 2.0 },
                },
            }),
            json!({"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": "s"}, "stream_state": {"a": 1}}, "sourceStats": {"recordCount": 2.0}}})
        );
        assert_eq!(
            to_value(&Message::Trace {
                trace: Trace {
                    kind: TraceKind::StreamStatus {
                        stream_status: StreamStatusTrace {
                            stream_descriptor: StreamDescriptor { name: "s" },
                            status: StreamStatus::Running,
                            reasons: vec![StatusReason::RateLimited {
                                rate_limited: RateLimited { quota_reset: 5 },
                            }],
                        },
                    },
                    emitted_at: 1.0,
                },
            }),
            json!({"type": "TRACE", "trace": {"type": "STREAM_STATUS", "emitted_at": 1.0, "stream_status": {
                "stream_descriptor": {"name": "s"}, "status": "RUNNING",
                "reasons": [{"type": "RATE_LIMITED", "rate_limited": {"quota_reset": 5}}]}}})
        );
        assert_eq!(
            to_value(&Message::ConnectionStatus {
                connection_status: ConnectionStatus {
                    status: Status::Failed,
                    message: "m".into(),
                },
            }),
            json!({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "FAILED", "message": "m"}})
        );
        assert_eq!(
            to_value(&Message::Log {
                log: LogMessage {
                    level: LogLevel::Warn,
                    message: "w",
                },
            }),
            json!({"type": "LOG", "log": {"level": "WARN", "message": "w"}})
        );
    }
}

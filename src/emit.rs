//! The one writer of stdout: Airbyte messages, one JSON object per line, buffered, with the exact
//! per-stream record counts that STATE messages must carry.

use std::collections::HashMap;
use std::io::{self, BufWriter, Write};
use std::sync::Mutex;

use serde_json::{json, Value};

use crate::error::Error;
use crate::time::now_millis;

/// Starts a RECORD line in `buf`; the record's data object follows, then `end_record`. Records
/// are framed by hand so that readers serialise their data straight into the output buffer.
pub fn begin_record(buf: &mut Vec<u8>, stream: &str) {
    buf.extend_from_slice(b"{\"type\":\"RECORD\",\"record\":{\"stream\":\"");
    buf.extend_from_slice(stream.as_bytes());
    buf.extend_from_slice(b"\",\"data\":");
}

/// Ends a RECORD line started by `begin_record`.
pub fn end_record(buf: &mut Vec<u8>, emitted_at_millis: i64) {
    buf.extend_from_slice(b",\"emitted_at\":");
    buf.extend_from_slice(emitted_at_millis.to_string().as_bytes());
    buf.extend_from_slice(b"}}\n");
}

#[derive(Debug, Clone, Copy)]
pub enum LogLevel {
    Info,
    Warn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamStatus {
    Started,
    Running,
    Complete,
    Incomplete,
}

struct Inner {
    out: BufWriter<Box<dyn Write + Send>>,
    /// Records per stream since that stream's last STATE.
    since_state: HashMap<String, u64>,
    /// The last state written per stream, to never write the same one twice in a row.
    last_state: HashMap<String, String>,
    /// Set once stdout fails: later writes are dropped, the run ends with `Error::Output`.
    broken: Option<String>,
}

/// Destinations read stdout through a pipe of 64 KB (Linux's default): a fast writer blocks and
/// is woken every 64 KB. At 1 MB it hands over whole batches. Not a pipe, or not allowed: as is.
#[cfg(target_os = "linux")]
fn enlarge_pipe(out: &io::Stdout) {
    let _ = rustix::pipe::fcntl_setpipe_size(out, 1 << 20);
}

#[cfg(not(target_os = "linux"))]
fn enlarge_pipe(_: &io::Stdout) {}

/// Shared by every task; each call writes whole lines under one lock, so lines never interleave.
pub struct Emitter {
    inner: Mutex<Inner>,
}

impl Emitter {
    pub fn stdout() -> Self {
        enlarge_pipe(&io::stdout());
        Emitter::to_writer(Box::new(io::stdout()))
    }

    pub fn to_writer(out: Box<dyn Write + Send>) -> Self {
        Emitter {
            inner: Mutex::new(Inner {
                out: BufWriter::with_capacity(256 * 1024, out),
                since_state: HashMap::new(),
                last_state: HashMap::new(),
                broken: None,
            }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> io::Result<T>) -> Option<T> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.broken.is_some() {
            return None;
        }
        match f(&mut inner) {
            Ok(v) => Some(v),
            Err(e) => {
                inner.broken = Some(e.to_string());
                None
            }
        }
    }

    fn line(&self, v: &Value, flush: bool) {
        self.with(|inner| {
            serde_json::to_writer(&mut inner.out, v)?;
            inner.out.write_all(b"\n")?;
            if flush {
                inner.out.flush()?;
            }
            Ok(())
        });
    }

    /// Writes `lines`, already-framed RECORD messages of `stream` (`count` of them).
    pub fn records(&self, stream: &str, lines: &[u8], count: u64) {
        self.with(|inner| {
            inner.out.write_all(lines)?;
            match inner.since_state.get_mut(stream) {
                Some(n) => *n += count,
                None => {
                    inner.since_state.insert(stream.to_string(), count);
                }
            }
            Ok(())
        });
    }

    /// Writes a STREAM state with the count of records since the previous one, unless it equals
    /// the last state written for that stream (then the count carries over). Returns whether
    /// it was written.
    pub fn state(&self, stream: &str, stream_state: &Value) -> bool {
        self.with(|inner| {
            let text = stream_state.to_string();
            if inner.last_state.get(stream) == Some(&text) {
                return Ok(false);
            }
            let count = inner.since_state.insert(stream.to_string(), 0).unwrap_or(0);
            let msg = json!({
                "type": "STATE",
                "state": {
                    "type": "STREAM",
                    "stream": {"stream_descriptor": {"name": stream}, "stream_state": stream_state},
                    "sourceStats": {"recordCount": count as f64}
                }
            });
            serde_json::to_writer(&mut inner.out, &msg)?;
            inner.out.write_all(b"\n")?;
            inner.out.flush()?;
            inner.last_state.insert(stream.to_string(), text);
            Ok(true)
        })
        .unwrap_or(false)
    }

    pub fn log(&self, level: LogLevel, message: &str) {
        let level = match level {
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
        };
        self.line(
            &json!({"type": "LOG", "log": {"level": level, "message": message}}),
            false,
        );
    }

    pub fn stream_status(&self, stream: &str, status: StreamStatus) {
        let status = match status {
            StreamStatus::Started => "STARTED",
            StreamStatus::Running => "RUNNING",
            StreamStatus::Complete => "COMPLETE",
            StreamStatus::Incomplete => "INCOMPLETE",
        };
        self.line(
            &json!({"type": "TRACE", "trace": {
                "type": "STREAM_STATUS",
                "emitted_at": now_millis() as f64,
                "stream_status": {"stream_descriptor": {"name": stream}, "status": status}
            }}),
            true,
        );
    }

    /// A TRACE error: `error.stream()` (or `stream`) names the stream it concerns.
    pub fn error(&self, error: &Error, stream: Option<&str>) {
        let mut e = json!({
            "message": error.to_string(),
            "internal_message": error.internal_message(),
            "failure_type": error.failure_type().as_str(),
        });
        if let Some(name) = error.stream().or(stream) {
            e["stream_descriptor"] = json!({"name": name});
        }
        self.line(
            &json!({"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": now_millis() as f64, "error": e}}),
            true,
        );
    }

    /// Any other message (SPEC, CATALOG, CONNECTION_STATUS), written at once.
    pub fn message(&self, v: &Value) {
        self.line(v, true);
    }

    /// Flushes; reports whether stdout was ever lost.
    pub fn finish(&self) -> Result<(), Error> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.broken.is_none() {
            if let Err(e) = inner.out.flush() {
                inner.broken = Some(e.to_string());
            }
        }
        match &inner.broken {
            Some(e) => Err(Error::Output(format!("cannot write to stdout: {e}"))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn states_count_records_since_the_previous_state_and_never_repeat() {
        let buf = Shared::default();
        let e = Emitter::to_writer(Box::new(buf.clone()));
        e.records("s", b"{}\n{}\n", 2);
        e.records("t", b"{}\n", 1);
        assert!(e.state("s", &json!({"a": 1})));
        assert!(!e.state("s", &json!({"a": 1})));
        e.records("s", b"{}\n", 1);
        assert!(e.state("s", &json!({"a": 2})));
        assert!(e.state("t", &json!({"a": 1})));
        e.finish().unwrap();
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let counts: Vec<f64> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["type"] == "STATE")
            .map(|v| v["state"]["sourceStats"]["recordCount"].as_f64().unwrap())
            .collect();
        assert_eq!(counts, vec![2.0, 1.0, 1.0]);
    }

    struct Closed;
    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"))
        }
    }

    #[test]
    fn a_closed_stdout_is_reported_not_a_panic() {
        let e = Emitter::to_writer(Box::new(Closed));
        e.message(&json!({"type": "SPEC"}));
        e.log(LogLevel::Info, "x");
        assert!(matches!(e.finish(), Err(Error::Output(_))));
    }
}

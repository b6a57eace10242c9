//! The one writer of stdout: Airbyte messages, one JSON object per line, records in batches that
//! frame and count themselves (so STATE's `recordCount` is exact by construction), and the stop
//! signal that a closed stdout trips.

use std::collections::HashMap;
use std::io::{self, BufWriter, Write};
use std::sync::Mutex;

use serde::Serialize;
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::protocol::{
    ErrorTrace, LogMessage, Message, RateLimited, SourceStats, StateMessage, StatusReason,
    StreamDescriptor, StreamState, StreamStatusTrace, Trace, TraceKind,
};
pub use crate::protocol::{LogLevel, StreamStatus};
use crate::time::now_millis;

/// RECORD lines of one stream, framed as they are pushed; handed to `Emitter::records`.
pub struct RecordBatch {
    stream: &'static str,
    /// `{"type":"RECORD","record":{"stream":"<name>","data":`
    head: Vec<u8>,
    lines: Vec<u8>,
    count: u64,
}

/// What follows a raw record's members: extra columns, the end of the data object and
/// `emitted_at`. Built once per file, appended to each of its records.
pub struct RecordTail {
    /// The extra columns' members, without braces (empty for none).
    members: Vec<u8>,
    /// `},"emitted_at":N`
    end: Vec<u8>,
}

impl RecordTail {
    /// `columns` must serialise as a JSON object.
    pub fn new(columns: &impl Serialize, emitted_at_millis: i64) -> RecordTail {
        let text = serde_json::to_vec(columns).unwrap_or_else(|_| b"{}".to_vec());
        let mut tail = RecordTail::closing(emitted_at_millis);
        if let [b'{', inner @ .., b'}'] = text.as_slice() {
            tail.members = inner.to_vec();
        }
        tail
    }

    /// No extra columns: the end of the data object and `emitted_at`.
    pub fn closing(emitted_at_millis: i64) -> RecordTail {
        let mut end = Vec::with_capacity(32);
        end.extend_from_slice(b"},\"emitted_at\":");
        end.extend_from_slice(emitted_at_millis.to_string().as_bytes());
        RecordTail {
            members: Vec::new(),
            end,
        }
    }
}

impl RecordBatch {
    pub fn new(stream: &'static str) -> RecordBatch {
        RecordBatch::with_buffer(stream, Vec::new())
    }

    /// A batch writing into `buffer` (cleared), so hot loops can reuse allocations.
    pub fn with_buffer(stream: &'static str, mut buffer: Vec<u8>) -> RecordBatch {
        buffer.clear();
        let mut head = Vec::with_capacity(48 + stream.len());
        head.extend_from_slice(b"{\"type\":\"RECORD\",\"record\":{\"stream\":");
        // Stream names are plain identifiers; serialising keeps them valid JSON regardless.
        serde_json::to_writer(&mut head, stream).expect("a string serialises");
        head.extend_from_slice(b",\"data\":");
        RecordBatch {
            stream,
            head,
            lines: buffer,
            count: 0,
        }
    }

    pub fn into_buffer(self) -> Vec<u8> {
        self.lines
    }

    /// Adds a record whose data is `data` serialised.
    pub fn push(
        &mut self,
        data: &impl Serialize,
        emitted_at_millis: i64,
    ) -> serde_json::Result<()> {
        let start = self.lines.len();
        self.lines.extend_from_slice(&self.head);
        if let Err(e) = serde_json::to_writer(&mut self.lines, data) {
            self.lines.truncate(start);
            return Err(e);
        }
        self.lines.extend_from_slice(b",\"emitted_at\":");
        self.lines
            .extend_from_slice(emitted_at_millis.to_string().as_bytes());
        self.lines.extend_from_slice(b"}}\n");
        self.count += 1;
        Ok(())
    }

    /// Adds a record whose data `write` appends: the object's opening brace and its members,
    /// valid JSON by construction, which `tail` closes.
    pub fn push_written(&mut self, tail: &RecordTail, write: impl FnOnce(&mut Vec<u8>)) {
        self.lines.extend_from_slice(&self.head);
        write(&mut self.lines);
        if !tail.members.is_empty() {
            self.lines.push(b',');
            self.lines.extend_from_slice(&tail.members);
        }
        self.lines.extend_from_slice(&tail.end);
        self.lines.extend_from_slice(b"}}\n");
        self.count += 1;
    }

    /// Adds a record from `object`, the bytes of a JSON object on one line, valid and checked
    /// by the caller, with `tail`'s columns appended: the S3 pass-through. `changes` is the
    /// serialised `meta.changes` array, for a record changed on its way (none: empty).
    pub fn push_object(&mut self, object: &[u8], tail: &RecordTail, changes: &[u8]) {
        self.lines.extend_from_slice(&self.head);
        let body = &object[..object.len() - 1];
        self.lines.extend_from_slice(body);
        if !tail.members.is_empty() {
            if body[1..].iter().any(|c| !c.is_ascii_whitespace()) {
                self.lines.push(b',');
            }
            self.lines.extend_from_slice(&tail.members);
        }
        self.lines.extend_from_slice(&tail.end);
        if !changes.is_empty() {
            self.lines.extend_from_slice(b",\"meta\":{\"changes\":");
            self.lines.extend_from_slice(changes);
            self.lines.push(b'}');
        }
        self.lines.extend_from_slice(b"}}\n");
        self.count += 1;
    }

    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn bytes(&self) -> usize {
        self.lines.len()
    }

    fn clear(&mut self) {
        self.lines.clear();
        self.count = 0;
    }
}

struct Inner {
    out: BufWriter<Box<dyn Write + Send>>,
    /// Records per stream since that stream's last STATE.
    since_state: HashMap<&'static str, u64>,
    /// The last state written per stream, to never write the same one twice in a row.
    last_state: HashMap<&'static str, Box<RawValue>>,
    /// Bytes written to stdout so far, for checkpoint pacing.
    written: u64,
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

/// Trips `stop` as soon as the reader of stdout goes away, even while nothing is written (a
/// stream waiting out throttling writes nothing for minutes). A pipe or socket whose reader
/// closed reports POLLERR/POLLHUP to poll without asking; files and terminals never do, and the
/// thread then just waits.
#[cfg(target_os = "linux")]
fn watch_stdout(stop: CancellationToken) {
    use rustix::event::{poll, PollFd, PollFlags};
    let spawned = std::thread::Builder::new()
        .name("stdout-watch".into())
        .spawn(move || {
            let out = io::stdout();
            loop {
                let mut fds = [PollFd::new(&out, PollFlags::empty())];
                match poll(&mut fds, None) {
                    Ok(_) => {
                        let seen = fds[0].revents();
                        if seen.intersects(PollFlags::ERR | PollFlags::HUP | PollFlags::NVAL) {
                            stop.cancel();
                            return;
                        }
                    }
                    Err(rustix::io::Errno::INTR) => {}
                    Err(_) => return,
                }
            }
        });
    drop(spawned);
}

#[cfg(not(target_os = "linux"))]
fn watch_stdout(_: CancellationToken) {}

/// Batches this large skip the output buffer.
const DIRECT_WRITE: usize = 64 * 1024;

/// Shared by every task; each call writes whole lines under one lock, so lines never interleave.
pub struct Emitter {
    inner: Mutex<Inner>,
    stop: CancellationToken,
}

impl Emitter {
    pub fn stdout() -> Self {
        enlarge_pipe(&io::stdout());
        let emitter = Emitter::to_writer(Box::new(io::stdout()));
        watch_stdout(emitter.stop.clone());
        emitter
    }

    pub fn to_writer(out: Box<dyn Write + Send>) -> Self {
        Emitter {
            inner: Mutex::new(Inner {
                out: BufWriter::with_capacity(256 * 1024, out),
                since_state: HashMap::new(),
                last_state: HashMap::new(),
                written: 0,
                broken: None,
            }),
            stop: CancellationToken::new(),
        }
    }

    /// Cancelled once stdout is gone: nobody reads what the connector would still fetch.
    pub fn stop_signal(&self) -> &CancellationToken {
        &self.stop
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
                self.stop.cancel();
                None
            }
        }
    }

    /// Writes a message and flushes: everything but records is written at once, so no warning,
    /// state or error is lost when the process is killed.
    pub fn send(&self, message: &Message) {
        self.with(|inner| {
            let mut line = serde_json::to_vec(message)?;
            line.push(b'\n');
            inner.out.write_all(&line)?;
            inner.written += line.len() as u64;
            inner.out.flush()
        });
    }

    /// Writes the batch's records and counts them for the stream's next STATE; empties it.
    pub fn records(&self, batch: &mut RecordBatch) {
        if batch.is_empty() {
            return;
        }
        self.with(|inner| {
            // A large batch goes out as it is: copying it into the buffer first costs a pass
            // over every byte written.
            if batch.lines.len() >= DIRECT_WRITE {
                inner.out.flush()?;
                inner.out.get_mut().write_all(&batch.lines)?;
            } else {
                inner.out.write_all(&batch.lines)?;
            }
            inner.written += batch.lines.len() as u64;
            *inner.since_state.entry(batch.stream).or_insert(0) += batch.count;
            Ok(())
        });
        batch.clear();
    }

    /// Writes a STREAM state with the count of records since the previous one, unless it equals
    /// the last state written for that stream (then the count carries over). Returns whether
    /// it was written.
    pub fn state(&self, stream: &'static str, stream_state: &impl Serialize) -> bool {
        // Serialised once: compared with the last state and written as it is (no re-parse).
        let Ok(raw) = serde_json::value::to_raw_value(stream_state) else {
            return false;
        };
        self.with(|inner| {
            if inner.last_state.get(stream).map(|r| r.get()) == Some(raw.get()) {
                return Ok(false);
            }
            let count = inner.since_state.insert(stream, 0).unwrap_or(0);
            let message = Message::State {
                state: StateMessage {
                    kind: "STREAM",
                    stream: StreamState {
                        stream_descriptor: StreamDescriptor { name: stream },
                        stream_state: &raw,
                    },
                    source_stats: SourceStats {
                        record_count: count as f64,
                    },
                },
            };
            let mut line = serde_json::to_vec(&message)?;
            line.push(b'\n');
            inner.out.write_all(&line)?;
            inner.written += line.len() as u64;
            inner.out.flush()?;
            inner.last_state.insert(stream, raw);
            Ok(true)
        })
        .unwrap_or(false)
    }

    /// Bytes written to stdout so far (records, states, logs, traces).
    pub fn bytes_written(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).written
    }

    pub fn log(&self, level: LogLevel, message: &str) {
        self.send(&Message::Log {
            log: LogMessage { level, message },
        });
    }

    fn trace(&self, kind: TraceKind) {
        self.send(&Message::Trace {
            trace: Trace {
                kind,
                emitted_at: now_millis() as f64,
            },
        });
    }

    pub fn stream_status(&self, stream: &str, status: StreamStatus) {
        self.status_trace(stream, status, vec![]);
    }

    fn status_trace(&self, stream: &str, status: StreamStatus, reasons: Vec<StatusReason>) {
        self.trace(TraceKind::StreamStatus {
            stream_status: StreamStatusTrace {
                stream_descriptor: StreamDescriptor { name: stream },
                status,
                reasons,
            },
        });
    }

    /// RUNNING with a RATE_LIMITED reason: the stream waits for its quota until `quota_reset`
    /// (epoch ms). The next record clears it.
    pub fn rate_limited(&self, stream: &str, quota_reset_millis: i64) {
        let reason = StatusReason::RateLimited {
            rate_limited: RateLimited {
                quota_reset: quota_reset_millis,
            },
        };
        self.status_trace(stream, StreamStatus::Running, vec![reason]);
    }

    /// A TRACE error: `error.stream()` (or `stream`) names the stream it concerns.
    pub fn error(&self, error: &Error, stream: Option<&str>) {
        self.trace(TraceKind::Error {
            error: ErrorTrace {
                message: error.to_string(),
                internal_message: error.internal_message(),
                failure_type: error.failure_type().as_str(),
                stream_descriptor: error
                    .stream()
                    .or(stream)
                    .map(|name| StreamDescriptor { name }),
            },
        });
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
    use serde_json::{json, Value};
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

    fn lines(buf: &Shared) -> Vec<Value> {
        String::from_utf8(buf.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn states_count_records_since_the_previous_state_and_never_repeat() {
        let buf = Shared::default();
        let e = Emitter::to_writer(Box::new(buf.clone()));
        let mut s = RecordBatch::new("s");
        s.push(&json!({"a": 1}), 1).unwrap();
        s.push(&json!({"a": 2}), 1).unwrap();
        e.records(&mut s);
        let mut t = RecordBatch::new("t");
        t.push(&json!({}), 1).unwrap();
        e.records(&mut t);
        assert!(e.state("s", &json!({"a": 1})));
        assert!(!e.state("s", &json!({"a": 1})));
        s.push(&json!({"a": 3}), 1).unwrap();
        e.records(&mut s);
        assert!(e.state("s", &json!({"a": 2})));
        assert!(e.state("t", &json!({"a": 1})));
        e.finish().unwrap();
        let counts: Vec<f64> = lines(&buf)
            .iter()
            .filter(|v| v["type"] == "STATE")
            .map(|v| v["state"]["sourceStats"]["recordCount"].as_f64().unwrap())
            .collect();
        assert_eq!(counts, vec![2.0, 1.0, 1.0]);
    }

    #[test]
    fn batches_frame_records_of_both_forms() {
        let buf = Shared::default();
        let e = Emitter::to_writer(Box::new(buf.clone()));
        let mut b = RecordBatch::new("trail_events");
        let tail = RecordTail::new(&json!({"logFileKey": "k"}), 7);
        b.push_object(br#"{"eventID":"x"}"#, &tail, b"");
        b.push_object(b"{ }", &tail, b"");
        b.push_object(br#"{"eventID":"y"}"#, &RecordTail::new(&json!({}), 8), b"");
        b.push(&json!({"EventId": "z"}), 9).unwrap();
        assert_eq!(b.len(), 4);
        e.records(&mut b);
        assert!(b.is_empty());
        e.state("trail_events", &json!({}));
        let got = lines(&buf);
        assert_eq!(
            got[0],
            json!({"type": "RECORD", "record": {"stream": "trail_events", "data": {"eventID": "x", "logFileKey": "k"}, "emitted_at": 7}})
        );
        assert_eq!(got[1]["record"]["data"], json!({"logFileKey": "k"}));
        assert_eq!(got[2]["record"]["data"], json!({"eventID": "y"}));
        assert_eq!(got[3]["record"]["emitted_at"], 9);
        assert_eq!(got[4]["state"]["sourceStats"]["recordCount"], 4.0);
    }

    /// A value that fails to serialise halfway leaves no partial line behind.
    #[test]
    fn a_failed_push_leaves_the_batch_as_it_was() {
        struct Failing;
        impl Serialize for Failing {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("no"))
            }
        }
        let mut b = RecordBatch::new("s");
        b.push(&json!({"a": 1}), 1).unwrap();
        let before = b.bytes();
        assert!(b.push(&Failing, 1).is_err());
        assert_eq!((b.len(), b.bytes()), (1, before));
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
    fn a_closed_stdout_is_reported_and_trips_the_stop_signal() {
        let e = Emitter::to_writer(Box::new(Closed));
        assert!(!e.stop_signal().is_cancelled());
        e.log(LogLevel::Info, "x");
        assert!(e.stop_signal().is_cancelled());
        assert!(matches!(e.finish(), Err(Error::Output(_))));
    }
}

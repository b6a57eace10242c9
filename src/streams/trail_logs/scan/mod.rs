//! Splitting a decompressed CloudTrail log file into its records without building them: a
//! validating JSON scanner that walks `{"Records":[…]}` byte by byte, proves each record is
//! well-formed JSON, and checks the fields the schema types against their declared types, so that
//! a record can be passed through as the bytes it arrived in.

mod filter;
#[cfg(test)]
mod fuzz;
mod json;
mod rebuild;
mod shape;

use std::io::{self, Read};
use std::sync::{Mutex, MutexGuard};

pub use filter::keeps;
pub use filter::Picks;
use json::{to_special, Scanner, Stop};

use crate::config::EventFilter;
pub use rebuild::{rebuild, Changed};
pub use shape::Shape;

/// One element of the `Records` array.
#[derive(Debug, PartialEq, Eq)]
pub enum Element<'a> {
    /// A valid JSON object. `fits` is false when some value contradicts the schema or the bytes
    /// hold a line break: it must then be rebuilt rather than passed through. `picks` locates
    /// the members an event filter reads.
    Record {
        bytes: &'a [u8],
        fits: bool,
        picks: Picks,
    },
    /// Valid JSON but not an object.
    NotAnObject,
    /// A record that cannot be written as it is (not JSON, not UTF-8, nested too deep, too
    /// large), skipped to its end: the records after it are still read.
    Unreadable(RecordProblem),
    /// A record the event filter refused, skipped to its end from the member that decided it
    /// (so not proven well-formed past that member).
    Filtered,
}

/// Why one record of a file was skipped; offsets count bytes of the decompressed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordProblem {
    Invalid { what: &'static str, offset: u64 },
    NotUtf8 { offset: u64 },
    TooLarge { offset: u64 },
}

impl std::fmt::Display for RecordProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordProblem::Invalid { what, offset } => {
                write!(f, "not valid JSON: {what} at byte {offset}")
            }
            RecordProblem::NotUtf8 { offset } => {
                write!(f, "bytes that are not UTF-8 at byte {offset}")
            }
            RecordProblem::TooLarge { offset } => write!(
                f,
                "larger than {} MB (from byte {offset})",
                MAX_WINDOW >> 20
            ),
        }
    }
}

/// What is wrong with a file's content.
#[derive(Debug)]
pub enum FileProblem {
    /// The data ends before the JSON does.
    Truncated,
    /// Not the JSON of a CloudTrail log file.
    Invalid { what: &'static str, offset: u64 },
    /// The object has no `Records` array (a digest file, or something else).
    NoRecords,
    /// Nothing but whitespace.
    Empty,
    /// Reading (decompressing, downloading) failed.
    Read(io::Error),
    /// The window cannot grow to hold the unit being scanned.
    TooLarge { offset: u64 },
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileProblem::Truncated => f.write_str("the file ends early (truncated)"),
            FileProblem::Invalid { what, offset } => {
                write!(f, "not valid JSON: {what} at byte {offset}")
            }
            FileProblem::NoRecords => f.write_str("no Records array (not a CloudTrail event file)"),
            FileProblem::Empty => f.write_str("the file is empty"),
            FileProblem::Read(e) => write!(f, "cannot be read: {e}"),
            FileProblem::TooLarge { offset } => write!(
                f,
                "not valid JSON: a value larger than {} MB at byte {offset}",
                MAX_WINDOW >> 20
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Before the top-level `{`.
    Start,
    /// Between members of the top-level object.
    Members { first: bool },
    /// Inside `Records`, before an element.
    Element { first: bool },
    /// The top-level object is closed.
    End,
}

/// Walks a log file's `{"Records":[…]}` from a byte source, one record at a time, keeping only
/// a window of the file in memory (at least the largest record).
pub struct RecordSplitter<R> {
    source: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes dropped from the front of `buf` so far, for offsets in messages.
    consumed: u64,
    eof: bool,
    place: Place,
    saw_records: bool,
    /// Held while the window is beyond `SHARED_WINDOW`.
    large: Option<MutexGuard<'static, ()>>,
    /// Set while a record is being skipped: an unreadable one (with why), or a filtered one.
    skipping: Option<(Skip, Option<RecordProblem>)>,
    /// The event filter, applied while records are scanned.
    filter: Option<EventFilter>,
    /// The scanner's stack of member-name hashes, kept to reuse its allocation.
    names: Vec<u64>,
}

/// Finds the end of a record the scanner refused by its brackets and strings alone: a counter
/// rather than recursion (any depth) and no bytes kept (any size), so that one bad record costs
/// only itself. A file broken beyond one record still ends in a file problem: the bracket count
/// then runs to the end of the data (truncated) or leaves the splitter at something that is not
/// a separator.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Skip {
    depth: u64,
    in_string: bool,
    escaped: bool,
}

impl Skip {
    /// Where the value ends in `bytes` (the index after its last byte), if it does there.
    fn end(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut i = 0;
        while i < bytes.len() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    i += 1;
                    continue;
                }
                // Records are mostly strings: a word at a time to a quote or backslash.
                i = to_special(bytes, i);
                let &c = bytes.get(i)?;
                match c {
                    b'\\' => self.escaped = true,
                    b'"' => {
                        self.in_string = false;
                        if self.depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
                continue;
            }
            let c = bytes[i];
            match c {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' | b',' if self.depth == 0 => return Some(i),
                b'}' | b']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return Some(i + 1);
                    }
                }
                c if self.depth == 0 && c.is_ascii_whitespace() => return Some(i),
                _ => {}
            }
            i += 1;
        }
        None
    }
}

const INITIAL_WINDOW: usize = 256 * 1024;
/// Every file being read may hold a window up to this size (CloudTrail's records are at most
/// 256 KB); beyond it, one file at a time: with 64 files in flight, windows, batches and rebuilds
/// of a file's records stay within a few hundred MB whatever the files hold.
pub const SHARED_WINDOW: usize = 1024 * 1024;
/// Far above CloudTrail's 256 KB per record: beyond it the file is not a trail's.
const MAX_WINDOW: usize = 64 * 1024 * 1024;
/// The one file whose window may grow beyond `SHARED_WINDOW`; the others wait for it (their
/// downloads pause behind their full channels).
static LARGE_WINDOW: Mutex<()> = Mutex::new(());

impl<R: Read> RecordSplitter<R> {
    /// Reuses `window` (of an earlier splitter) for the bytes in memory.
    pub fn with_window(source: R, mut window: Vec<u8>) -> Self {
        window.truncate(SHARED_WINDOW);
        window.shrink_to(SHARED_WINDOW);
        if window.len() < INITIAL_WINDOW {
            window.resize(INITIAL_WINDOW, 0);
        }
        RecordSplitter {
            source,
            buf: window,
            start: 0,
            end: 0,
            consumed: 0,
            eof: false,
            place: Place::Start,
            saw_records: false,
            large: None,
            skipping: None,
            filter: None,
            names: Vec::new(),
        }
    }

    /// Refuses records `filter` drops while scanning them (`Element::Filtered`), from the
    /// first member that decides; a record it keeps still comes out with its picks, for the
    /// decision on the members it lacks (`keeps`).
    pub fn filtering(mut self, filter: Option<EventFilter>) -> Self {
        self.filter = filter;
        self
    }

    /// The source and the window, for another file.
    pub fn into_parts(self) -> (R, Vec<u8>) {
        (self.source, self.buf)
    }

    /// Whether this file holds the large window: its batches and rebuilds may be large too.
    #[cfg(test)]
    pub fn holds_large_window(&self) -> bool {
        self.large.is_some()
    }

    /// Makes room and reads more; Ok(false) at the end of the source.
    fn refill(&mut self) -> Result<bool, FileProblem> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.consumed += self.start as u64;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            if self.buf.len() >= MAX_WINDOW {
                return Err(FileProblem::TooLarge {
                    offset: self.consumed,
                });
            }
            if self.buf.len() * 2 > SHARED_WINDOW && self.large.is_none() {
                self.large = Some(LARGE_WINDOW.lock().unwrap_or_else(|p| p.into_inner()));
            }
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.source.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(FileProblem::Read(e)),
            }
        }
    }

    /// The next element of `Records`, checked against `shape`; `None` once the file is done.
    pub fn next<'s>(&'s mut self, shape: &Shape) -> Result<Option<Element<'s>>, FileProblem> {
        loop {
            if let Some((skip, problem)) = &mut self.skipping {
                if let Some(n) = skip.end(&self.buf[self.start..self.end]) {
                    let element = problem.map_or(Element::Filtered, Element::Unreadable);
                    self.start += n;
                    self.skipping = None;
                    self.place = Place::Element { first: false };
                    return Ok(Some(element));
                }
                self.start = self.end;
                if !self.refill()? {
                    return Err(FileProblem::Truncated);
                }
                continue;
            }
            let mut sc = Scanner {
                b: &self.buf[..self.end],
                i: self.start,
                mismatch: false,
                line_break: false,
                names: &mut self.names,
                picking: false,
                picks: Picks::default(),
                filter: self.filter.as_ref(),
            };
            match step(&mut sc, &mut self.place, &mut self.saw_records, shape) {
                Ok(Some((from, to))) => {
                    self.start = sc.i;
                    let fits = !sc.mismatch && !sc.line_break;
                    let bytes = &self.buf[from..to];
                    if bytes.first() != Some(&b'{') {
                        return Ok(Some(Element::NotAnObject));
                    }
                    if let Err(e) = std::str::from_utf8(bytes) {
                        return Ok(Some(Element::Unreadable(RecordProblem::NotUtf8 {
                            offset: self.consumed + (from + e.valid_up_to()) as u64,
                        })));
                    }
                    let picks = sc.picks.relative_to(from);
                    return Ok(Some(Element::Record { bytes, fits, picks }));
                }
                Ok(None) if self.place == Place::End => {
                    self.start = sc.i;
                    // Only whitespace may follow the object.
                    loop {
                        let rest = &self.buf[self.start..self.end];
                        if let Some(p) = rest.iter().position(|c| !c.is_ascii_whitespace()) {
                            return Err(FileProblem::Invalid {
                                what: "data after the end of the JSON",
                                offset: self.consumed + (self.start + p) as u64,
                            });
                        }
                        self.start = self.end;
                        if !self.refill()? {
                            break;
                        }
                    }
                    return if self.saw_records {
                        Ok(None)
                    } else {
                        Err(FileProblem::NoRecords)
                    };
                }
                Ok(None) => self.start = sc.i,
                Err(Stop::Incomplete) => {
                    let more = match self.refill() {
                        Err(FileProblem::TooLarge { offset }) => {
                            let problem = RecordProblem::TooLarge { offset };
                            self.skip_record(problem, FileProblem::TooLarge { offset })?;
                            continue;
                        }
                        more => more?,
                    };
                    if !more {
                        let empty = self.place == Place::Start
                            && self.buf[self.start..self.end]
                                .iter()
                                .all(u8::is_ascii_whitespace);
                        return Err(if empty && self.consumed == 0 {
                            FileProblem::Empty
                        } else {
                            FileProblem::Truncated
                        });
                    }
                }
                Err(Stop::Filtered(at)) => {
                    // Inside the record, after a member: its brackets and strings find its end.
                    self.start = at;
                    self.skipping = Some((
                        Skip {
                            depth: 1,
                            ..Skip::default()
                        },
                        None,
                    ));
                }
                Err(Stop::Invalid(what, at)) => {
                    let offset = self.consumed + at as u64;
                    let whole = FileProblem::Invalid { what, offset };
                    match self.value_start() {
                        Some(from) if at >= from => {
                            self.skip_record(RecordProblem::Invalid { what, offset }, whole)?
                        }
                        _ => return Err(whole),
                    }
                }
            }
        }
    }

    /// Where the next element of `Records` starts, once its separator is in the window; `None`
    /// outside `Records` or when what follows is not a separator.
    fn value_start(&self) -> Option<usize> {
        let Place::Element { first } = self.place else {
            return None;
        };
        let b = &self.buf[..self.end];
        let ws = |i: usize| {
            i + b[i..]
                .iter()
                .take_while(|c| c.is_ascii_whitespace())
                .count()
        };
        let mut i = ws(self.start);
        if !first {
            if b.get(i) != Some(&b',') {
                return None;
            }
            i = ws(i + 1);
        }
        (i < b.len()).then_some(i)
    }

    /// Starts skipping the element at the window's front, or gives `whole` back when there is
    /// no element to skip (the file is broken between records, not inside one).
    fn skip_record(
        &mut self,
        problem: RecordProblem,
        whole: FileProblem,
    ) -> Result<(), FileProblem> {
        match self.value_start() {
            Some(from) if !matches!(self.buf[from], b',' | b']' | b'}') => {
                self.start = from;
                self.skipping = Some((Skip::default(), Some(problem)));
                Ok(())
            }
            _ => Err(whole),
        }
    }
}

/// Advances over one unit of the file: the opening brace, one top-level member, the
/// `"Records":[` header, or one element with its separator. Returns the span of an element. On
/// `Incomplete` nothing is consumed: the unit is scanned again once more bytes are in.
fn step(
    sc: &mut Scanner<'_>,
    place: &mut Place,
    saw_records: &mut bool,
    shape: &Shape,
) -> Result<Option<(usize, usize)>, Stop> {
    match *place {
        Place::Start => {
            sc.expect(b'{', "a JSON object expected")?;
            *place = Place::Members { first: true };
            Ok(None)
        }
        Place::Members { first } => {
            sc.ws();
            match sc.peek()? {
                b'}' => {
                    sc.i += 1;
                    *place = Place::End;
                    return Ok(None);
                }
                b',' if !first => {
                    sc.i += 1;
                    sc.ws();
                }
                _ if !first => return Err(sc.invalid("',' or '}' expected")),
                _ => {}
            }
            if sc.peek()? != b'"' {
                return Err(sc.invalid("a member name expected"));
            }
            let key_start = sc.i;
            sc.string()?;
            let is_records = &sc.b[key_start..sc.i] == b"\"Records\"";
            sc.expect(b':', "':' expected")?;
            if is_records {
                sc.expect(b'[', "Records is not an array")?;
                *saw_records = true;
                *place = Place::Element { first: true };
            } else {
                sc.value(&Shape::Any, 1)?;
                *place = Place::Members { first: false };
            }
            Ok(None)
        }
        Place::Element { first } => {
            sc.ws();
            match sc.peek()? {
                b']' => {
                    sc.i += 1;
                    *place = Place::Members { first: false };
                    return Ok(None);
                }
                b',' if !first => {
                    sc.i += 1;
                    sc.ws();
                }
                _ if !first => return Err(sc.invalid("',' or ']' expected")),
                _ => {}
            }
            let from = sc.i;
            // Line breaks between elements do not matter, only those inside the record.
            sc.line_break = false;
            sc.picking = true;
            sc.picks = Picks::default();
            let scanned = sc.value(shape, 1);
            sc.picking = false;
            scanned?;
            let to = sc.i;
            *place = Place::Element { first: false };
            Ok(Some((from, to)))
        }
        Place::End => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::json::string_specials;
    use super::shape::is_date_time;
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use serde_json::Value;

    fn shape() -> Shape {
        Shape::object(vec![
            ("eventID".into(), Shape::String),
            ("readOnly".into(), Shape::Bool),
            (
                "userIdentity".into(),
                Shape::object(vec![("type".into(), Shape::String)]),
            ),
            (
                "resources".into(),
                Shape::Array(Box::new(Shape::object(vec![("ARN".into(), Shape::String)]))),
            ),
        ])
    }

    /// Reads in tiny pieces, to exercise every refill point.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(self.0.len()).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn split(text: &[u8], piece: usize) -> Result<Vec<(String, bool)>, FileProblem> {
        let shape = shape();
        let mut s = RecordSplitter::with_window(Trickle(text, piece), Vec::new());
        let mut out = Vec::new();
        while let Some(e) = s.next(&shape)? {
            match e {
                Element::Record { bytes, fits, .. } => {
                    out.push((String::from_utf8(bytes.to_vec()).unwrap(), fits))
                }
                Element::NotAnObject => out.push(("-".into(), false)),
                Element::Unreadable(_) => out.push(("!".into(), false)),
                Element::Filtered => out.push(("~".into(), false)),
            }
        }
        Ok(out)
    }

    #[test]
    fn records_come_out_as_their_bytes() {
        let text = br#" { "Other": {"a": [1, 2.5e3, "x\"y"]}, "Records" : [ {"eventID":"a","readOnly":true} ,{"eventID":"b","n":-0.5,"u":"\u00e9\n"}, 7 ] , "z": null } "#;
        let got = split(text, 3).unwrap();
        assert_eq!(
            got,
            vec![
                (r#"{"eventID":"a","readOnly":true}"#.into(), true),
                (r#"{"eventID":"b","n":-0.5,"u":"\u00e9\n"}"#.into(), true),
                ("-".into(), false),
            ]
        );
    }

    #[test]
    fn values_contradicting_the_schema_are_flagged_at_any_depth() {
        for (record, fits) in [
            (json!({"eventID": 5}), false),
            (json!({"readOnly": "true"}), false),
            (json!({"userIdentity": "x"}), false),
            (json!({"userIdentity": {"type": 1}}), false),
            (json!({"resources": [{"ARN": "a"}, {"ARN": ["b"]}]}), false),
            (
                json!({"resources": [{"ARN": "a"}], "other": {"type": 1}}),
                true,
            ),
            (
                json!({"eventID": null, "readOnly": null, "userIdentity": null}),
                true,
            ),
        ] {
            let text = format!("{{\"Records\":[{record}]}}");
            let got = split(text.as_bytes(), 1 << 20).unwrap();
            assert_eq!(got[0].1, fits, "{record}");
            let mut v = record.clone();
            let nulled = shape().coerce(&mut v);
            assert_eq!(nulled == 0, fits, "{record} -> {v}");
        }
    }

    #[test]
    fn members_are_found_by_name_and_only_by_name() {
        let names = [
            "eventID",
            "eventIDx",
            "requestID",
            "sourceIPAddress",
            "a",
            "recipientAccountId",
            "recipientAccountIdentifier",
        ];
        let Shape::Object(members) = Shape::object(
            names
                .iter()
                .map(|n| (n.to_string(), Shape::String))
                .collect(),
        ) else {
            unreachable!()
        };
        for n in names {
            assert_eq!(members.get(n.as_bytes()), &Shape::String, "{n}");
        }
        for other in [
            "",
            "b",
            "eventId",
            "eventIDy",
            "recipientAccountIdentifies",
            "sourceIPAddresses",
            "requestI",
        ] {
            assert_eq!(members.get(other.as_bytes()), &Shape::Any, "{other}");
        }
    }

    #[test]
    fn only_castable_times_pass_as_date_times() {
        for ok in [
            "2024-05-01T12:00:00Z",
            "2024-05-01T12:00:00.123Z",
            "2024-05-01T12:00:00+02:00",
        ] {
            assert!(is_date_time(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "2024-13-01T12:00:00Z",
            "2024-05-01 12:00:00Z",
            "2024-05-01T12:00:00",
            "yesterday",
            "2024-05-01T25:00:00Z",
            "2024-05-01T12:00:00.Z",
        ] {
            assert!(!is_date_time(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn a_line_break_between_tokens_forces_a_rebuild() {
        let got = split(b"{\"Records\":[{\"eventID\":\n\"a\"}]}", 1 << 20).unwrap();
        assert!(!got[0].1);
    }

    #[test]
    fn broken_files_are_told_apart() {
        let cases: [(&[u8], &str); 8] = [
            (b"", "Empty"),
            (b"  ", "Empty"),
            (br#"{"digestStartTime":"x","logFiles":[]}"#, "NoRecords"),
            (br#"{"Records":[{"eventID":"a"},"#, "Truncated"),
            (br#"{"Records":[{"eventID":"a""#, "Truncated"),
            (br#"{"Records":[01]}"#, "Invalid"),
            (br#"{"Records":[{"a":1} {"b":2}]}"#, "Invalid"),
            (br#"{"Records":[]} x"#, "Invalid"),
        ];
        for (text, want) in cases {
            let got = format!("{:?}", split(text, 2).unwrap_err());
            assert!(
                got.starts_with(want),
                "{}: {got}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn one_bad_record_is_skipped_and_the_records_after_it_are_read() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let bad: [&[u8]; 6] = [
            br#"{"eventID":tru}"#,
            br#"{"eventID":"a\x"}"#,
            b"{\"eventID\":\"a\x01\"}",
            b"{\"eventID\":\"\xff\"}",
            br#"{"p":{"q":[1,2,]}}"#,
            deep.as_bytes(),
        ];
        for record in bad {
            let mut text = br#"{"Records":[{"eventID":"a"},"#.to_vec();
            text.extend_from_slice(record);
            text.extend_from_slice(br#",{"eventID":"b"}]}"#);
            for piece in [1, 3, 1 << 20] {
                let got: Vec<String> = split(&text, piece)
                    .unwrap()
                    .into_iter()
                    .map(|r| r.0)
                    .collect();
                assert_eq!(
                    got,
                    [r#"{"eventID":"a"}"#, "!", r#"{"eventID":"b"}"#],
                    "{}",
                    String::from_utf8_lossy(record)
                );
            }
        }
    }

    #[test]
    fn a_record_too_large_for_the_window_is_skipped_without_keeping_it() {
        let text = format!(
            "{{\"Records\":[{{\"eventID\":\"a\",\"p\":\"{}\"}},{{\"eventID\":\"b\"}}]}}",
            "x".repeat(MAX_WINDOW + 1)
        );
        let got = split(text.as_bytes(), 1 << 20).unwrap();
        assert_eq!(
            got,
            [("!".into(), false), (r#"{"eventID":"b"}"#.into(), true)]
        );
    }

    #[test]
    fn a_record_bigger_than_the_window_grows_it() {
        let big = "x".repeat(3 * INITIAL_WINDOW);
        let text = format!(
            "{{\"Records\":[{{\"eventID\":\"a\",\"p\":\"{big}\"}},{{\"eventID\":\"b\"}}]}}"
        );
        let got = split(text.as_bytes(), 100_000).unwrap();
        assert_eq!(got.len(), 2);
        assert!(got[0].0.len() > 3 * INITIAL_WINDOW);
    }

    /// Windows beyond `SHARED_WINDOW` are held by one file at a time: a second file needing one
    /// waits until the first is done.
    #[test]
    fn only_one_file_at_a_time_grows_a_large_window() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let big = "x".repeat(2 * SHARED_WINDOW);
        let text = format!("{{\"Records\":[{{\"p\":\"{big}\"}}]}}").into_bytes();
        let mut first = RecordSplitter::with_window(&text[..], Vec::new());
        assert!(matches!(
            first.next(&Shape::Any),
            Ok(Some(Element::Record { .. }))
        ));
        assert!(first.holds_large_window());
        let second_done = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (text, done) = (text.clone(), second_done.clone());
            std::thread::spawn(move || {
                let mut second = RecordSplitter::with_window(&text[..], Vec::new());
                assert!(matches!(
                    second.next(&Shape::Any),
                    Ok(Some(Element::Record { .. }))
                ));
                done.store(true, Ordering::SeqCst);
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(
            !second_done.load(Ordering::SeqCst),
            "two large windows at once"
        );
        drop(first);
        waiter.join().unwrap();
        assert!(second_done.load(Ordering::SeqCst));
        // A small file never waits, and a reused large window is cut back.
        let (_, window) =
            RecordSplitter::with_window(&b""[..], vec![0; 4 * SHARED_WINDOW]).into_parts();
        assert_eq!(window.len(), SHARED_WINDOW);
    }

    #[test]
    fn string_specials_are_found_in_every_lane() {
        for lane in 0..8 {
            for special in [b'"', b'\\', 0x00, 0x1f] {
                let mut word = [b'a'; 8];
                word[lane] = special;
                let found = string_specials(u64::from_le_bytes(word));
                assert_eq!(found.trailing_zeros() / 8, lane as u32);
                // Specials after the first do not move it.
                word[7] = b'"';
                let found = string_specials(u64::from_le_bytes(word));
                assert_eq!(found.trailing_zeros() / 8, lane as u32);
            }
        }
        assert_eq!(string_specials(u64::from_le_bytes(*b"ab\xc3\xa9 ~/!")), 0);
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            (-1e6f64..1e6).prop_map(|n| json!((n * 4.0).round() / 4.0)),
            "\\PC{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[a-zA-Z\"\\\\é]{0,8}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn every_record_serde_writes_comes_back_byte_for_byte(
            records in prop::collection::vec(prop::collection::btree_map("[a-zA-Z]{1,8}", json_value(), 0..6), 0..8),
            piece in 1usize..64,
            pretty in any::<bool>(),
        ) {
            let records: Vec<Value> = records.into_iter().map(|m| Value::Object(m.into_iter().collect())).collect();
            let file = json!({"Records": records});
            let text = if pretty { serde_json::to_string_pretty(&file).unwrap() } else { file.to_string() };
            let got = split(text.as_bytes(), piece).unwrap();
            prop_assert_eq!(got.len(), records.len());
            for ((bytes, fits), want) in got.iter().zip(&records) {
                let back: Value = serde_json::from_str(bytes).unwrap();
                prop_assert_eq!(&back, want);
                if !pretty {
                    prop_assert_eq!(bytes, &want.to_string());
                }
                let mut v = want.clone();
                let nulled = shape().coerce(&mut v);
                // What contradicts the schema never passes; names written with escapes take
                // the slow path too (they could spell a name twice).
                prop_assert!(!*fits || nulled == 0);
                if (!pretty || want.as_object().is_some_and(|m| m.is_empty())) && !bytes.contains('\\') {
                    prop_assert_eq!(*fits, nulled == 0);
                }
            }
        }

        #[test]
        fn cutting_a_file_anywhere_is_reported_never_a_panic(cut in 0usize..400, piece in 1usize..64) {
            let text = br#"{"Records":[{"eventID":"a","readOnly":false,"resources":[{"ARN":"x"}]},{"eventID":"b","n":[1,2,{"c":"\u00e9"}]}]}"#;
            let cut = cut.min(text.len());
            let result = split(&text[..cut], piece);
            if cut < text.len() {
                prop_assert!(result.is_err());
            } else {
                prop_assert_eq!(result.unwrap().len(), 2);
            }
        }

        #[test]
        fn bad_records_anywhere_cost_only_themselves(
            records in prop::collection::vec(prop::collection::btree_map("[a-zA-Z]{1,8}", json_value(), 0..4), 0..6),
            bad in prop::collection::vec((0usize..7, 0usize..4), 0..4),
            piece in 1usize..64,
        ) {
            // Bad records of every kind, spliced in at random places among good ones.
            let kinds: [Vec<u8>; 4] = [
                br#"{"eventID":nul}"#.to_vec(),
                b"{\"u\":\"\xc3\x28\",\"v\":[\"]\"]}".to_vec(),
                format!("{{\"d\":{}1{}}}", "[".repeat(140), "]".repeat(140)).into_bytes(),
                br#"{"a":{"b":"\q"},"c":[1,{}]}"#.to_vec(),
            ];
            let mut elements: Vec<Option<Vec<u8>>> = records
                .iter()
                .map(|m| Some(Value::Object(m.clone().into_iter().collect()).to_string().into_bytes()))
                .collect();
            for (at, _) in &bad {
                elements.insert((*at).min(elements.len()), None);
            }
            let mut text = b"{\"Records\":[".to_vec();
            let mut kind = bad.iter().map(|b| b.1).cycle();
            for (i, e) in elements.iter().enumerate() {
                if i > 0 {
                    text.push(b',');
                }
                match e {
                    Some(bytes) => text.extend_from_slice(bytes),
                    None => text.extend_from_slice(&kinds[kind.next().unwrap()]),
                }
            }
            text.extend_from_slice(b"]}");
            let got = split(&text, piece).unwrap();
            let want: Vec<String> = elements
                .iter()
                .map(|e| e.as_ref().map_or("!".into(), |b| String::from_utf8(b.clone()).unwrap()))
                .collect();
            let got: Vec<String> = got.into_iter().map(|g| g.0).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn garbage_is_reported_never_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = split(&bytes, 7);
        }
    }
}

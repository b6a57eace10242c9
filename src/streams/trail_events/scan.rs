//! Splitting a decompressed CloudTrail log file into its records without building them: a
//! validating JSON scanner that walks `{"Records":[…]}` byte by byte, proves each record is
//! well-formed JSON, and checks the fields the schema types against their declared types, so that
//! a record can be passed through as the bytes it arrived in.

use std::io::{self, Read};

use serde_json::Value;

/// What the schema declares for a value (`null` is accepted everywhere).
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Any JSON: the polymorphic fields.
    Any,
    String,
    /// A string in RFC 3339 form, as CloudTrail writes times.
    DateTime,
    Bool,
    /// Known members; unknown members are `Any`. Built by `Shape::object`.
    Object(Members),
    Array(Box<Shape>),
}

impl Shape {
    /// The shape a JSON Schema (as `schema_for` writes it) declares.
    pub fn from_schema(schema: &Value) -> Shape {
        let types: Vec<&str> = match schema.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => return Shape::Any,
        };
        let declared: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
        match declared.as_slice() {
            ["string"] if schema.get("format") == Some(&Value::from("date-time")) => {
                Shape::DateTime
            }
            ["string"] => Shape::String,
            ["boolean"] => Shape::Bool,
            ["object"] => Shape::object(
                schema
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|props| {
                        props
                            .iter()
                            .map(|(name, s)| (name.clone(), Shape::from_schema(s)))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            ["array"] => Shape::Array(Box::new(
                schema.get("items").map_or(Shape::Any, Shape::from_schema),
            )),
            _ => Shape::Any,
        }
    }

    pub fn object(members: Vec<(String, Shape)>) -> Shape {
        Shape::Object(Members::new(members))
    }

    #[inline]
    fn member(&self, key: &[u8]) -> &Shape {
        match self {
            Shape::Object(members) => members.get(key),
            _ => &Shape::Any,
        }
    }

    /// Nulls every value of `value` that contradicts this shape (the slow path for the rare
    /// record that does not fit).
    pub fn coerce(&self, value: &mut Value) -> usize {
        let fits = match (self, &*value) {
            (_, Value::Null) | (Shape::Any, _) => true,
            (Shape::String, Value::String(_)) | (Shape::Bool, Value::Bool(_)) => true,
            (Shape::DateTime, Value::String(s)) => is_date_time(s.as_bytes()),
            (Shape::Object(_), Value::Object(_)) | (Shape::Array(_), Value::Array(_)) => true,
            _ => false,
        };
        if !fits {
            *value = Value::Null;
            return 1;
        }
        match (self, value) {
            (Shape::Object(members), Value::Object(map)) => members
                .list
                .iter()
                .map(|(name, shape)| map.get_mut(name).map_or(0, |v| shape.coerce(v)))
                .sum(),
            (Shape::Array(item), Value::Array(items)) => {
                items.iter_mut().map(|v| item.coerce(v)).sum()
            }
            _ => 0,
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)` with every field in range: what a destination can cast.
pub fn is_date_time(s: &[u8]) -> bool {
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let d = s.get(r)?;
        d.iter()
            .all(u8::is_ascii_digit)
            .then(|| d.iter().fold(0, |n, c| n * 10 + u32::from(c - b'0')))
    };
    let fixed = s.len() >= 20
        && s[4] == b'-'
        && s[7] == b'-'
        && (s[10] == b'T' || s[10] == b't')
        && s[13] == b':'
        && s[16] == b':';
    if !fixed {
        return false;
    }
    let in_range = num(0..4).is_some()
        && num(5..7).is_some_and(|m| (1..=12).contains(&m))
        && num(8..10).is_some_and(|d| (1..=31).contains(&d))
        && num(11..13).is_some_and(|h| h < 24)
        && num(14..16).is_some_and(|m| m < 60)
        && num(17..19).is_some_and(|s| s < 61);
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        rest = &frac[digits..];
    }
    let zone = match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    };
    in_range && zone
}

/// The declared members of an object, looked up by name: among the names of the key's length,
/// by their first 8 bytes as one integer, then the rest of the one that matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Members {
    list: Vec<(String, Shape)>,
    /// Per name length, the range of `heads` entries of names of that length.
    by_len: Vec<(usize, usize)>,
    /// (first 8 bytes of the name, zero-padded; index in `list`), sorted by name length.
    heads: Vec<(u64, usize)>,
}

/// The first 8 bytes of `name` as an integer, zero-padded.
#[inline]
fn head(name: &[u8]) -> u64 {
    match name.get(..8) {
        Some(first) => u64::from_le_bytes(first.try_into().unwrap_or([0; 8])),
        None => {
            let mut w = [0u8; 8];
            w[..name.len()].copy_from_slice(name);
            u64::from_le_bytes(w)
        }
    }
}

impl Members {
    fn new(list: Vec<(String, Shape)>) -> Members {
        let mut heads: Vec<(u64, usize)> = list
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (head(name.as_bytes()), i))
            .collect();
        heads.sort_by_key(|(_, i)| list[*i].0.len());
        let longest = list.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        let by_len = (0..=longest)
            .map(|len| {
                let start = heads.partition_point(|(_, i)| list[*i].0.len() < len);
                let end = heads.partition_point(|(_, i)| list[*i].0.len() <= len);
                (start, end)
            })
            .collect();
        Members {
            list,
            by_len,
            heads,
        }
    }

    #[inline]
    fn get(&self, key: &[u8]) -> &Shape {
        let Some(&(start, end)) = self.by_len.get(key.len()) else {
            return &Shape::Any;
        };
        if start == end {
            return &Shape::Any;
        }
        let key_head = head(key);
        for &(name_head, i) in &self.heads[start..end] {
            let (name, shape) = &self.list[i];
            if name_head == key_head && name.as_bytes().get(8..) == key.get(8..) {
                return shape;
            }
        }
        &Shape::Any
    }
}

/// Why scanning stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The buffer ends inside the value: more bytes are needed.
    Incomplete,
    /// Not JSON: what is wrong, at which offset of the buffer.
    Invalid(&'static str, usize),
}

/// Deeper nesting than any CloudTrail record has; bounds the recursion.
const MAX_DEPTH: usize = 128;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `w` that is a quote, a backslash or a control character (the
/// only bytes a string scan stops at). Bits above the lowest may be false positives, the lowest
/// is exact: it marks the first such byte.
#[inline]
fn string_specials(w: u64) -> u64 {
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let quote = zero_byte(w ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(w ^ (ONES * u64::from(b'\\')));
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    quote | backslash | control
}

/// A scan over one buffer.
struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    /// A value contradicting its shape was seen.
    mismatch: bool,
    /// A line break outside strings was seen: the record cannot go out as one line as it is.
    line_break: bool,
}

type Step = Result<(), Stop>;

impl<'a> Scanner<'a> {
    #[inline]
    fn peek(&self) -> Result<u8, Stop> {
        self.b.get(self.i).copied().ok_or(Stop::Incomplete)
    }

    fn invalid(&self, what: &'static str) -> Stop {
        Stop::Invalid(what, self.i)
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b' ' | b'\t' => {}
                b'\n' | b'\r' => self.line_break = true,
                _ => return,
            }
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8, what: &'static str) -> Step {
        self.ws();
        if self.peek()? != c {
            return Err(self.invalid(what));
        }
        self.i += 1;
        Ok(())
    }

    /// A string from its opening quote; returns whether it held an escape.
    #[inline]
    fn string(&mut self) -> Result<bool, Stop> {
        let b = self.b;
        let mut i = self.i + 1;
        let mut escaped = false;
        loop {
            // Eight bytes at a time, straight to the first byte that needs a look.
            while let Some(chunk) = b.get(i..i + 8) {
                let specials =
                    string_specials(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
                if specials != 0 {
                    i += (specials.trailing_zeros() / 8) as usize;
                    break;
                }
                i += 8;
            }
            match b.get(i) {
                None => return Err(Stop::Incomplete),
                Some(b'"') => {
                    self.i = i + 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    match *b.get(i + 1).ok_or(Stop::Incomplete)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                        b'u' => {
                            let hex = b.get(i + 2..i + 6).ok_or(Stop::Incomplete)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return Err(Stop::Invalid("a bad \\u escape", i));
                            }
                            i += 6;
                        }
                        _ => return Err(Stop::Invalid("a bad escape", i)),
                    }
                }
                Some(c) if *c < 0x20 => {
                    return Err(Stop::Invalid("a control character in a string", i))
                }
                Some(_) => i += 1,
            }
        }
    }

    fn digits(&mut self) -> Result<usize, Stop> {
        let start = self.i;
        while self.peek()?.is_ascii_digit() {
            self.i += 1;
        }
        Ok(self.i - start)
    }

    fn number(&mut self) -> Step {
        if self.peek()? == b'-' {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                self.digits()?;
            }
            _ => return Err(self.invalid("a bad number")),
        }
        if self.peek()? == b'.' {
            self.i += 1;
            if self.digits()? == 0 {
                return Err(self.invalid("a bad number"));
            }
        }
        if matches!(self.peek()?, b'e' | b'E') {
            self.i += 1;
            if matches!(self.peek()?, b'+' | b'-') {
                self.i += 1;
            }
            if self.digits()? == 0 {
                return Err(self.invalid("a bad number"));
            }
        }
        Ok(())
    }

    fn literal(&mut self, word: &'static [u8]) -> Step {
        let rest = &self.b[self.i..];
        let n = rest.len().min(word.len());
        if rest[..n] != word[..n] {
            return Err(self.invalid("an unknown literal"));
        }
        if n < word.len() {
            return Err(Stop::Incomplete);
        }
        self.i += word.len();
        Ok(())
    }

    fn value(&mut self, shape: &Shape, depth: usize) -> Step {
        self.ws();
        let fits = match self.peek()? {
            b'{' => {
                self.object(shape, depth)?;
                matches!(shape, Shape::Any | Shape::Object(_))
            }
            b'[' => {
                self.array(shape, depth)?;
                matches!(shape, Shape::Any | Shape::Array(_))
            }
            b'"' => {
                let start = self.i;
                let escaped = self.string()?;
                match shape {
                    Shape::Any | Shape::String => true,
                    Shape::DateTime => !escaped && is_date_time(&self.b[start + 1..self.i - 1]),
                    _ => false,
                }
            }
            b't' | b'f' => {
                let word: &'static [u8] = if self.peek()? == b't' {
                    b"true"
                } else {
                    b"false"
                };
                self.literal(word)?;
                matches!(shape, Shape::Any | Shape::Bool)
            }
            b'n' => {
                self.literal(b"null")?;
                true
            }
            b'-' | b'0'..=b'9' => {
                self.number()?;
                matches!(shape, Shape::Any)
            }
            _ => return Err(self.invalid("an unexpected character")),
        };
        self.mismatch |= !fits;
        Ok(())
    }

    fn object(&mut self, shape: &Shape, depth: usize) -> Step {
        if depth >= MAX_DEPTH {
            return Err(self.invalid("nesting deeper than 128 levels"));
        }
        self.i += 1;
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            if self.peek()? != b'"' {
                return Err(self.invalid("a member name expected"));
            }
            let start = self.i + 1;
            let escaped = self.string()?;
            let key = &self.b[start..self.i - 1];
            let member = shape.member(key);
            if escaped && matches!(shape, Shape::Object(_)) {
                // A declared name spelled with escapes would dodge the type check: the record
                // takes the slow path, which sees names unescaped.
                let name: Option<String> = serde_json::from_slice(&self.b[start - 1..self.i]).ok();
                self.mismatch |= name.is_some_and(|n| shape.member(n.as_bytes()) != &Shape::Any);
            }
            self.expect(b':', "':' expected")?;
            self.value(member, depth + 1)?;
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.invalid("',' or '}' expected")),
            }
        }
    }

    fn array(&mut self, shape: &Shape, depth: usize) -> Step {
        if depth >= MAX_DEPTH {
            return Err(self.invalid("nesting deeper than 128 levels"));
        }
        let item = match shape {
            Shape::Array(item) => item,
            _ => &Shape::Any,
        };
        self.i += 1;
        self.ws();
        if self.peek()? == b']' {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.value(item, depth + 1)?;
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.invalid("',' or ']' expected")),
            }
        }
    }
}

/// One element of the `Records` array.
#[derive(Debug, PartialEq, Eq)]
pub enum Element<'a> {
    /// A valid JSON object. `fits` is false when some value contradicts the schema or the bytes
    /// hold a line break: it must then be rebuilt rather than passed through.
    Record { bytes: &'a [u8], fits: bool },
    /// Valid JSON but not an object.
    NotAnObject,
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
}

const INITIAL_WINDOW: usize = 256 * 1024;
/// Far above CloudTrail's 256 KB per record: beyond it the file is not a trail's.
const MAX_WINDOW: usize = 64 * 1024 * 1024;

impl<R: Read> RecordSplitter<R> {
    /// Reuses `window` (of an earlier splitter) for the bytes in memory.
    pub fn with_window(source: R, mut window: Vec<u8>) -> Self {
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
        }
    }

    /// The source and the window, for another file.
    pub fn into_parts(self) -> (R, Vec<u8>) {
        (self.source, self.buf)
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
                return Err(FileProblem::Invalid {
                    what: "a record larger than 64 MB",
                    offset: self.consumed,
                });
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
            let mut sc = Scanner {
                b: &self.buf[..self.end],
                i: self.start,
                mismatch: false,
                line_break: false,
            };
            match step(&mut sc, &mut self.place, &mut self.saw_records, shape) {
                Ok(Some((from, to))) => {
                    self.start = sc.i;
                    let fits = !sc.mismatch && !sc.line_break;
                    let bytes = &self.buf[from..to];
                    if bytes.first() != Some(&b'{') {
                        return Ok(Some(Element::NotAnObject));
                    }
                    if std::str::from_utf8(bytes).is_err() {
                        return Err(FileProblem::Invalid {
                            what: "bytes that are not UTF-8",
                            offset: self.consumed + from as u64,
                        });
                    }
                    return Ok(Some(Element::Record { bytes, fits }));
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
                    if !self.refill()? {
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
                Err(Stop::Invalid(what, at)) => {
                    return Err(FileProblem::Invalid {
                        what,
                        offset: self.consumed + at as u64,
                    })
                }
            }
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
            sc.value(shape, 1)?;
            let to = sc.i;
            *place = Place::Element { first: false };
            Ok(Some((from, to)))
        }
        Place::End => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

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
                Element::Record { bytes, fits } => {
                    out.push((String::from_utf8(bytes.to_vec()).unwrap(), fits))
                }
                Element::NotAnObject => out.push(("-".into(), false)),
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
        let cases: [(&[u8], &str); 9] = [
            (b"", "Empty"),
            (b"  ", "Empty"),
            (br#"{"digestStartTime":"x","logFiles":[]}"#, "NoRecords"),
            (br#"{"Records":[{"eventID":"a"},"#, "Truncated"),
            (br#"{"Records":[{"eventID":"a""#, "Truncated"),
            (br#"{"Records":[{"eventID":tru}]}"#, "Invalid"),
            (br#"{"Records":[{"eventID":"a\x"}]}"#, "Invalid"),
            (br#"{"Records":[01]}"#, "Invalid"),
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
        let raw_control = b"{\"Records\":[{\"eventID\":\"a\x01\"}]}";
        assert!(matches!(
            split(raw_control, 64),
            Err(FileProblem::Invalid { .. })
        ));
        let not_utf8 = b"{\"Records\":[{\"eventID\":\"\xff\"}]}";
        assert!(matches!(
            split(not_utf8, 64),
            Err(FileProblem::Invalid { .. })
        ));
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
                if !pretty || want.as_object().is_some_and(|m| m.is_empty()) {
                    let mut v = want.clone();
                    prop_assert_eq!(*fits, shape().coerce(&mut v) == 0);
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
        fn garbage_is_reported_never_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = split(&bytes, 7);
        }
    }
}

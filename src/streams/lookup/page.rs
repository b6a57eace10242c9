//! A LookupEvents page read from the answer's bytes in one walk: every string kept as the span
//! AWS wrote (a record carries it out unchanged, never unescaped and escaped again), and each
//! `CloudTrailEvent` read once: its columns straight from the literal (`escaped.rs`), or, for a
//! record that walk leaves, from its text unescaped into one buffer for the page.

use std::borrow::Cow;
use std::ops::Range;

use super::reader::{
    name_text, unescape_into, unicode_escape, Invalid, Literal, Read, Reader, Surrogates,
};
use super::record::{Columns, Value};
use crate::json_words::{hex4, string_specials};

/// The members of a LookupEvents answer the streams use; others are skipped (checked to be JSON),
/// as the SDK does.
#[derive(Debug)]
pub struct Page<'a> {
    /// The answer.
    pub text: &'a str,
    /// The events' `CloudTrailEvent` texts, unescaped, one after the other (of the records
    /// whose columns could not be read from the literal).
    records: String,
    /// The columns' values of the records read from the literal, one run of them per record.
    values: Vec<Option<Value<'a>>>,
    pub events: Vec<PageEvent>,
    /// The events' resources, each event's a range of them.
    pub resources: Vec<PageResource>,
    pub next_token: Option<Literal>,
}

/// What a page is read into, kept from page to page so that reading allocates nothing.
#[derive(Debug, Default)]
pub struct PageBuffers {
    records: Vec<u8>,
    events: Vec<PageEvent>,
    resources: Vec<PageResource>,
}

/// One event of a page, as LookupEvents gives it: its strings as spans of the page.
#[derive(Debug, Default, Clone)]
pub struct PageEvent {
    pub access_key_id: Option<Literal>,
    pub cloud_trail_event: Option<RecordText>,
    pub event_id: Option<Literal>,
    pub event_name: Option<Literal>,
    pub event_source: Option<Literal>,
    /// Epoch seconds.
    pub event_time: Option<f64>,
    pub read_only: Option<Literal>,
    /// In `Page::resources`.
    pub resources: Range<usize>,
    pub username: Option<Literal>,
}

impl PageEvent {
    /// The whole second of `EventTime` (LookupEvents' precision).
    pub fn second(&self) -> Option<i64> {
        self.event_time.map(|t| t.floor() as i64)
    }
}

/// A `CloudTrailEvent`: as written, and what was read of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordText {
    pub literal: Literal,
    pub read: RecordRead,
    /// Whether the literal holds exactly the text, and can go out as written: a lone UTF-16
    /// surrogate (which strict JSON readers refuse) is U+FFFD in the text.
    pub exact: bool,
}

/// How a record's columns are had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordRead {
    /// Read from the literal as it is written: their values in `Page::values`.
    Picked(Range<usize>),
    /// The text unescaped, in `Page::records`, for the columns to be read from.
    Text(Range<usize>),
}

#[derive(Debug, Default, Clone)]
pub struct PageResource {
    pub resource_name: Option<Literal>,
    pub resource_type: Option<Literal>,
}

impl<'a> Page<'a> {
    /// Reads an answer's body into `buffers`; an error says why it is not a LookupEvents answer
    /// (and gives the buffers back).
    pub fn parse(
        body: &'a [u8],
        buffers: PageBuffers,
        columns: &Columns,
    ) -> Result<Page<'a>, (Invalid, PageBuffers)> {
        let text = match std::str::from_utf8(body) {
            Ok(text) => text,
            Err(e) => {
                let why = Invalid {
                    what: "bytes that are not UTF-8",
                    at: e.valid_up_to(),
                };
                return Err((why, buffers));
            }
        };
        let PageBuffers {
            mut records,
            mut events,
            mut resources,
        } = buffers;
        records.clear();
        events.clear();
        resources.clear();
        let mut page = PageReading {
            records,
            // A page lists 50 events at most.
            values: Vec::with_capacity(columns.len() * 50),
            columns,
            events,
            resources,
            next_token: None,
        };
        let read = page.read(&mut Reader::new(text));
        let PageReading {
            records,
            values,
            events,
            resources,
            next_token,
            ..
        } = page;
        // Unescaped from UTF-8 text, escapes written as UTF-8: never refused.
        let checked = match read {
            Err(why) => Err((why, records)),
            Ok(()) => String::from_utf8(records).map_err(|e| {
                let at = e.utf8_error().valid_up_to();
                let what = "a CloudTrailEvent that is not UTF-8 once unescaped";
                (Invalid { what, at }, e.into_bytes())
            }),
        };
        match checked {
            Ok(records) => Ok(Page {
                text,
                records,
                values,
                events,
                resources,
                next_token,
            }),
            Err((why, records)) => Err((
                why,
                PageBuffers {
                    records,
                    events,
                    resources,
                },
            )),
        }
    }

    /// The buffers, for the next page.
    pub fn into_buffers(self) -> PageBuffers {
        PageBuffers {
            records: self.records.into_bytes(),
            events: self.events,
            resources: self.resources,
        }
    }

    pub fn events(&self) -> &[PageEvent] {
        &self.events
    }

    /// A string member's text, escapes decoded (borrowed when it has none).
    pub fn text_of(&self, literal: Literal) -> Cow<'a, str> {
        let inner = literal.inner(self.text);
        if !literal.escaped {
            return Cow::Borrowed(inner);
        }
        let mut out = String::new();
        unescape_into(inner, &mut out);
        Cow::Owned(out)
    }

    /// A string member as written, quotes included (valid JSON).
    pub fn json_of(&self, literal: Literal) -> &'a str {
        literal.json(self.text)
    }

    /// The `CloudTrailEvent` text of `event`, unescaped, unless its columns were read from
    /// the literal.
    pub fn record_of(&self, event: &PageEvent) -> Option<&str> {
        match &event.cloud_trail_event.as_ref()?.read {
            RecordRead::Text(text) => Some(&self.records[text.clone()]),
            RecordRead::Picked(_) => None,
        }
    }

    /// A record's unescaped text.
    pub fn record_text(&self, text: &Range<usize>) -> &str {
        &self.records[text.clone()]
    }

    /// The columns' values of a record read from its literal.
    pub fn values(&self, picked: &Range<usize>) -> &[Option<Value<'a>>] {
        &self.values[picked.clone()]
    }
}

struct PageReading<'a, 'c> {
    records: Vec<u8>,
    values: Vec<Option<Value<'a>>>,
    columns: &'c Columns,
    events: Vec<PageEvent>,
    resources: Vec<PageResource>,
    next_token: Option<Literal>,
}

/// A member's value read when `seen` did not have it yet (serde refuses a member given twice).
fn once(r: &Reader, seen: &mut u32, member: u32) -> Read<()> {
    if *seen & (1 << member) != 0 {
        return Err(r.invalid("a member given twice"));
    }
    *seen |= 1 << member;
    Ok(())
}

/// A string or null, read with its surrogates paired (as serde reads a string it keeps);
/// `what` says what else is refused.
fn optional_string(r: &mut Reader, what: &'static str) -> Read<Option<Literal>> {
    match r.peek()? {
        b'n' => r.word().map(|_| None),
        b'"' => r.string(Surrogates::Paired).map(Some),
        _ => Err(r.invalid(what)),
    }
}

impl<'a> PageReading<'a, '_> {
    fn read(&mut self, r: &mut Reader<'a>) -> Read<()> {
        if r.peek()? != b'{' {
            return Err(r.invalid("an object expected"));
        }
        let mut seen = 0;
        let text = r.text;
        let result = r.object(|r, name| match &*name_text(text, name) {
            "Events" => {
                once(r, &mut seen, 0)?;
                match r.peek()? {
                    b'n' => r.word().map(|_| ()),
                    b'[' => r.array(|r| self.event(r)),
                    _ => Err(r.invalid("Events is not a list")),
                }
            }
            "NextToken" => {
                once(r, &mut seen, 1)?;
                self.next_token = optional_string(r, "NextToken is not a string")?;
                Ok(())
            }
            _ => r.skip(),
        });
        result.and_then(|()| r.end())
    }

    fn event(&mut self, r: &mut Reader<'a>) -> Read<()> {
        if r.peek()? != b'{' {
            return Err(r.invalid("an event that is not an object"));
        }
        let text = r.text;
        let mut e = PageEvent {
            resources: self.resources.len()..self.resources.len(),
            ..PageEvent::default()
        };
        let mut seen = 0;
        r.object(|r, name| {
            let name = name_text(text, name);
            let (member, string) = match &*name {
                "EventId" => (0, Some((&mut e.event_id, "EventId is not a string"))),
                "EventName" => (1, Some((&mut e.event_name, "EventName is not a string"))),
                "EventSource" => (
                    2,
                    Some((&mut e.event_source, "EventSource is not a string")),
                ),
                "AccessKeyId" => (
                    3,
                    Some((&mut e.access_key_id, "AccessKeyId is not a string")),
                ),
                "ReadOnly" => (4, Some((&mut e.read_only, "ReadOnly is not a string"))),
                "Username" => (5, Some((&mut e.username, "Username is not a string"))),
                "CloudTrailEvent" => (6, None),
                "EventTime" => (7, None),
                "Resources" => (8, None),
                _ => return r.skip(),
            };
            once(r, &mut seen, member)?;
            if let Some((slot, what)) = string {
                *slot = optional_string(r, what)?;
                return Ok(());
            }
            match member {
                6 => {
                    e.cloud_trail_event = match r.peek()? {
                        b'n' => r.word().map(|_| None)?,
                        b'"' => Some(self.record(r)?),
                        _ => return Err(r.invalid("CloudTrailEvent is not a string")),
                    }
                }
                7 => {
                    e.event_time = match r.peek()? {
                        b'n' => r.word().map(|_| None)?,
                        b'-' | b'0'..=b'9' => {
                            let (start, end) = r.number()?;
                            // serde_json's reading, so that the time is the one the SDK gives.
                            let t = serde_json::from_str::<f64>(&text[start..end])
                                .map_err(|_| r.invalid("EventTime is out of range"))?;
                            Some(t)
                        }
                        _ => return Err(r.invalid("EventTime is not a number")),
                    }
                }
                _ => {
                    let first = self.resources.len();
                    match r.peek()? {
                        b'n' => {
                            r.word()?;
                        }
                        b'[' => r.array(|r| self.resource(r))?,
                        _ => return Err(r.invalid("Resources is not a list")),
                    }
                    e.resources = first..self.resources.len();
                }
            }
            Ok(())
        })?;
        self.events.push(e);
        Ok(())
    }

    /// A `CloudTrailEvent` string: its columns read from the literal when they can be, else
    /// its text unescaped for them.
    fn record(&mut self, r: &mut Reader<'a>) -> Read<RecordText> {
        let start = r.i;
        let first = self.values.len();
        self.values.resize(first + self.columns.len(), None);
        if let Some(end) = self
            .columns
            .pick_escaped(r.text, start, &mut self.values[first..])
        {
            r.i = end;
            let inner = &r.text.as_bytes()[start + 1..end - 1];
            let literal = Literal {
                start: start as u32,
                end: end as u32,
                escaped: memchr::memchr(b'\\', inner).is_some(),
            };
            return Ok(RecordText {
                literal,
                read: RecordRead::Picked(first..self.values.len()),
                exact: true,
            });
        }
        self.values.truncate(first);
        let text = self.records.len();
        let (literal, exact) = unescape_string(r, &mut self.records)?;
        Ok(RecordText {
            literal,
            read: RecordRead::Text(text..self.records.len()),
            exact,
        })
    }

    fn resource(&mut self, r: &mut Reader) -> Read<()> {
        if r.peek()? != b'{' {
            return Err(r.invalid("a resource that is not an object"));
        }
        let text = r.text;
        let mut resource = PageResource::default();
        let mut seen = 0;
        r.object(|r, name| {
            let (member, slot) = match &*name_text(text, name) {
                "ResourceName" => (0, &mut resource.resource_name),
                "ResourceType" => (1, &mut resource.resource_type),
                _ => return r.skip(),
            };
            once(r, &mut seen, member)?;
            *slot = optional_string(r, "a resource's name or type is not a string")?;
            Ok(())
        })?;
        self.resources.push(resource);
        Ok(())
    }
}

/// Reads the string at the reader (lone surrogates let through, as serde_json skips a raw
/// value) and appends its content, unescaped, to `out`: one walk that checks and decodes, eight
/// bytes at a time between escapes. A lone surrogate becomes U+FFFD, as `unescape_into` has it;
/// false then.
fn unescape_string(r: &mut Reader, out: &mut Vec<u8>) -> Read<(Literal, bool)> {
    let b = r.text.as_bytes();
    let start = r.i;
    let mut i = start + 1;
    let kept = out.len();
    let mut escaped = false;
    let mut exact = true;
    let fail = |out: &mut Vec<u8>, what: &'static str, at: usize| {
        out.truncate(kept);
        Invalid { what, at }
    };
    loop {
        // A word copied whole, then cut back to its plain bytes: no per-run copy call.
        if let Some(chunk) = b.get(i..i + 8) {
            out.extend_from_slice(chunk);
            let specials = string_specials(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
            if specials == 0 {
                i += 8;
                continue;
            }
            let plain = (specials.trailing_zeros() / 8) as usize;
            out.truncate(out.len() - 8 + plain);
            i += plain;
        }
        match b.get(i) {
            None => return Err(fail(out, "the text ends inside a string", i)),
            Some(b'"') => {
                r.i = i + 1;
                let literal = Literal {
                    start: start as u32,
                    end: r.i as u32,
                    escaped,
                };
                return Ok((literal, exact));
            }
            Some(b'\\') => {
                escaped = true;
                // A record's every quote is escaped: tested first, a branch that is nearly always
                // taken instead of the jump table's indirect jump, which mispredicts.
                if b.get(i + 1) == Some(&b'"') {
                    out.push(b'"');
                    i += 2;
                    continue;
                }
                let byte = match b.get(i + 1) {
                    Some(c @ (b'"' | b'\\' | b'/')) => *c,
                    Some(b'b') => 0x08,
                    Some(b'f') => 0x0c,
                    Some(b'n') => b'\n',
                    Some(b'r') => b'\r',
                    Some(b't') => b'\t',
                    Some(b'u') => {
                        let Some(unit) = b.get(i + 2..i + 6).and_then(hex4) else {
                            return Err(fail(out, "a bad \\u escape", i));
                        };
                        let (c, used) = unicode_escape(&r.text[i..]);
                        exact &= !(0xD800..0xE000).contains(&unit) || used == 12;
                        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        i += used;
                        continue;
                    }
                    _ => return Err(fail(out, "a bad escape", i)),
                };
                out.push(byte);
                i += 2;
            }
            Some(c) if *c < 0x20 => return Err(fail(out, "a control character in a string", i)),
            Some(&c) => {
                out.push(c);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::MANAGEMENT_EVENTS;
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn parse(body: &str) -> Read<(Vec<PageEvent>, Option<String>, String)> {
        let page = Page::parse(
            body.as_bytes(),
            PageBuffers::default(),
            MANAGEMENT_EVENTS.columns,
        )
        .map_err(|(e, _)| e)?;
        let token = page.next_token.map(|t| page.text_of(t).into_owned());
        Ok((page.events.clone(), token, page.records.to_string()))
    }

    proptest! {
        /// Whatever the record text, CloudTrailEvent goes out exactly as AWS wrote it, and its
        /// text is the string's content.
        #[test]
        fn cloud_trail_event_round_trips_unchanged(record in "\\PC{0,80}") {
            let body = json!({"Events": [{"EventId": "e", "CloudTrailEvent": record}]}).to_string();
            let page = Page::parse(body.as_bytes(), PageBuffers::default(), MANAGEMENT_EVENTS.columns).unwrap();
            let e = &page.events()[0];
            prop_assert_eq!(page.record_of(e), Some(record.as_str()));
            let record_text = e.cloud_trail_event.clone().unwrap();
            prop_assert!(record_text.exact);
            let out: String = serde_json::from_str(page.json_of(record_text.literal)).unwrap();
            prop_assert_eq!(out, record);
        }

        /// The one-walk unescape of a CloudTrailEvent reads every literal as the checking scan
        /// and `unescape_into` do, escapes of every kind and lone surrogates included.
        #[test]
        fn unescaping_while_reading_matches_unescape_into(
            pieces in prop::collection::vec(prop_oneof![
                "\\PC{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap()[1..].trim_end_matches('"').to_string()),
                Just("\\ud800".to_string()), Just("\\udc00x".to_string()), Just("\\ud83d\\ude00".to_string()),
                Just("\\u00e9".to_string()), Just("\\/".to_string()), Just("\\q".to_string()),
                Just("\u{1}".to_string()), Just("\\u12".to_string()), Just("\\".to_string()),
                // A record's escaped quotes, at every alignment.
                Just("\\\"".to_string()), Just("a\\\"".to_string()), Just("\\\"\\\"b".to_string()),
                Just("\\\\".to_string()), Just("\\\\\\\"".to_string()),
            ], 0..24),
        ) {
            let literal = format!("\"{}\"", pieces.concat());
            let checked = Reader::new(&literal).string(Surrogates::Any);
            let mut out = b"kept".to_vec();
            let read = unescape_string(&mut Reader::new(&literal), &mut out);
            match (checked, read) {
                (Ok(checked), Ok((read, exact))) => {
                    prop_assert_eq!(checked, read);
                    prop_assert_eq!(exact, serde_json::from_str::<String>(checked.json(&literal)).is_ok());
                    let inner = checked.inner(&literal);
                    let mut decoded = String::new();
                    let expected = if unescape_into(inner, &mut decoded) { decoded.as_str() } else { inner };
                    prop_assert_eq!(String::from_utf8(out).unwrap(), format!("kept{expected}"));
                }
                (Err(_), Err(_)) => prop_assert_eq!(out, b"kept".to_vec()),
                (checked, read) => prop_assert!(false, "{:?} vs {:?}", checked, read),
            }
        }
    }

    proptest! {
        /// The fast unescape reads every string as serde_json does, escapes of every kind and
        /// surrogate pairs included.
        #[test]
        fn unescaping_matches_serde_json(text in "(\\PC|[\"\\\\/\u{8}\u{c}\n\r\t\u{1}\u{7f}\u{10000}-\u{10ffff}]){0,40}", ascii in any::<bool>()) {
            let literal = if ascii {
                // serde_json writes non-ASCII as is; escaped writers send \uXXXX (pairs too).
                let mut l = String::from("\"");
                for c in text.chars() {
                    match c {
                        '"' => l.push_str("\\\""),
                        '\\' => l.push_str("\\\\"),
                        c if c.is_ascii() && !c.is_control() => l.push(c),
                        c => {
                            let mut units = [0u16; 2];
                            for u in c.encode_utf16(&mut units) {
                                l.push_str(&format!("\\u{u:04x}"));
                            }
                        }
                    }
                }
                l.push('"');
                l
            } else {
                serde_json::to_string(&text).unwrap()
            };
            let mut out = String::from("leftover");
            let escaped = unescape_into(&literal[1..literal.len() - 1], &mut out);
            let got = if escaped { out.clone() } else { literal[1..literal.len() - 1].to_string() };
            prop_assert_eq!(&got, &text);
            prop_assert_eq!(got, serde_json::from_str::<String>(&literal).unwrap());
        }
    }

    #[test]
    fn lone_surrogates_read_as_serde_json_reads_them() {
        for literal in [
            r#""\ud800""#,
            r#""a\udc00b""#,
            r#""\ud800\u0041""#,
            r#""\/\b""#,
        ] {
            let mut out = String::new();
            assert!(unescape_into(&literal[1..literal.len() - 1], &mut out));
            let theirs: Result<String, _> = serde_json::from_str(literal);
            if let Ok(theirs) = theirs {
                assert_eq!(out, theirs, "{literal}");
            }
        }
    }

    #[test]
    fn an_answer_that_is_not_a_page_is_refused() {
        for body in [
            r#"{"Events": [{"CloudTrailEvent": {"a": 1}}]}"#,
            r#"{"Events": {}}"#,
            "<html>502</html>",
            r#"{"Events": [{"EventId": "e1"#,
            r#"{"Events": [], "Events": []}"#,
            r#"{"Events": [{"EventId": "a", "EventId": "b"}]}"#,
            r#"{"Events": [{"EventTime": "1"}]}"#,
            r#"{"Events": [{"EventTime": 1e400}]}"#,
            r#"{"Events": [{"EventId": "\ud800"}]}"#,
            r#"{"Events": []} x"#,
        ] {
            assert!(parse(body).is_err(), "{body}");
        }
        let (events, token, _) =
            parse(r#"{"Events": [], "NextToken": "t", "Other": [1]}"#).unwrap();
        assert!(events.is_empty());
        assert_eq!(token.as_deref(), Some("t"));
        let body =
            r#"{"Events": [{"EventId": "plain", "EventName": "esc\"aped", "Other": "\ud800"}]}"#;
        let page = Page::parse(
            body.as_bytes(),
            PageBuffers::default(),
            MANAGEMENT_EVENTS.columns,
        )
        .unwrap();
        let e = &page.events()[0];
        assert!(matches!(
            page.text_of(e.event_id.unwrap()),
            Cow::Borrowed("plain")
        ));
        assert_eq!(page.text_of(e.event_name.unwrap()), "esc\"aped");
        let (events, _, _) =
            parse(r#"{"Events": [{"EventTime": 1.7e9, "EventId": null}]}"#).unwrap();
        assert_eq!(events[0].second(), Some(1_700_000_000));
        assert_eq!(events[0].event_id, None);
    }
}

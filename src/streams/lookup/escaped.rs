//! A record's columns read straight from its `CloudTrailEvent` literal as the answer writes it,
//! escaped (the record's quotes are `\"`), so the record is never unescaped into a copy: one walk
//! over the bytes instead of two. It reads the records CloudTrail writes (compact JSON, no `\u`
//! escape) and gives up on anything else, which `Columns::pick` then reads from the unescaped
//! text: what this walk accepts, it reads as that reading does (the differential test in
//! `reference.rs` holds both to the serde reference).

use super::reader::Reader;
use super::record::{number, Columns, Kind, Member, NameKey, Value};
use crate::json_words::to_special;

/// Nesting at most this deep is walked here (records nest a few levels).
const MAX_DEPTH: u32 = 64;

/// The walk over one literal's content: `None` gives up (the record is read the long way).
struct Escaped<'t> {
    text: &'t str,
    b: &'t [u8],
    i: usize,
}

/// A string of the record: the span of its content in the answer (still escaped once more).
#[derive(Clone, Copy)]
struct Inner {
    start: usize,
    end: usize,
    /// Whether the span holds a backslash (its bytes are not the string's content).
    escaped: bool,
}

impl<'t> Escaped<'t> {
    /// The record's whitespace: spaces as they are, newlines, tabs and returns escaped.
    #[inline]
    fn ws(&mut self) {
        loop {
            match self.b.get(self.i) {
                Some(b' ') => self.i += 1,
                Some(b'\\') if matches!(self.b.get(self.i + 1), Some(b'n' | b't' | b'r')) => {
                    self.i += 2
                }
                _ => return,
            }
        }
    }

    /// The record's next byte after whitespace: a quote of the record is `"` (written `\"`).
    /// `None` for what no token of the record starts with: the answer's own escape, its
    /// closing quote (the literal ends there), a control character (which it cannot hold).
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        match *self.b.get(self.i)? {
            b'\\' if self.b.get(self.i + 1) == Some(&b'"') => Some(b'"'),
            b'\\' | b'"' | 0..=0x1f => None,
            c => Some(c),
        }
    }

    /// A string of the record, from its `\"`: escapes of the record (`\\` then a character)
    /// and of the answer (`\/`) are let through, `\u` ones in either are not.
    fn string(&mut self) -> Option<Inner> {
        let b = self.b;
        let start = self.i + 2;
        let mut i = start;
        let mut escaped = false;
        loop {
            i = to_special(b, i);
            match *b.get(i)? {
                b'\\' => {}
                // The answer's closing quote, or a control character.
                b'"' | 0..=0x1f => return None,
                // A byte of the last few, which `to_special` leaves to be looked at one by one.
                _ => {
                    i += 1;
                    continue;
                }
            }
            i += match *b.get(i + 1)? {
                b'"' => {
                    self.i = i + 2;
                    return Some(Inner {
                        start,
                        end: i,
                        escaped,
                    });
                }
                b'/' => 2,
                // The record's escape: its character written by the answer.
                b'\\' => match *b.get(i + 2)? {
                    b'\\' if matches!(b.get(i + 3), Some(b'"' | b'\\' | b'/')) => 4,
                    b'/' | b'b' | b'f' | b'n' | b'r' | b't' => 3,
                    _ => return None,
                },
                // A control character in the record's string (refused), or a \u escape.
                _ => return None,
            };
            escaped = true;
        }
    }

    /// A number or `true`, `false`, `null`: written as they are, read by `Reader`.
    fn reader(&self) -> Reader<'t> {
        let mut r = Reader::new(self.text);
        r.i = self.i;
        r
    }

    fn number(&mut self) -> Option<(usize, usize)> {
        let mut r = self.reader();
        let span = r.number().ok()?;
        self.i = r.i;
        Some(span)
    }

    fn word(&mut self) -> Option<&'static str> {
        let mut r = self.reader();
        let word = r.word().ok()?;
        self.i = r.i;
        Some(word)
    }

    /// Skips a value at any depth (up to `MAX_DEPTH`).
    fn skip(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'-' | b'0'..=b'9' => self.number().map(|_| ()),
            b'{' => self.object(depth, |e, _, depth| e.skip(depth)),
            b'[' => self.array(depth, |e, depth| e.skip(depth)),
            _ => self.word().map(|_| ()),
        }
    }

    /// An object from its `{`, `member` called with each name and the walk at its value.
    fn object(
        &mut self,
        depth: u32,
        mut member: impl FnMut(&mut Self, Inner, u32) -> Option<()>,
    ) -> Option<()> {
        self.items(depth, b'}', |e, depth| {
            if e.peek()? != b'"' {
                return None;
            }
            let name = e.string()?;
            if e.peek()? != b':' {
                return None;
            }
            e.i += 1;
            member(e, name, depth)
        })
    }

    fn array(&mut self, depth: u32, item: impl FnMut(&mut Self, u32) -> Option<()>) -> Option<()> {
        self.items(depth, b']', item)
    }

    /// The items of an object or array from its opening bracket to `close`, each after a comma
    /// but the first.
    fn items(
        &mut self,
        depth: u32,
        close: u8,
        mut item: impl FnMut(&mut Self, u32) -> Option<()>,
    ) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        self.i += 1;
        if self.peek()? == close {
            self.i += 1;
            return Some(());
        }
        loop {
            item(self, depth + 1)?;
            match self.peek()? {
                b',' => self.i += 1,
                c if c == close => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// The content of a string without backslashes, as it is.
    fn plain(&self, s: Inner) -> Option<&'t str> {
        (!s.escaped).then(|| &self.text[s.start..s.end])
    }
}

impl Columns {
    /// Reads the columns of the record in the `CloudTrailEvent` literal at `at` of `text` (its
    /// opening quote) into `values` (one per column); returns where the literal ends. `None`
    /// when the record is not one this walk reads (`values` then holds nothing of use).
    pub fn pick_escaped<'t>(
        &self,
        text: &'t str,
        at: usize,
        values: &mut [Option<Value<'t>>],
    ) -> Option<usize> {
        values.iter_mut().for_each(|v| *v = None);
        let mut e = Escaped {
            text,
            b: text.as_bytes(),
            i: at + 1,
        };
        if e.peek()? != b'{' {
            return None;
        }
        self.escaped_object(&mut e, 0, 0, values)?;
        e.ws();
        (e.b.get(e.i) == Some(&b'"')).then_some(e.i + 1)
    }

    fn escaped_object<'t>(
        &self,
        e: &mut Escaped<'t>,
        node: usize,
        depth: u32,
        values: &mut [Option<Value<'t>>],
    ) -> Option<()> {
        let (members, keys) = self.node(node);
        let mut seen = 0u64;
        e.object(depth, |e, name, depth| {
            let plain = e.plain(name)?;
            let key = NameKey::at(e.b, name.start, plain);
            let found = keys
                .iter()
                .zip(members)
                .position(|(k, (n, _))| *k == key && (key.0 <= 8 || *n == plain));
            let Some(at) = found else {
                return e.skip(depth);
            };
            // A repeated member makes the record unreadable: said by the long way.
            if seen & (1 << at) != 0 {
                return None;
            }
            seen |= 1 << at;
            match members[at].1 {
                Member::Column(c) => {
                    values[c] = escaped_value(e, self.kind(c), depth)?;
                    Some(())
                }
                Member::Object(child) if e.peek()? == b'{' => {
                    self.escaped_object(e, child, depth, values)
                }
                // Anything but an object leaves its columns null; a number's range is the
                // long way's to check.
                Member::Object(_) => match e.peek()? {
                    b'-' | b'0'..=b'9' => None,
                    _ => e.skip(depth),
                },
            }
        })
    }
}

/// A column's value at the walk, as `record::value` reads it; `None` for the values whose
/// reading needs their text unescaped (or a number's range checked).
fn escaped_value<'t>(e: &mut Escaped<'t>, kind: Kind, depth: u32) -> Option<Option<Value<'t>>> {
    Some(match e.peek()? {
        b'"' => {
            let s = e.string()?;
            match kind {
                Kind::Text => Some(Value::Escaped(&e.text[s.start..s.end])),
                // An escape stands for none of the letters of true and false.
                Kind::Flag => match e.plain(s) {
                    Some("true") => Some(Value::Bool(true)),
                    Some("false") => Some(Value::Bool(false)),
                    _ => None,
                },
                Kind::Number => match e.plain(s) {
                    Some(plain) => number(plain),
                    // Without a digit no text reads as a finite number; with one, its escapes
                    // (whitespace trimmed, say) are the long way's to read.
                    None if !e.b[s.start..s.end].iter().any(u8::is_ascii_digit) => None,
                    None => return None,
                },
            }
        }
        b'-' | b'0'..=b'9' => return None,
        b'{' | b'[' => {
            e.skip(depth)?;
            None
        }
        _ => match (e.word()?, kind) {
            ("null", _) | (_, Kind::Number) => None,
            (word, Kind::Text) => Some(Value::Text(word.into())),
            (word, Kind::Flag) => Some(Value::Bool(word == "true")),
        },
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{json, Value as Json};

    use super::super::{insight_events, management_events, MANAGEMENT_EVENTS};
    use super::*;

    /// The columns as the long way writes them (unescaped text, `Columns::pick`), or `None`
    /// when it finds the record unreadable.
    fn long_way(columns: &Columns, record: &str) -> Option<Vec<u8>> {
        let mut values = Vec::new();
        columns.pick(record, &mut values).ok()?;
        let mut out = Vec::new();
        columns.write(&values, &mut out);
        Some(out)
    }

    /// The columns read from the literal of `record` (followed by more answer text), or
    /// `None` when the walk gives up; where the literal ends is checked.
    fn from_literal(columns: &Columns, record: &str) -> Option<Vec<u8>> {
        let literal = serde_json::to_string(record).unwrap();
        let text = format!("{literal},\"EventId\":\"x\"}}");
        let mut values = vec![None; columns.len()];
        let end = columns.pick_escaped(&text, 0, &mut values)?;
        assert_eq!(end, literal.len(), "{record}");
        let mut out = Vec::new();
        columns.write(&values, &mut out);
        Some(out)
    }

    #[test]
    fn emulated_records_are_read_from_the_literal_as_from_their_text() {
        let mut rng = cloudtrail_emulator::records::Rng::new(5);
        for n in 0..300 {
            let event = cloudtrail_emulator::records::management_event_of(
                &mut rng,
                "123456789012",
                "eu-west-1",
                1_700_000_000 + n,
            );
            let record = &event.cloudtrail_event;
            let fast = from_literal(MANAGEMENT_EVENTS.columns, record);
            assert!(fast.is_some(), "{record}");
            assert_eq!(fast, long_way(MANAGEMENT_EVENTS.columns, record));
        }
    }

    #[test]
    fn odd_records_are_left_to_the_long_way_or_read_alike() {
        let columns = &MANAGEMENT_EVENTS.columns;
        // Read here, as the long way reads them.
        for record in [
            "{}",
            r#"{ "awsRegion" : "eu-west-1" , "userIdentity" : { "arn" : "a\"b\\c\/d\n" } }"#,
            "{\n\t\"awsRegion\":\r\"x\"\n}",
            r#"{"awsRegion":null,"userIdentity":"not an object","managementEvent":"true"}"#,
            r#"{"awsRegion":true,"managementEvent":false,"errorCode":{"a":[1,2.5e3,-0]}}"#,
            r#"{"other":{"deep":[[[{"x":"\u0041"}]]]},"userIdentity":[1,"x"]}"#,
        ] {
            let fast = from_literal(columns, record);
            let long = long_way(columns, record);
            if !record.contains("\\u") {
                assert!(fast.is_some(), "{record}");
            }
            if fast.is_some() {
                assert_eq!(fast, long, "{record}");
            }
        }
        // Left to the long way: \u escapes, repeated members, numbers where they are read,
        // escaped names, what is not one JSON object.
        for record in [
            r#"{"awsRegion":"\u00e9"}"#,
            r#"{"awsRegion":"a","awsRegion":"b"}"#,
            r#"{"awsRegion":1}"#,
            r#"{"userIdentity":1e999}"#,
            r#"{"aws\/Region":"a"}"#,
            r#"{"awsRegion":"a"} x"#,
            r#"{"awsRegion":"a""#,
            r#"["awsRegion"]"#,
            "{\"awsRegion\":\"a\u{1}\"}",
        ] {
            assert_eq!(from_literal(columns, record), None, "{record}");
        }
        // Nothing past the literal's end is read as the record's, and the answer's control
        // characters are refused (the literal is then refused by the long way).
        for text in ["\"{\"X\\\":true}\"", "\"{\\\"awsRegion\\\":\ttrue}\""] {
            let mut values = vec![None; columns.len()];
            assert_eq!(columns.pick_escaped(text, 0, &mut values), None, "{text}");
        }
    }

    /// Whether a member name anywhere in `v` is written with an escape.
    fn escaped_names(v: &Json) -> bool {
        match v {
            Json::Object(m) => m
                .iter()
                .any(|(k, v)| k.contains(['"', '\\', '\n']) || escaped_names(v)),
            Json::Array(items) => items.iter().any(escaped_names),
            _ => false,
        }
    }

    /// Strings of the characters that need escaping (and those that do not).
    fn text() -> impl Strategy<Value = String> {
        "[a-z \"\\\\/\n\u{e9}\u{1F600}]{0,8}"
    }

    fn value() -> impl Strategy<Value = Json> {
        let leaf = prop_oneof![
            text().prop_map(Json::from),
            Just(json!("true")),
            Just(json!("false")),
            any::<i32>().prop_map(Json::from),
            (-1e6f64..1e6).prop_map(Json::from),
            any::<bool>().prop_map(Json::from),
            Just(Json::Null),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Json::from),
                prop::collection::vec((text(), inner), 0..4)
                    .prop_map(|m| Json::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Records with values of every type at the columns' paths: read from the literal
        /// whenever nothing needs the long way, and then exactly as the long way reads them.
        #[test]
        fn records_read_from_the_literal_are_read_as_from_their_text(
            sets in prop::collection::vec((0..40usize, 1..5usize, value()), 0..12),
            insights in any::<bool>(),
        ) {
            let (columns, table) = if insights {
                (&super::super::INSIGHT_EVENTS.columns, insight_events::COLUMNS)
            } else {
                (&MANAGEMENT_EVENTS.columns, management_events::COLUMNS)
            };
            let mut root = json!({});
            for (c, cut, v) in sets {
                let path = table[c % table.len()].path;
                let path = &path[..path.len().min(cut)];
                let mut at = &mut root;
                for name in &path[..path.len() - 1] {
                    if !at.get(*name).is_some_and(Json::is_object) {
                        at[*name] = json!({});
                    }
                    at = &mut at[*name];
                }
                at[path[path.len() - 1]] = v;
            }
            let record = root.to_string();
            let fast = from_literal(columns, &record);
            let long = long_way(columns, &record);
            if fast.is_some() {
                prop_assert_eq!(fast, long);
            } else {
                // Given up only for a number (where a column or its object is), a name with
                // an escape, or a \u escape (a control character's).
                let taken = !record.contains("\\u")
                    && !record.bytes().any(|b| b.is_ascii_digit())
                    && !escaped_names(&root);
                prop_assert!(!taken, "{}", record);
            }
        }
    }
}

//! The columns a stream flattens from the CloudTrail record in `CloudTrailEvent`: a table of
//! columns and their paths in the record, read in one walk over the record's text, whatever its
//! shape (a value of an unexpected type becomes null), and written as the record's members.

use std::borrow::Cow;

use super::lenient::Text;
use super::reader::{name_text, Invalid, Read, Reader, Surrogates};

/// How a column's value is read from the record's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string; a number or boolean becomes its text, an object or array null.
    Text,
    /// A boolean; the strings "true" and "false" too, anything else null.
    Flag,
    /// A finite number; a numeric string too, anything else null.
    Number,
}

/// A column flattened from the record.
#[derive(Debug)]
pub struct Column {
    /// The column's name in the stream's schema.
    pub name: &'static str,
    /// Where its value is in the record: member names from the top.
    pub path: &'static [&'static str],
    pub kind: Kind,
}

impl Column {
    pub const fn text(name: &'static str, path: &'static [&'static str]) -> Column {
        Column {
            name,
            path,
            kind: Kind::Text,
        }
    }

    pub const fn flag(name: &'static str, path: &'static [&'static str]) -> Column {
        Column {
            name,
            path,
            kind: Kind::Flag,
        }
    }

    pub const fn number(name: &'static str, path: &'static [&'static str]) -> Column {
        Column {
            name,
            path,
            kind: Kind::Number,
        }
    }
}

/// A column's value, borrowed from the record's text where it can be.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'t> {
    /// A string literal as the record writes it (valid JSON).
    Json(&'t str),
    /// Text to write as a string.
    Text(Cow<'t, str>),
    /// A string literal's content as `CloudTrailEvent` writes it, escaped once more (see
    /// `escaped::write_escaped`).
    Escaped(&'t str),
    Bool(bool),
    Number(f64),
}

/// A stream's columns, as a tree of the record's members to read.
#[derive(Debug)]
pub struct Columns {
    columns: &'static [Column],
    /// `,"Name":` per column.
    keys: Vec<Vec<u8>>,
    /// The root first.
    nodes: Vec<Node>,
}

#[derive(Debug, Default)]
struct Node {
    members: Vec<(&'static str, Member)>,
    /// Each member's `NameKey`, in the same order.
    keys: Vec<NameKey>,
}

/// A name's length and first eight bytes: most names are told apart by it in one comparison
/// (a record has a few dozen members to look up among a dozen names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NameKey(pub(super) usize, u64);

impl NameKey {
    fn of(name: &str) -> NameKey {
        let mut head = [0u8; 8];
        let n = name.len().min(8);
        head[..n].copy_from_slice(&name.as_bytes()[..n]);
        NameKey(name.len(), u64::from_le_bytes(head))
    }

    /// The key of `name` as it is written at `at` in `text` (no escapes): its first eight bytes
    /// read as one word where the text has them (then masked to the name), so that no copy of
    /// a few bytes is called for each member of each record.
    #[inline]
    pub(super) fn at(text: &[u8], at: usize, name: &str) -> NameKey {
        match text.get(at..at + 8) {
            Some(word) => {
                let word = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
                let n = name.len();
                let head = if n >= 8 {
                    word
                } else {
                    word & ((1u64 << (8 * n)) - 1)
                };
                NameKey(n, head)
            }
            None => NameKey::of(name),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Member {
    Column(usize),
    Object(usize),
}

/// Members looked for in one object at most (a set of them fits a word).
const MEMBERS_PER_OBJECT: usize = 64;

impl Columns {
    /// The tree of `columns`. Panics when two columns' paths conflict (a static table's fault,
    /// which its stream's tests find).
    pub fn new(columns: &'static [Column]) -> Columns {
        let mut nodes = vec![Node::default()];
        for (index, column) in columns.iter().enumerate() {
            let (leaf, parents) = column.path.split_last().expect("a column has a path");
            let mut node = 0;
            for name in parents {
                let found = nodes[node].members.iter().find(|(n, _)| n == name);
                node = match found {
                    Some((_, Member::Object(child))) => *child,
                    Some((_, Member::Column(_))) => panic!("{} is a column and an object", name),
                    None => {
                        nodes.push(Node::default());
                        let child = nodes.len() - 1;
                        nodes[node].members.push((name, Member::Object(child)));
                        child
                    }
                };
            }
            assert!(
                !nodes[node].members.iter().any(|(n, _)| n == leaf),
                "{leaf} is read twice"
            );
            nodes[node].members.push((leaf, Member::Column(index)));
        }
        assert!(nodes.iter().all(|n| n.members.len() <= MEMBERS_PER_OBJECT));
        for node in &mut nodes {
            node.keys = node.members.iter().map(|(n, _)| NameKey::of(n)).collect();
        }
        let keys = columns
            .iter()
            .map(|c| {
                let mut key = b",".to_vec();
                serde_json::to_writer(&mut key, c.name).expect("a name serialises");
                key.push(b':');
                key
            })
            .collect();
        Columns {
            columns,
            keys,
            nodes,
        }
    }

    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// A node's members and their keys, in the same order.
    pub(super) fn node(&self, node: usize) -> (&[(&'static str, Member)], &[NameKey]) {
        let Node { members, keys } = &self.nodes[node];
        (members, keys)
    }

    pub(super) fn kind(&self, column: usize) -> Kind {
        self.columns[column].kind
    }

    /// Reads the columns of `text` into `values` (one per column). When the text is not a
    /// JSON object, says why, all the values null.
    pub fn pick<'t>(&self, text: &'t str, values: &mut Vec<Option<Value<'t>>>) -> Read<()> {
        values.clear();
        values.resize(self.columns.len(), None);
        let read = self.pick_object(text, values);
        if read.is_err() {
            values.iter_mut().for_each(|v| *v = None);
        }
        read
    }

    fn pick_object<'t>(&self, text: &'t str, values: &mut [Option<Value<'t>>]) -> Read<()> {
        let mut r = Reader::new(text);
        // serde would fill the columns from an array by position.
        if r.peek()? != b'{' {
            return Err(r.invalid("it does not start with '{'"));
        }
        self.object(&mut r, 0, values)?;
        r.end()
    }

    fn object<'t>(
        &self,
        r: &mut Reader<'t>,
        node: usize,
        values: &mut [Option<Value<'t>>],
    ) -> Read<()> {
        let text = r.text;
        let (members, keys) = self.node(node);
        let mut seen = 0u64;
        r.object(|r, name| {
            let literal = name;
            let name = name_text(text, literal);
            let key = if literal.escaped {
                NameKey::of(&name)
            } else {
                NameKey::at(text.as_bytes(), literal.start as usize + 1, &name)
            };
            let found = keys
                .iter()
                .zip(members)
                .position(|(k, (n, _))| *k == key && (key.0 <= 8 || *n == name));
            let Some(at) = found else {
                return r.skip();
            };
            // serde refuses a member it reads given twice: the record's columns are then null.
            if seen & (1 << at) != 0 {
                return Err(r.invalid("a member given twice"));
            }
            seen |= 1 << at;
            match members[at].1 {
                Member::Column(c) => {
                    values[c] = value(r, self.columns[c].kind)?;
                    Ok(())
                }
                Member::Object(child) if r.peek()? == b'{' => self.object(r, child, values),
                // Anything but an object leaves its columns null.
                Member::Object(_) => looked_at(r),
            }
        })
    }

    /// Writes `,"Name":value` for each column that has a value.
    pub fn write(&self, values: &[Option<Value>], out: &mut Vec<u8>) {
        for (key, value) in self.keys.iter().zip(values) {
            let Some(value) = value else { continue };
            out.extend_from_slice(key);
            match value {
                Value::Json(literal) => out.extend_from_slice(literal.as_bytes()),
                Value::Escaped(span) => write_escaped(span, out),
                Value::Text(text) => {
                    serde_json::to_writer(&mut *out, text.as_ref()).expect("a string serialises")
                }
                Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
                Value::Number(n) => {
                    serde_json::to_writer(&mut *out, n).expect("a number serialises")
                }
            }
        }
    }
}

/// A number's text as serde reads it into `Text` (integers as integers, the rest as f64): a
/// number out of f64's range makes the record unreadable, as it does for serde_json.
fn number_text<'t>(r: &mut Reader<'t>) -> Read<Cow<'t, str>> {
    let (start, end) = r.number()?;
    match serde_json::from_str::<Text>(&r.text[start..end]) {
        Ok(Text(Some(text))) => Ok(Cow::Owned(text.into_owned())),
        _ => Err(Invalid {
            what: "a number out of range",
            at: start,
        }),
    }
}

/// The value of a column at the reader.
fn value<'t>(r: &mut Reader<'t>, kind: Kind) -> Read<Option<Value<'t>>> {
    let text = r.text;
    let content = |literal: super::reader::Literal| name_text(text, literal);
    Ok(match r.peek()? {
        b'"' => {
            let literal = r.string(Surrogates::Paired)?;
            match kind {
                Kind::Text => Some(Value::Json(literal.json(text))),
                Kind::Flag => match content(literal).as_ref() {
                    "true" => Some(Value::Bool(true)),
                    "false" => Some(Value::Bool(false)),
                    _ => None,
                },
                Kind::Number => number(&content(literal)),
            }
        }
        b'-' | b'0'..=b'9' => {
            let number_text = number_text(r)?;
            match kind {
                Kind::Text => Some(Value::Text(number_text)),
                Kind::Flag => None,
                Kind::Number => number(&number_text),
            }
        }
        b'{' => {
            r.object(|r, _| r.skip())?;
            None
        }
        b'[' => {
            r.array(|r| r.skip())?;
            None
        }
        _ => match (r.word()?, kind) {
            ("null", _) | (_, Kind::Number) => None,
            (word, Kind::Text) => Some(Value::Text(Cow::Borrowed(word))),
            (word, Kind::Flag) => Some(Value::Bool(word == "true")),
        },
    })
}

pub(super) fn number(text: &str) -> Option<Value<'static>> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map(Value::Number)
}

/// A value where an object of columns was expected: read as serde reads what it then drops
/// (strings with paired surrogates, numbers in range, arrays' items skipped).
fn looked_at(r: &mut Reader) -> Read<()> {
    match r.peek()? {
        b'"' => r.string(Surrogates::Paired).map(|_| ()),
        b'-' | b'0'..=b'9' => number_text(r).map(|_| ()),
        b'[' => r.array(|r| r.skip()),
        _ => r.word().map(|_| ()),
    }
}

/// Writes a record's string from its escaped span: the answer's escapes taken off (the record's
/// own stay), so it is the record's string literal, valid JSON.
pub fn write_escaped(span: &str, out: &mut Vec<u8>) {
    let b = span.as_bytes();
    out.push(b'"');
    let mut at = 0;
    while let Some(found) = memchr::memchr(b'\\', &b[at..]) {
        let i = at + found;
        out.extend_from_slice(&b[at..i]);
        // Every backslash of the span starts one of the answer's escapes: `\\`, `\"` or `\/`.
        if let Some(&c) = b.get(i + 1) {
            out.push(c);
        }
        at = i + 2;
    }
    out.extend_from_slice(&b[at..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    static COLUMNS: &[Column] = &[
        Column {
            name: "Region",
            path: &["awsRegion"],
            kind: Kind::Text,
        },
        Column {
            name: "Arn",
            path: &["userIdentity", "arn"],
            kind: Kind::Text,
        },
        Column {
            name: "Issuer",
            path: &["userIdentity", "sessionContext", "sessionIssuer", "arn"],
            kind: Kind::Text,
        },
        Column {
            name: "Management",
            path: &["managementEvent"],
            kind: Kind::Flag,
        },
        Column {
            name: "Average",
            path: &["stats", "average"],
            kind: Kind::Number,
        },
    ];

    fn written(text: &str) -> (String, bool) {
        let columns = Columns::new(COLUMNS);
        let mut values = Vec::new();
        let ok = columns.pick(text, &mut values).is_ok();
        let mut out = b"{\"x\":0".to_vec();
        columns.write(&values, &mut out);
        out.push(b'}');
        (String::from_utf8(out).unwrap(), ok)
    }

    #[test]
    fn columns_are_read_at_their_paths() {
        let (out, ok) = written(
            r#"{"awsRegion": "eu-\"west\"-1", "userIdentity": {"arn": 12, "sessionContext": {"sessionIssuer": {"arn": "r"}}},
                "managementEvent": "true", "stats": {"average": " 2.5 "}, "other": [{"awsRegion": 1}]}"#,
        );
        assert!(ok);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"x": 0, "Region": "eu-\"west\"-1", "Arn": "12", "Issuer": "r", "Management": true, "Average": 2.5})
        );
    }

    #[test]
    fn unexpected_shapes_are_null_and_broken_records_all_null() {
        let (out, ok) = written(r#"{"userIdentity": "x", "awsRegion": {"a": 1}, "stats": [1]}"#);
        assert!(ok);
        assert_eq!(out, r#"{"x":0}"#);
        for broken in [
            r#"{"awsRegion": "a", "awsRegion": "b"}"#,
            r#"{"awsRegion": "a"} x"#,
            r#"["a"]"#,
            r#"{"awsRegion": "a", "userIdentity": 1e400}"#,
            r#"{"awsRegion": "a", "stats": {"average": "\ud800"}}"#,
        ] {
            let (out, ok) = written(broken);
            assert!(!ok, "{broken}");
            assert_eq!(out, r#"{"x":0}"#, "{broken}");
        }
        // Skipped values are read as serde_json skips them.
        assert!(written(r#"{"awsRegion": "a", "x": ["\ud800", 1e400]}"#).1);
    }

    #[test]
    #[should_panic(expected = "is a column and an object")]
    fn conflicting_paths_are_refused() {
        static BAD: &[Column] = &[
            Column {
                name: "A",
                path: &["a"],
                kind: Kind::Text,
            },
            Column {
                name: "B",
                path: &["a", "b"],
                kind: Kind::Text,
            },
        ];
        Columns::new(BAD);
    }
}

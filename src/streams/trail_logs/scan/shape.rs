//! The record's declared shape, derived from its JSON Schema, as the scanner checks it: which
//! members are strings, times, booleans, objects or arrays, looked up without string compares.

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
    /// A member the source writes itself (a provenance column): a record's own is removed, so
    /// that no RECORD holds a name twice. Any record holding one takes the slow path.
    Reserved,
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

    /// This object shape with `names` reserved for the source's own columns.
    pub fn reserving(self, names: &[&str]) -> Shape {
        let Shape::Object(members) = self else {
            return self;
        };
        let mut list: Vec<(String, Shape)> = members
            .list
            .into_iter()
            .filter(|(n, _)| !names.contains(&n.as_str()))
            .collect();
        list.extend(names.iter().map(|n| (n.to_string(), Shape::Reserved)));
        Shape::object(list)
    }

    #[inline]
    pub(super) fn member(&self, key: &[u8]) -> &Shape {
        match self {
            Shape::Object(members) => members.get(key),
            _ => &Shape::Any,
        }
    }

    /// Nulls every value of `value` that contradicts this shape: the tree-building reference
    /// that the streaming rebuild is checked against.
    #[cfg(test)]
    pub fn coerce(&self, value: &mut Value) -> usize {
        let fits = match (self, &*value) {
            // Reserved members are removed by the caller, whatever they hold.
            (_, Value::Null) | (Shape::Any | Shape::Reserved, _) => true,
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
    pub(super) fn get(&self, key: &[u8]) -> &Shape {
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

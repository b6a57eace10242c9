//! The slow path for a record that does not fit its shape: re-encoded compact in one streaming
//! pass, every value that contradicts the shape written as null, reserved members (the source's
//! own columns) removed, a name repeated in an object kept once (its first value), without
//! building the record as a tree (a `serde_json::Value` costs many times the record's size).

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::shape::{is_date_time, Shape};

/// What a rebuild changed, for the record's `meta.changes`: the reserved members it removed and
/// the paths of the values it nulled (`userIdentity.type`, `resources[].ARN`; the first
/// `NULLED_NAMED` distinct ones).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changed {
    pub removed: Vec<String>,
    pub nulled: Vec<String>,
    /// Values nulled, named or not.
    pub nulled_count: usize,
    /// The path of the value being written.
    path: String,
}

/// Nulled values named one by one per record.
pub const NULLED_NAMED: usize = 32;

/// Writes `record` (one JSON value) compact into `out` with what contradicts `shape` nulled and
/// its reserved members left out, both noted in `changed`; returns how many values were nulled,
/// or `None` when `record` is not JSON (`out` is then left partly written).
pub fn rebuild(
    record: &[u8],
    shape: &Shape,
    out: &mut Vec<u8>,
    changed: &mut Changed,
) -> Option<usize> {
    out.clear();
    *changed = Changed::default();
    let mut de = serde_json::Deserializer::from_slice(record);
    Transcode {
        shape,
        out,
        changed: &mut *changed,
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    Some(changed.nulled_count)
}

/// One value's re-encoding under its shape.
struct Transcode<'s, 'o> {
    shape: &'s Shape,
    out: &'o mut Vec<u8>,
    changed: &'o mut Changed,
}

impl Transcode<'_, '_> {
    /// Writes null for a value that contradicts the shape.
    fn null(self) {
        self.out.extend_from_slice(b"null");
        let c = self.changed;
        c.nulled_count += 1;
        if c.nulled.len() < NULLED_NAMED && !c.nulled.contains(&c.path) {
            c.nulled.push(c.path.clone());
        }
    }

    fn write<T: serde::Serialize + ?Sized>(self, v: &T) {
        // Writing scalars into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *self.out, v);
    }

    fn scalar_fits(&self) -> bool {
        matches!(self.shape, Shape::Any)
    }
}

impl<'de> DeserializeSeed<'de> for Transcode<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Transcode<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        match self.shape {
            Shape::Any | Shape::Bool => self.write(&v),
            _ => self.null(),
        }
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        if self.scalar_fits() {
            self.write(&v);
        } else {
            self.null();
        }
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        if self.scalar_fits() {
            self.write(&v);
        } else {
            self.null();
        }
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        if self.scalar_fits() {
            self.write(&v);
        } else {
            self.null();
        }
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        match self.shape {
            Shape::Any | Shape::String => self.write(v),
            Shape::DateTime if is_date_time(v.as_bytes()) => self.write(v),
            _ => self.null(),
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let item = match self.shape {
            Shape::Any => &Shape::Any,
            Shape::Array(item) => &**item,
            _ => {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                self.null();
                return Ok(());
            }
        };
        self.out.push(b'[');
        let mut first = true;
        loop {
            if !first {
                self.out.push(b',');
            }
            let base = self.changed.path.len();
            self.changed.path.push_str("[]");
            let element = Transcode {
                shape: item,
                out: &mut *self.out,
                changed: &mut *self.changed,
            };
            let next = seq.next_element_seed(element);
            self.changed.path.truncate(base);
            if next?.is_none() {
                if !first {
                    // The comma written for an element that did not come.
                    self.out.pop();
                }
                break;
            }
            first = false;
        }
        self.out.push(b']');
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if !matches!(self.shape, Shape::Any | Shape::Object(_)) {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            self.null();
            return Ok(());
        }
        self.out.push(b'{');
        let mut first = true;
        let mut names: HashSet<String> = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let shape = self.shape.member(key.as_bytes());
            if *shape == Shape::Reserved || names.contains(&key) {
                map.next_value::<IgnoredAny>()?;
                if *shape == Shape::Reserved && !self.changed.removed.contains(&key) {
                    self.changed.removed.push(key);
                }
                continue;
            }
            if !first {
                self.out.push(b',');
            }
            first = false;
            let _ = serde_json::to_writer(&mut *self.out, &key);
            self.out.push(b':');
            let base = self.changed.path.len();
            if base > 0 {
                self.changed.path.push('.');
            }
            self.changed.path.push_str(&key);
            let value = map.next_value_seed(Transcode {
                shape,
                out: &mut *self.out,
                changed: &mut *self.changed,
            });
            self.changed.path.truncate(base);
            value?;
            names.insert(key);
        }
        self.out.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn shape() -> Shape {
        Shape::object(vec![
            ("eventID".into(), Shape::String),
            ("eventTime".into(), Shape::DateTime),
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

    /// The reference: the whole tree, coerced, written compact.
    fn reference(record: &[u8], shape: &Shape) -> Option<(Value, usize)> {
        let mut v: Value = serde_json::from_slice(record).ok()?;
        let n = shape.coerce(&mut v);
        Some((v, n))
    }

    #[test]
    fn contradicting_values_become_null_and_the_rest_stays() {
        let record = br#"{"eventID": 5, "readOnly": "yes", "eventTime": "2024-01-01T00:00:00Z",
            "userIdentity": {"type": ["x"], "arn": {"a": 1}}, "resources": [{"ARN": 1}, 7, {"ARN": "a"}],
            "requestParameters": {"k": [1, 2.5, "s", null, true]}}"#;
        let (mut out, mut changed) = (Vec::new(), Changed::default());
        let nulled = rebuild(record, &shape(), &mut out, &mut changed).unwrap();
        let got: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            got,
            json!({"eventID": null, "readOnly": null, "eventTime": "2024-01-01T00:00:00Z",
                "userIdentity": {"type": null, "arn": {"a": 1}}, "resources": [{"ARN": null}, null, {"ARN": "a"}],
                "requestParameters": {"k": [1, 2.5, "s", null, true]}})
        );
        assert_eq!(nulled, 5);
        assert!(!out.contains(&b'\n'));
        assert!(changed.removed.is_empty());
        assert_eq!(
            changed.nulled,
            [
                "eventID",
                "readOnly",
                "userIdentity.type",
                "resources[].ARN",
                "resources[]"
            ]
        );
        assert_eq!(rebuild(b"{\"a\":", &shape(), &mut out, &mut changed), None);
        assert_eq!(rebuild(b"{} {}", &shape(), &mut out, &mut changed), None);
    }

    #[test]
    fn reserved_members_are_removed_and_repeated_names_kept_once() {
        let shape = shape().reserving(&["logFileKey"]);
        let record = br#"{"logFileKey": {"x": 1}, "eventID": "a", "p": {"k": 1, "k": 2}, "eventID": "b", "logFileKey": "y"}"#;
        let (mut out, mut changed) = (Vec::new(), Changed::default());
        assert_eq!(rebuild(record, &shape, &mut out, &mut changed), Some(0));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"eventID":"a","p":{"k":1}}"#
        );
        assert_eq!(changed.removed, ["logFileKey"]);
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            prop_oneof![
                Just("2024-05-01T12:00:00Z".to_string()),
                Just("ARN".to_string()),
                "\\PC{0,8}"
            ]
            .prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("eventID".to_string()),
                        Just("eventTime".to_string()),
                        Just("readOnly".to_string()),
                        Just("userIdentity".to_string()),
                        Just("type".to_string()),
                        Just("resources".to_string()),
                        Just("ARN".to_string()),
                        "[a-z]{1,6}"
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Differential: the streaming rebuild gives what the tree gives, for any JSON.
        #[test]
        fn agrees_with_the_tree(v in json_value(), pretty in any::<bool>()) {
            let text = if pretty { serde_json::to_vec_pretty(&v) } else { serde_json::to_vec(&v) }.unwrap();
            let (mut out, mut changed) = (Vec::new(), Changed::default());
            let nulled = rebuild(&text, &shape(), &mut out, &mut changed).unwrap();
            let (want, want_nulled) = reference(&text, &shape()).unwrap();
            let got: Value = serde_json::from_slice(&out).unwrap();
            prop_assert_eq!(got, want);
            prop_assert_eq!(nulled, want_nulled);
        }

        #[test]
        fn any_bytes_are_rebuilt_or_refused_never_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let (mut out, mut changed) = (Vec::new(), Changed::default());
            let _ = rebuild(&bytes, &shape(), &mut out, &mut changed);
        }
    }
}

//! A digest's content read as a stream, twice, from its compressed bytes: first its fields
//! (with `logFiles` only counted), its SHA-256 and its size; then, once the signature is known,
//! its `logFiles` entries one by one. Never more of it in memory than one entry: a digest of a
//! million entries, a gzip bomb or one giant string costs no more than a small digest.

use std::io::{self, BufReader, Read};

use aws_lc_rs::digest::{Context, SHA256};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::verify::{hex, DigestFile, ListedLogFile};

/// Digests list a few thousand files at most: anything far larger is not a digest.
pub const DIGEST_LIMIT: u64 = 64 * 1024 * 1024;
/// No string in a digest is near this long (keys are at most 1,024 bytes, signatures at most
/// 2,048 hex digits): a longer one is not a digest's, and is never held whole.
pub const STRING_LIMIT: usize = 8 * 1024;
/// The text of one `logFiles` entry (its six strings) is about 300 bytes: an entry with more
/// than this is not one, and is dropped as soon as it is read, so that the entries in flight
/// between the parsing thread and the checks stay small.
const ENTRY_TEXT_LIMIT: usize = 8 * 1024;

/// Why a digest's content cannot be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unfit {
    /// Not gzip, empty, too large, or a string too long: why.
    Unreadable(String),
    /// Readable, but not a CloudTrail digest's JSON: why.
    NotDigest(String),
}

/// A digest's fields, as the first pass reads them.
#[derive(Debug, Clone)]
pub struct Head {
    pub file: DigestFile,
    /// Hex SHA-256 of the uncompressed content, which the signature covers.
    pub sha256: String,
    /// Uncompressed bytes.
    pub bytes: u64,
}

/// The uncompressed content as it streams: hashed, counted, cut at `DIGEST_LIMIT`, and scanned
/// for strings longer than `STRING_LIMIT` (JSON strings are the one thing a JSON reader must
/// hold whole, so none may be huge). `fault` says why it stopped, when it did.
struct Guarded<R> {
    inner: R,
    hash: Option<Context>,
    bytes: u64,
    fault: Option<Unfit>,
    in_string: bool,
    escaped: bool,
    string_len: usize,
}

impl<R: Read> Guarded<R> {
    fn new(inner: R, hash: bool) -> Self {
        Guarded {
            inner,
            hash: hash.then(|| Context::new(&SHA256)),
            bytes: 0,
            fault: None,
            in_string: false,
            escaped: false,
            string_len: 0,
        }
    }

    fn stop(&mut self, fault: Unfit) -> io::Error {
        let message = match &fault {
            Unfit::Unreadable(m) | Unfit::NotDigest(m) => m.clone(),
        };
        self.fault = Some(fault);
        io::Error::other(message)
    }
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.fault.is_some() {
            return Err(io::Error::other("stopped"));
        }
        let n = match self.inner.read(out) {
            Ok(n) => n,
            Err(e) => {
                return Err(self.stop(Unfit::Unreadable(format!("not a readable gzip file ({e})"))))
            }
        };
        self.bytes += n as u64;
        if self.bytes > DIGEST_LIMIT {
            return Err(self.stop(Unfit::Unreadable(format!(
                "over {} MB uncompressed: not a digest",
                DIGEST_LIMIT >> 20
            ))));
        }
        for &b in &out[..n] {
            if self.in_string {
                self.string_len += 1;
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
            } else if b == b'"' {
                self.in_string = true;
                self.string_len = 0;
            }
            if self.string_len > STRING_LIMIT {
                return Err(self.stop(Unfit::NotDigest(format!(
                    "it holds a string of more than {} KB, which no digest has",
                    STRING_LIMIT >> 10
                ))));
            }
        }
        if let Some(hash) = &mut self.hash {
            hash.update(&out[..n]);
        }
        Ok(n)
    }
}

/// What a JSON error means: the guard's fault when it stopped the reading, else not a digest.
fn unfit<R>(guard: &Guarded<R>, e: serde_json::Error) -> Unfit {
    guard
        .fault
        .clone()
        .unwrap_or_else(|| Unfit::NotDigest(e.to_string()))
}

/// The first pass: the digest's fields with `logFiles` counted, its SHA-256 and size.
pub fn read_head(compressed: &[u8]) -> Result<Head, Unfit> {
    if compressed.is_empty() {
        return Err(Unfit::Unreadable("the file is empty (0 bytes)".into()));
    }
    let mut guard = Guarded::new(flate2::read::MultiGzDecoder::new(compressed), true);
    let parsed = {
        let mut de =
            serde_json::Deserializer::from_reader(BufReader::with_capacity(64 * 1024, &mut guard));
        DigestFile::deserialize(&mut de).and_then(|file| de.end().map(|()| file))
    };
    let file = parsed.map_err(|e| unfit(&guard, e))?;
    // `end` read up to the end of the content: the hash covers all of it.
    if let Err(e) = io::copy(&mut guard, &mut io::sink()) {
        return Err(guard
            .fault
            .clone()
            .unwrap_or_else(|| Unfit::Unreadable(e.to_string())));
    }
    let sha256 = guard
        .hash
        .take()
        .map(|h| hex(h.finish().as_ref()))
        .unwrap_or_default();
    Ok(Head {
        file,
        sha256,
        bytes: guard.bytes,
    })
}

/// One element of `logFiles`: an entry, or why it is none (its JSON type, or a field that is
/// not a string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Element {
    Entry(ListedLogFile),
    NotEntry(String),
}

/// The second pass: each element of `logFiles` in order, handed to `each` until it says
/// `false`; nothing else of the digest is kept. `Err` only when the content is not what the
/// first pass read (it was, so: never, short of memory corruption), with why.
pub fn stream_entries(
    compressed: &[u8],
    mut each: impl FnMut(Element) -> bool,
) -> Result<(), String> {
    let mut guard = Guarded::new(flate2::read::MultiGzDecoder::new(compressed), false);
    let mut de =
        serde_json::Deserializer::from_reader(BufReader::with_capacity(64 * 1024, &mut guard));
    match Top(&mut each).deserialize(&mut de) {
        Ok(()) => Ok(()),
        Err(e) if e.to_string().starts_with(ENOUGH) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// The error that ends the second pass early on purpose: `logFiles` was read, or `each` had
/// enough.
const ENOUGH: &str = "enough entries";

/// The digest's object: every member skipped but `logFiles`.
struct Top<'a, F>(&'a mut F);

impl<'de, F: FnMut(Element) -> bool> DeserializeSeed<'de> for Top<'_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(Element) -> bool> Visitor<'de> for Top<'_, F> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a digest object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if name == "logFiles" {
                map.next_value_seed(Entries(self.0))?;
                // Nothing after it matters: the first pass read and hashed it all.
                return Err(de::Error::custom(ENOUGH));
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
}

/// `logFiles`: null, or an array whose elements go to `each` one at a time.
struct Entries<'a, F>(&'a mut F);

impl<'de, F: FnMut(Element) -> bool> DeserializeSeed<'de> for Entries<'_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, F: FnMut(Element) -> bool> Visitor<'de> for Entries<'_, F> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of log files")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(element) = seq.next_element_seed(ElementSeed)? {
            if !(self.0)(element) {
                return Err(de::Error::custom(ENOUGH));
            }
        }
        Ok(())
    }
}

/// One element, read without keeping anything but an entry's six strings: a hostile element (a
/// long array, a deep object) is skipped as it streams.
struct ElementSeed;

impl<'de> DeserializeSeed<'de> for ElementSeed {
    type Value = Element;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Element, D::Error> {
        d.deserialize_any(self)
    }
}

/// The JSON type of what is not an entry, for the problem that names it.
fn not_entry(what: &str) -> Element {
    Element::NotEntry(format!("it is {what}, not an object"))
}

impl<'de> Visitor<'de> for ElementSeed {
    type Value = Element;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a log file entry")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Element, E> {
        Ok(not_entry("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Element, E> {
        Ok(not_entry("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Element, E> {
        Ok(not_entry("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Element, E> {
        Ok(not_entry("a number"))
    }
    fn visit_str<E>(self, _: &str) -> Result<Element, E> {
        Ok(not_entry("a string"))
    }
    fn visit_unit<E>(self) -> Result<Element, E> {
        Ok(not_entry("null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(not_entry("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Element, A::Error> {
        let mut entry = ListedLogFile::default();
        let mut wrong = None;
        while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let slot = match name.as_ref() {
                "s3Bucket" => &mut entry.s3_bucket,
                "s3Object" => &mut entry.s3_object,
                "hashValue" => &mut entry.hash_value,
                "hashAlgorithm" => &mut entry.hash_algorithm,
                "newestEventTime" => &mut entry.newest_event_time,
                "oldestEventTime" => &mut entry.oldest_event_time,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            let odd = match map.next_value::<Text>()? {
                Text::Str(s) if slot.is_none() => {
                    *slot = Some(s);
                    None
                }
                Text::Str(_) => Some(format!("it names {name} twice")),
                Text::Null => None,
                Text::Other(what) => Some(format!("its {name} is {what}, not a string")),
            };
            if let (None, Some(odd)) = (&wrong, odd) {
                wrong = Some(odd);
            }
        }
        let text: usize = [
            &entry.s3_bucket,
            &entry.s3_object,
            &entry.hash_value,
            &entry.hash_algorithm,
            &entry.newest_event_time,
            &entry.oldest_event_time,
        ]
        .iter()
        .map(|s| s.as_ref().map_or(0, String::len))
        .sum();
        if text > ENTRY_TEXT_LIMIT {
            wrong.get_or_insert(format!(
                "it holds {text} bytes of text, more than a log file entry has"
            ));
        }
        Ok(match wrong {
            Some(why) => Element::NotEntry(why),
            None => Element::Entry(entry),
        })
    }
}

/// A member that should be a string.
enum Text {
    Str(String),
    Null,
    Other(&'static str),
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E>(self, s: &str) -> Result<Text, E> {
                Ok(Text::Str(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Text, E> {
                Ok(Text::Str(s))
            }
            fn visit_unit<E>(self) -> Result<Text, E> {
                Ok(Text::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Text, E> {
                Ok(Text::Other("a boolean"))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Text, E> {
                Ok(Text::Other("a number"))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Text, E> {
                Ok(Text::Other("a number"))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Text, E> {
                Ok(Text::Other("a number"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text::Other("an array"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text::Other("an object"))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn gz(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn elements(json: &str) -> Vec<Element> {
        let mut out = vec![];
        stream_entries(&gz(json.as_bytes()), |e| {
            out.push(e);
            true
        })
        .unwrap();
        out
    }

    #[test]
    fn the_head_counts_entries_and_hashes_every_byte() {
        let json = r#"{"digestEndTime":"2025-11-24T17:00:00Z","logFiles":[{"s3Object":"a"},5,[1,[2]]], "x": {"y": [1]}}  "#;
        let head = read_head(&gz(json.as_bytes())).unwrap();
        assert_eq!(head.file.log_files.0, Some(3));
        assert_eq!(
            head.file.digest_end_time.as_deref(),
            Some("2025-11-24T17:00:00Z")
        );
        assert_eq!(
            head.sha256,
            super::super::verify::sha256_hex(json.as_bytes())
        );
        assert_eq!(head.bytes, json.len() as u64);
        let none = read_head(&gz(br#"{"logFiles":null}"#)).unwrap();
        assert_eq!(none.file.log_files.0, None);
        // Two gzip members are one file.
        let two = [gz(b"{\"logFiles\":"), gz(b"[]}")].concat();
        assert_eq!(read_head(&two).unwrap().file.log_files.0, Some(0));
    }

    #[test]
    fn what_is_not_a_digest_is_told_from_what_cannot_be_read() {
        let not = |json: &str| matches!(read_head(&gz(json.as_bytes())), Err(Unfit::NotDigest(_)));
        assert!(not("[]"));
        assert!(not(r#"{"logFiles":"x"}"#));
        assert!(not(r#"{"logFiles":[]} trailing"#));
        assert!(not(r#"{"logFiles":[],"logFiles":[]}"#));
        let long = format!(r#"{{"awsAccountId":"{}"}}"#, "1".repeat(STRING_LIMIT + 1));
        assert!(
            matches!(read_head(&gz(long.as_bytes())), Err(Unfit::NotDigest(m)) if m.contains("8 KB"))
        );
        assert!(matches!(read_head(b""), Err(Unfit::Unreadable(m)) if m.contains("empty")));
        assert!(matches!(read_head(b"{}"), Err(Unfit::Unreadable(m)) if m.contains("gzip")));
        let mut truncated = gz(br#"{"logFiles":[]}"#);
        truncated.truncate(truncated.len() - 9);
        assert!(matches!(read_head(&truncated), Err(Unfit::Unreadable(_))));
        let bomb = gz(&vec![b' '; DIGEST_LIMIT as usize + 1]);
        assert!(matches!(read_head(&bomb), Err(Unfit::Unreadable(m)) if m.contains("64 MB")));
    }

    #[test]
    fn entries_stream_in_order_and_each_odd_one_says_why() {
        let got = elements(
            r#"{"a":[{"logFiles":1}],"logFiles":[{"s3Bucket":"b","s3Object":"k","hashValue":"00","extra":{"x":[1]}},5,"s",null,[{"s3Object":"k"}],{"s3Object":7},{"s3Object":"a","s3Object":"b"},{"s3Object":null}],"z":1}"#,
        );
        assert_eq!(got.len(), 8);
        let Element::Entry(first) = &got[0] else {
            panic!("{got:?}")
        };
        assert_eq!(first.s3_object.as_deref(), Some("k"));
        assert_eq!(first.hash_value.as_deref(), Some("00"));
        let why = |i: usize| match &got[i] {
            Element::NotEntry(why) => why.clone(),
            e => panic!("{e:?}"),
        };
        assert!(why(1).contains("a number"));
        assert!(why(2).contains("a string"));
        assert!(why(3).contains("null"));
        assert!(why(4).contains("an array"));
        assert!(why(5).contains("s3Object is a number"));
        assert!(why(6).contains("twice"));
        assert_eq!(got[7], Element::Entry(ListedLogFile::default()));
        let big = "k".repeat(STRING_LIMIT - 10);
        let got = elements(&format!(
            r#"{{"logFiles":[{{"s3Object":"{big}","hashValue":"{big}"}}]}}"#
        ));
        assert!(
            matches!(&got[0], Element::NotEntry(why) if why.contains("bytes of text")),
            "{got:?}"
        );
        assert!(elements(r#"{"logFiles":null}"#).is_empty());
        assert!(elements(r#"{"x":1}"#).is_empty());
    }

    #[test]
    fn the_stream_stops_when_asked() {
        let json = format!(r#"{{"logFiles":[{}]}}"#, vec!["{}"; 1000].join(","));
        let mut n = 0;
        stream_entries(&gz(json.as_bytes()), |_| {
            n += 1;
            n < 10
        })
        .unwrap();
        assert_eq!(n, 10);
    }

    proptest! {
        #[test]
        fn any_bytes_are_read_or_refused_without_a_panic(data in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = read_head(&data);
            let _ = read_head(&gz(&data));
            let _ = stream_entries(&gz(&data), |_| true);
        }
    }
}

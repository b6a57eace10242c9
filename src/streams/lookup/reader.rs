//! A strict JSON reader over text already known to be UTF-8, for LookupEvents answers and the
//! CloudTrail records inside them: one walk over the bytes that accepts exactly what serde_json
//! accepts and hands out spans (a string as it is written) instead of building values.

use crate::json_words::{hex4, to_special};

/// Why the text is not JSON, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub what: &'static str,
    pub at: usize,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

pub type Read<T> = Result<T, Invalid>;

/// How a string's `\u` escapes are checked. serde_json refuses a lone UTF-16 surrogate in a
/// string whose value it reads, and lets it pass in a value it skips: both are kept, so that
/// what is accepted is what serde_json accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surrogates {
    Paired,
    Any,
}

/// A string as written, quotes included: `start..end` of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Literal {
    pub start: u32,
    pub end: u32,
    /// Whether it holds a backslash (its text differs from its content).
    pub escaped: bool,
}

impl Literal {
    /// The literal in `text`, quotes included: valid JSON as it is.
    pub fn json<'a>(&self, text: &'a str) -> &'a str {
        &text[self.start as usize..self.end as usize]
    }

    /// Its content, quotes excluded, escapes as written.
    pub fn inner<'a>(&self, text: &'a str) -> &'a str {
        &text[self.start as usize + 1..self.end as usize - 1]
    }
}

pub struct Reader<'a> {
    pub text: &'a str,
    b: &'a [u8],
    pub i: usize,
}

/// The brackets open in a value being skipped, objects as true: the first 64 levels in a word
/// (records nest a few), deeper ones in a vector, as serde_json skips values of any depth.
#[derive(Default)]
struct Brackets {
    depth: usize,
    word: u64,
    deeper: Vec<bool>,
}

impl Brackets {
    fn push(&mut self, object: bool) {
        if self.depth < 64 {
            self.word = self.word & !(1 << self.depth) | u64::from(object) << self.depth;
        } else {
            self.deeper.push(object);
        }
        self.depth += 1;
    }

    fn last(&self) -> Option<bool> {
        match self.depth {
            0 => None,
            d if d <= 64 => Some(self.word & (1 << (d - 1)) != 0),
            _ => self.deeper.last().copied(),
        }
    }

    fn pop(&mut self) {
        self.depth -= 1;
        if self.depth >= 64 {
            self.deeper.pop();
        }
    }
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a str) -> Reader<'a> {
        Reader {
            text,
            b: text.as_bytes(),
            i: 0,
        }
    }

    pub fn invalid(&self, what: &'static str) -> Invalid {
        Invalid { what, at: self.i }
    }

    #[inline]
    pub fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    #[inline]
    pub fn peek(&mut self) -> Read<u8> {
        self.ws();
        match self.b.get(self.i) {
            Some(&c) => Ok(c),
            None => Err(self.invalid("the text ends early")),
        }
    }

    /// Only whitespace is left.
    pub fn end(&mut self) -> Read<()> {
        self.ws();
        if self.i == self.b.len() {
            Ok(())
        } else {
            Err(self.invalid("trailing characters"))
        }
    }

    /// A string from its opening quote (after whitespace).
    #[inline]
    pub fn string(&mut self, surrogates: Surrogates) -> Read<Literal> {
        if self.peek()? != b'"' {
            return Err(self.invalid("a string expected"));
        }
        let start = self.i;
        let b = self.b;
        let mut i = start + 1;
        let mut escaped = false;
        loop {
            i = to_special(b, i);
            match b.get(i) {
                None => {
                    self.i = i;
                    return Err(self.invalid("the text ends inside a string"));
                }
                Some(b'"') => {
                    self.i = i + 1;
                    return Ok(Literal {
                        start: start as u32,
                        end: self.i as u32,
                        escaped,
                    });
                }
                Some(b'\\') => {
                    escaped = true;
                    i = self.escape(i, surrogates)?;
                }
                Some(c) if *c < 0x20 => {
                    self.i = i;
                    return Err(self.invalid("a control character in a string"));
                }
                Some(_) => i += 1,
            }
        }
    }

    /// The escape at `i` (a backslash) checked; where the string goes on.
    #[inline]
    fn escape(&mut self, i: usize, surrogates: Surrogates) -> Read<usize> {
        let b = self.b;
        let bad = |what| Invalid { what, at: i };
        match b.get(i + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(i + 2),
            Some(b'u') => {
                let unit = b
                    .get(i + 2..i + 6)
                    .and_then(hex4)
                    .ok_or(bad("a bad \\u escape"))?;
                if surrogates == Surrogates::Any {
                    return Ok(i + 6);
                }
                match unit {
                    0xD800..=0xDBFF => {
                        let low = match b.get(i + 6..i + 8) {
                            Some(b"\\u") => b.get(i + 8..i + 12).and_then(hex4),
                            _ => None,
                        };
                        match low {
                            Some(0xDC00..=0xDFFF) => Ok(i + 12),
                            _ => Err(bad("a lone UTF-16 surrogate")),
                        }
                    }
                    0xDC00..=0xDFFF => Err(bad("a lone UTF-16 surrogate")),
                    _ => Ok(i + 6),
                }
            }
            _ => Err(bad("a bad escape")),
        }
    }

    /// A number's span, its syntax checked (not its range: see `lenient::checked_number`).
    pub fn number(&mut self) -> Read<(usize, usize)> {
        self.ws();
        let start = self.i;
        let b = self.b;
        let digits = |mut i: usize| {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        let mut i = start;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => i = digits(i + 1),
            _ => {
                self.i = i;
                return Err(self.invalid("a bad number"));
            }
        }
        if b.get(i) == Some(&b'.') {
            let after = digits(i + 1);
            if after == i + 1 {
                self.i = after;
                return Err(self.invalid("a bad number"));
            }
            i = after;
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            let after = digits(i);
            if after == i {
                self.i = after;
                return Err(self.invalid("a bad number"));
            }
            i = after;
        }
        // serde_json reads "01" as 0 then refuses the 1.
        if b.get(i).is_some_and(u8::is_ascii_digit) {
            self.i = i;
            return Err(self.invalid("a bad number"));
        }
        self.i = i;
        Ok((start, i))
    }

    /// `true`, `false` or `null`, whichever starts here.
    pub fn word(&mut self) -> Read<&'static str> {
        let word = match self.peek()? {
            b't' => "true",
            b'f' => "false",
            b'n' => "null",
            _ => return Err(self.invalid("a value expected")),
        };
        if !self.b[self.i..].starts_with(word.as_bytes()) {
            return Err(self.invalid("an unknown literal"));
        }
        self.i += word.len();
        Ok(word)
    }

    /// Reads an object from its `{`, calling `member` with each name (read with paired
    /// surrogates, as serde_json reads names) and the reader at its value, which `member` must
    /// read. (What is read this way nests a few levels; deeper values are skipped.)
    pub fn object(&mut self, mut member: impl FnMut(&mut Self, Literal) -> Read<()>) -> Read<()> {
        self.i += 1;
        if self.peek()? == b'}' {
            self.i += 1;
            return Ok(());
        }
        loop {
            let name = self.string(Surrogates::Paired)?;
            if self.peek()? != b':' {
                return Err(self.invalid("':' expected"));
            }
            self.i += 1;
            member(self, name)?;
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

    /// Reads an array from its `[`, calling `item` with the reader at each item.
    pub fn array(&mut self, mut item: impl FnMut(&mut Self) -> Read<()>) -> Read<()> {
        self.i += 1;
        if self.peek()? == b']' {
            self.i += 1;
            return Ok(());
        }
        loop {
            item(self)?;
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

    /// Skips a value as serde_json skips one it ignores: at any depth, its strings' escapes
    /// checked but not their surrogates.
    pub fn skip(&mut self) -> Read<()> {
        let mut open = Brackets::default();
        loop {
            // A value.
            match self.peek()? {
                b'"' => {
                    self.string(Surrogates::Any)?;
                }
                b'-' | b'0'..=b'9' => {
                    self.number()?;
                }
                c @ (b'[' | b'{') => {
                    self.i += 1;
                    let object = c == b'{';
                    if self.peek()? == if object { b'}' } else { b']' } {
                        self.i += 1;
                    } else {
                        open.push(object);
                        if object {
                            self.name_and_colon()?;
                        }
                        continue;
                    }
                }
                _ => {
                    self.word()?;
                }
            }
            // What follows it, closing the brackets it ends.
            loop {
                let Some(object) = open.last() else {
                    return Ok(());
                };
                match (self.peek()?, object) {
                    (b',', _) => {
                        self.i += 1;
                        if object {
                            self.name_and_colon()?;
                        }
                        break;
                    }
                    (b'}', true) | (b']', false) => {
                        self.i += 1;
                        open.pop();
                    }
                    (_, true) => return Err(self.invalid("',' or '}' expected")),
                    (_, false) => return Err(self.invalid("',' or ']' expected")),
                }
            }
        }
    }

    fn name_and_colon(&mut self) -> Read<()> {
        self.string(Surrogates::Any)?;
        if self.peek()? != b':' {
            return Err(self.invalid("':' expected"));
        }
        self.i += 1;
        Ok(())
    }
}

/// A member name's content, escapes decoded (borrowed when it has none).
#[inline]
pub fn name_text<'t>(text: &'t str, literal: Literal) -> std::borrow::Cow<'t, str> {
    if !literal.escaped {
        return std::borrow::Cow::Borrowed(literal.inner(text));
    }
    let mut decoded = String::new();
    unescape_into(literal.inner(text), &mut decoded);
    std::borrow::Cow::Owned(decoded)
}

/// Unescapes `inner`, the content of a JSON string literal already checked by the parser, into
/// `out`; false (and `out` untouched) when it has no escapes, so it can be used as it is.
pub fn unescape_into(inner: &str, out: &mut String) -> bool {
    let bytes = inner.as_bytes();
    let Some(first) = memchr::memchr(b'\\', bytes) else {
        return false;
    };
    out.clear();
    out.reserve(inner.len());
    let mut at = 0;
    let mut next = Some(first);
    while let Some(i) = next {
        out.push_str(&inner[at..i]);
        let (c, used) = match bytes.get(i + 1) {
            Some(b'"') => ('"', 2),
            Some(b'\\') => ('\\', 2),
            Some(b'/') => ('/', 2),
            Some(b'b') => ('\u{8}', 2),
            Some(b'f') => ('\u{c}', 2),
            Some(b'n') => ('\n', 2),
            Some(b'r') => ('\r', 2),
            Some(b't') => ('\t', 2),
            Some(b'u') => unicode_escape(&inner[i..]),
            // Not reached: the parser refused such a literal.
            _ => ('\u{fffd}', 1),
        };
        out.push(c);
        at = i + used;
        next = memchr::memchr(b'\\', &bytes[at..]).map(|j| at + j);
    }
    out.push_str(&inner[at..]);
    true
}

/// `\uXXXX` (a surrogate pair when followed by `\uXXXX`) at the start of `s`: the character and
/// how many bytes it took. A lone surrogate becomes U+FFFD, as serde_json reads it.
pub fn unicode_escape(s: &str) -> (char, usize) {
    let hex = |from: usize| {
        s.get(from..from + 4)
            .and_then(|h| u32::from_str_radix(h, 16).ok())
    };
    let Some(high) = hex(2) else {
        return ('\u{fffd}', 2);
    };
    if !(0xD800..0xDC00).contains(&high) {
        return (char::from_u32(high).unwrap_or('\u{fffd}'), 6);
    }
    match (s.get(6..8), hex(8)) {
        (Some("\\u"), Some(low)) if (0xDC00..0xE000).contains(&low) => {
            let c = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
            (char::from_u32(c).unwrap_or('\u{fffd}'), 12)
        }
        _ => ('\u{fffd}', 6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Skips one value and what follows must be the end.
    fn skips(text: &str) -> bool {
        let mut r = Reader::new(text);
        r.skip().and_then(|()| r.end()).is_ok()
    }

    fn serde_skips(text: &str) -> bool {
        serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
    }

    /// Texts near JSON: pieces of it glued at random, so that most are almost valid.
    fn near_json() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("{".to_string()),
            Just("}".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just(",".to_string()),
            Just(":".to_string()),
            Just(" ".to_string()),
            Just("\"a\"".to_string()),
            Just("\"\\ud800\"".to_string()),
            Just("\"\\ud83d\\ude00\"".to_string()),
            Just("\"\\q\"".to_string()),
            Just("\"\u{1}\"".to_string()),
            Just("\\".to_string()),
            Just("\"".to_string()),
            Just("true".to_string()),
            Just("nul".to_string()),
            Just("null".to_string()),
            "-?[0-9]{0,3}(\\.[0-9]{0,2})?([eE][+-]?[0-9]{0,2})?",
        ];
        prop::collection::vec(piece, 0..24).prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        /// Skipping accepts exactly what serde_json accepts as an ignored value.
        #[test]
        fn skipping_accepts_what_serde_json_accepts(text in near_json()) {
            prop_assert_eq!(skips(&text), serde_skips(&text), "{}", text);
        }

        /// Whatever JSON serde_json writes is skipped whole.
        #[test]
        fn written_json_is_skipped(v in any::<Vec<(String, Option<f64>, bool)>>()) {
            let text = serde_json::to_string(&v).unwrap();
            prop_assert!(skips(&text));
        }
    }

    #[test]
    fn strings_check_surrogates_only_when_asked() {
        for (text, paired) in [
            (r#""\ud800""#, false),
            (r#""\udc00""#, false),
            (r#""\ud800\u0041""#, false),
            (r#""\ud83d\ude00""#, true),
            (r#""\u00e9\/""#, true),
        ] {
            let mut r = Reader::new(text);
            assert_eq!(r.string(Surrogates::Paired).is_ok(), paired, "{text}");
            assert_eq!(
                serde_json::from_str::<String>(text).is_ok(),
                paired,
                "{text}"
            );
            let mut r = Reader::new(text);
            assert!(r.string(Surrogates::Any).is_ok());
        }
    }

    #[test]
    fn deep_skipped_values_are_read_without_recursion() {
        let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(skips(&text));
        assert!(!skips(&text[1..]));
        let mixed = format!("{}1{}", r#"{"a":["#.repeat(100), "]}".repeat(100));
        assert!(skips(&mixed) && serde_skips(&mixed));
        let crossed = format!("{}1{}", r#"{"a":["#.repeat(100), "}]".repeat(100));
        assert!(!skips(&crossed) && !serde_skips(&crossed));
    }
}

//! The validating JSON scanner: walks one record's bytes, proves them well-formed JSON (UTF-8,
//! escapes, numbers, nesting) and checks each declared member against its shape, a word at a time
//! through strings.

use super::filter::{member_keeps, Picks, PICKED};
use super::shape::{is_date_time, Shape};
use crate::config::EventFilter;
#[cfg(test)]
pub(super) use crate::json_words::string_specials;
pub(super) use crate::json_words::to_special;

/// Why scanning stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The buffer ends inside the value: more bytes are needed.
    Incomplete,
    /// Not JSON: what is wrong, at which offset of the buffer.
    Invalid(&'static str, usize),
    /// The event filter refused the record on the member that ends at this offset: the rest of
    /// the record need not be read.
    Filtered(usize),
}

/// Deeper nesting than any CloudTrail record has; bounds the recursion.
const MAX_DEPTH: usize = 128;
/// Members of one object checked against each other for a repeated name; an object with more
/// takes the slow path, which keeps one value per name (keeps the check linear).
const NAMES_CHECKED: usize = 64;

/// A name's hash, to find a name repeated within one object (a collision only costs the slow
/// path).
fn name_hash(name: &[u8]) -> u64 {
    name.iter().fold(0xcbf2_9ce4_8422_2325, |h: u64, &c| {
        (h ^ u64::from(c)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The 4 hex digits at `at` as a number; `None` when they are not hex digits.
#[inline]
fn hex4(b: &[u8], at: usize) -> Result<Option<u16>, Stop> {
    Ok(crate::json_words::hex4(
        b.get(at..at + 4).ok_or(Stop::Incomplete)?,
    ))
}

/// A scan over one buffer.
pub(super) struct Scanner<'a> {
    pub(super) b: &'a [u8],
    pub(super) i: usize,
    /// A value contradicting its shape was seen.
    pub(super) mismatch: bool,
    /// A line break outside strings was seen: the record cannot go out as one line as it is.
    pub(super) line_break: bool,
    /// The hashes of the member names of the objects being scanned, outermost first: a RECORD
    /// must not hold a name twice, so an object that does takes the slow path.
    pub(super) names: &'a mut Vec<u64>,
    /// Set while a record is scanned: its members named in `PICKED` are noted in `picks`.
    pub(super) picking: bool,
    pub(super) picks: Picks,
    /// Refuses a record as soon as a picked member decides it.
    pub(super) filter: Option<&'a EventFilter>,
}

type Step = Result<(), Stop>;

impl<'a> Scanner<'a> {
    #[inline]
    pub(super) fn peek(&self) -> Result<u8, Stop> {
        self.b.get(self.i).copied().ok_or(Stop::Incomplete)
    }

    pub(super) fn invalid(&self, what: &'static str) -> Stop {
        Stop::Invalid(what, self.i)
    }

    #[inline]
    pub(super) fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b' ' | b'\t' => {}
                b'\n' | b'\r' => self.line_break = true,
                _ => return,
            }
            self.i += 1;
        }
    }

    pub(super) fn expect(&mut self, c: u8, what: &'static str) -> Step {
        self.ws();
        if self.peek()? != c {
            return Err(self.invalid(what));
        }
        self.i += 1;
        Ok(())
    }

    /// A string from its opening quote; returns whether it held an escape.
    #[inline]
    pub(super) fn string(&mut self) -> Result<bool, Stop> {
        let b = self.b;
        let mut i = self.i + 1;
        let mut escaped = false;
        loop {
            // Eight bytes at a time, straight to the first byte that needs a look.
            i = to_special(b, i);
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
                            let unit =
                                hex4(b, i + 2)?.ok_or(Stop::Invalid("a bad \\u escape", i))?;
                            // UTF-16 surrogates come in pairs: a lone one is no character, and
                            // strict JSON readers (serde_json among them) refuse it.
                            match unit {
                                0xD800..=0xDBFF => {
                                    let low = match b.get(i + 6..i + 8).ok_or(Stop::Incomplete)? {
                                        b"\\u" => hex4(b, i + 8)?,
                                        _ => None,
                                    };
                                    if !low.is_some_and(|l| (0xDC00..=0xDFFF).contains(&l)) {
                                        return Err(Stop::Invalid("a lone UTF-16 surrogate", i));
                                    }
                                    i += 12;
                                }
                                0xDC00..=0xDFFF => {
                                    return Err(Stop::Invalid("a lone UTF-16 surrogate", i))
                                }
                                _ => i += 6,
                            }
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

    pub(super) fn digits(&mut self) -> Result<usize, Stop> {
        let start = self.i;
        while self.peek()?.is_ascii_digit() {
            self.i += 1;
        }
        Ok(self.i - start)
    }

    pub(super) fn number(&mut self) -> Step {
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

    pub(super) fn literal(&mut self, word: &'static [u8]) -> Step {
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

    pub(super) fn value(&mut self, shape: &Shape, depth: usize) -> Step {
        self.ws();
        self.mismatch |= *shape == Shape::Reserved;
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

    pub(super) fn object(&mut self, shape: &Shape, depth: usize) -> Step {
        if depth >= MAX_DEPTH {
            return Err(self.invalid("nesting deeper than 128 levels"));
        }
        self.i += 1;
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Ok(());
        }
        let base = self.names.len();
        let result = self.members(shape, depth, base);
        self.names.truncate(base);
        result
    }

    fn members(&mut self, shape: &Shape, depth: usize, base: usize) -> Step {
        loop {
            self.ws();
            if self.peek()? != b'"' {
                return Err(self.invalid("a member name expected"));
            }
            let start = self.i + 1;
            let escaped = self.string()?;
            let key = &self.b[start..self.i - 1];
            if self.names.len() - base < NAMES_CHECKED {
                // An escaped spelling of a name already seen is left to the slow path.
                let hash = name_hash(key);
                self.mismatch |= escaped || self.names[base..].contains(&hash);
                self.names.push(hash);
            } else {
                self.mismatch = true;
            }
            let member = shape.member(key);
            if escaped && matches!(shape, Shape::Object(_)) {
                // A declared name spelled with escapes would dodge the type check: the record
                // takes the slow path, which sees names unescaped.
                let name: Option<String> = serde_json::from_slice(&self.b[start - 1..self.i]).ok();
                self.mismatch |= name.is_some_and(|n| shape.member(n.as_bytes()) != &Shape::Any);
            }
            self.expect(b':', "':' expected")?;
            let pick = match self.picking && depth == 1 {
                true => PICKED.iter().position(|p| *p == key),
                false => None,
            };
            self.ws();
            let value_start = self.i;
            self.value(member, depth + 1)?;
            if let Some(p) = pick {
                if self.picks.0[p].is_none() {
                    self.picks.0[p] = Some((value_start, self.i));
                    let refused = self
                        .filter
                        .is_some_and(|f| !member_keeps(f, p, Some(&self.b[value_start..self.i])));
                    if refused {
                        return Err(Stop::Filtered(self.i));
                    }
                }
            }
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

    pub(super) fn array(&mut self, shape: &Shape, depth: usize) -> Step {
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

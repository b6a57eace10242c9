//! JSON bytes a word at a time: the string scans shared by the trail-log scanner and the
//! LookupEvents reader, which find a string's next quote, backslash or control character eight
//! bytes per step (strings are most of CloudTrail's bytes).

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `w` that is a quote, a backslash or a control character (the
/// only bytes a string scan stops at). Bits above the lowest may be false positives, the lowest
/// is exact: it marks the first such byte.
#[inline]
pub fn string_specials(w: u64) -> u64 {
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let quote = zero_byte(w ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(w ^ (ONES * u64::from(b'\\')));
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    quote | backslash | control
}

/// From `i` in a string, eight bytes at a time, to the first quote, backslash or control
/// character, or to the last bytes that do not fill a word (looked at one by one).
#[inline]
pub fn to_special(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        let specials = string_specials(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
        if specials != 0 {
            return i + (specials.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

/// Four hex digits as a number; `None` when they are not four hex digits.
#[inline]
pub fn hex4(digits: &[u8]) -> Option<u16> {
    if digits.len() != 4 {
        return None;
    }
    digits.iter().try_fold(0u16, |n, d| {
        (*d as char).to_digit(16).map(|v| n << 4 | v as u16)
    })
}

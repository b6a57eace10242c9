//! The clock and calendar: epoch seconds to and from dates, through the `time` crate.

use std::time::{SystemTime, UNIX_EPOCH};

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

pub const DAY_SECS: i64 = 86_400;

/// Whole epoch seconds now (rounded down).
pub fn now_secs() -> i64 {
    now_millis() / 1000
}

pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The epoch second of a UTC date and time; `None` for a date that does not exist.
pub fn epoch_of(year: i32, month: u8, day: u8, hour: u8, minute: u8) -> Option<i64> {
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
    let time = Time::from_hms(hour, minute, 0).ok()?;
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_utc()
            .unix_timestamp(),
    )
}

/// Parses `YYYY-MM-DD` into the epoch second of that day's midnight UTC.
pub fn parse_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    epoch_of(
        i32::try_from(y).ok()?,
        u8::try_from(m).ok()?,
        u8::try_from(d).ok()?,
        0,
        0,
    )
}

/// The UTC date and time of an epoch second, clamped to the years `time` represents.
pub fn utc(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(if secs < 0 {
        OffsetDateTime::new_utc(Date::MIN, Time::MIDNIGHT)
    } else {
        OffsetDateTime::new_utc(Date::MAX, Time::MIDNIGHT)
    })
}

/// The epoch second of an RFC 3339 time (`2025-11-24T17:00:00Z`, fractions and offsets too).
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

/// `YYYY-MM-DDTHH:MM:SSZ`, for messages.
pub fn format_epoch(secs: i64) -> String {
    let t = utc(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_dates() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2021-06-10"), Some(1_623_283_200));
        assert_eq!(parse_date("2024-02-29"), Some(1_709_164_800));
        for bad in [
            "2023-02-29",
            "2021-13-01",
            "2021-6-10",
            "20210610",
            "2021-06-1x",
            "",
            "2021-00-10",
            "2021-06-00",
            "+021-06-10",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(format_epoch(1_623_346_856), "2021-06-10T17:40:56Z");
    }

    proptest! {
        #[test]
        fn format_and_parse_agree(days in -1000i64..100_000) {
            let text = format_epoch(days * DAY_SECS);
            prop_assert_eq!(parse_date(&text[..10]), Some(days * DAY_SECS));
        }

        #[test]
        fn any_second_formats_without_panicking(secs in any::<i64>()) {
            prop_assert_eq!(format_epoch(secs).len() >= 20, true);
        }
    }
}

//! An event id as the sets of emitted events keep it: CloudTrail's ids are UUIDs, kept as their
//! 128 bits (no allocation, a one-word hash), and any other id as its text. Two ids have the
//! same key exactly when they are the same text.

/// The key of one event id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventKey {
    /// A UUID written as CloudTrail writes it: lowercase hex, hyphens at 8, 13, 18 and 23.
    Uuid(u128),
    Other(Box<str>),
}

impl EventKey {
    pub fn of(id: &str) -> EventKey {
        match uuid_bits(id.as_bytes()) {
            Some(bits) => EventKey::Uuid(bits),
            None => EventKey::Other(id.into()),
        }
    }
}

/// The bits of a UUID in its one lowercase spelling; `None` for any other text, so that the
/// mapping is one-to-one.
fn uuid_bits(id: &[u8]) -> Option<u128> {
    if id.len() != 36 {
        return None;
    }
    let mut bits = 0u128;
    for (i, &c) in id.iter().enumerate() {
        let hyphen = matches!(i, 8 | 13 | 18 | 23);
        let nibble = match c {
            b'-' if hyphen => continue,
            b'0'..=b'9' if !hyphen => c - b'0',
            b'a'..=b'f' if !hyphen => c - b'a' + 10,
            _ => return None,
        };
        bits = bits << 4 | u128::from(nibble);
    }
    Some(bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Keys are equal exactly when ids are, UUIDs or not, whatever the case or shape.
        #[test]
        fn keys_are_equal_exactly_when_ids_are(
            a in "[0-9a-fA-F]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f-]{0,40}",
            flip in 0..36usize,
        ) {
            let mut b = a.clone().into_bytes();
            if let Some(c) = b.get_mut(flip) {
                *c = match *c { b'-' => b'0', b'f' => b'F', b'0'..=b'8' => *c + 1, _ => b'-' };
            }
            let b = String::from_utf8(b).unwrap();
            prop_assert_eq!(EventKey::of(&a) == EventKey::of(&b), a == b);
            prop_assert_eq!(EventKey::of(&a), EventKey::of(&a.clone()));
        }
    }

    #[test]
    fn cloudtrail_ids_take_no_allocation() {
        let id = "c4edce6e-24da-44ca-85bc-783d83d599f8";
        assert!(matches!(EventKey::of(id), EventKey::Uuid(_)));
        assert!(matches!(
            EventKey::of(&id.to_uppercase()),
            EventKey::Other(_)
        ));
        assert!(matches!(
            EventKey::of("c4edce6e24da-44ca-85bc-783d83d599f8-"),
            EventKey::Other(_)
        ));
    }
}

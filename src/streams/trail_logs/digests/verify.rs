//! The checks of one digest as pure functions: its fields, the string CloudTrail signs, the
//! signature (RSA PKCS#1 v1.5 with SHA-256, by aws-lc-rs), the public key it names, the link to
//! its predecessor, and the chain a digest belongs to.

use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use serde::Deserialize;

/// A digest file's fields, as CloudTrail writes them (all optional: a tampered or foreign file
/// may lack any).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestFile {
    pub aws_account_id: Option<String>,
    pub digest_start_time: Option<String>,
    pub digest_end_time: Option<String>,
    pub digest_s3_bucket: Option<String>,
    pub digest_s3_object: Option<String>,
    pub digest_public_key_fingerprint: Option<String>,
    pub digest_signature_algorithm: Option<String>,
    pub newest_event_time: Option<String>,
    pub oldest_event_time: Option<String>,
    pub previous_digest_s3_bucket: Option<String>,
    pub previous_digest_s3_object: Option<String>,
    pub previous_digest_hash_value: Option<String>,
    pub previous_digest_hash_algorithm: Option<String>,
    pub previous_digest_signature: Option<String>,
    #[serde(default)]
    pub log_files: Option<Vec<ListedLogFile>>,
}

/// A log file as a digest lists it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedLogFile {
    pub s3_bucket: Option<String>,
    pub s3_object: Option<String>,
    pub hash_value: Option<String>,
    pub hash_algorithm: Option<String>,
    pub newest_event_time: Option<String>,
    pub oldest_event_time: Option<String>,
}

/// The signature algorithm CloudTrail uses, in the file and in the S3 metadata.
pub const ALGORITHM: &str = "SHA256withRSA";

pub fn sha256_hex(data: &[u8]) -> String {
    hex(digest(&SHA256, data).as_ref())
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = text.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// What CloudTrail signs: the end time as written, where the digest lives, the hash of its
/// uncompressed bytes, and the previous digest's signature (`null` for a starting digest).
pub fn signing_string(
    end_time: &str,
    bucket: &str,
    key: &str,
    digest_sha256: &str,
    previous_signature: Option<&str>,
) -> String {
    format!(
        "{end_time}\n{bucket}/{key}\n{digest_sha256}\n{}",
        previous_signature.unwrap_or("null")
    )
}

/// Verifies a hex SHA256withRSA `signature` of `message` with a DER public key (PKCS#1
/// RSAPublicKey or X.509 SubjectPublicKeyInfo: aws-lc-rs reads both).
pub fn signature_verifies(public_key_der: &[u8], message: &[u8], signature: &str) -> bool {
    let Some(signature) = unhex(signature.trim()) else {
        return false;
    };
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key_der)
        .verify(message, &signature)
        .is_ok()
}

/// A public key of `ListPublicKeys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub fingerprint: String,
    pub der: Vec<u8>,
    /// Epoch seconds.
    pub valid_from: i64,
    pub valid_to: i64,
}

/// Why no key can check a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyProblem {
    Unknown,
    /// A key has the fingerprint, but was not valid when the digest was written.
    NotValidThen {
        valid_from: i64,
        valid_to: i64,
    },
}

/// The key a digest names, valid at `at` (its end time, epoch seconds).
pub fn select_key<'a>(
    keys: &'a [PublicKey],
    fingerprint: &str,
    at: i64,
) -> Result<&'a PublicKey, KeyProblem> {
    let mut named = keys.iter().filter(|k| k.fingerprint == fingerprint);
    let first = named.clone().next().ok_or(KeyProblem::Unknown)?;
    named
        .find(|k| k.valid_from <= at && at <= k.valid_to)
        .ok_or(KeyProblem::NotValidThen {
            valid_from: first.valid_from,
            valid_to: first.valid_to,
        })
}

/// What a digest's successor must name to chain to it, folded into one short value kept per
/// chain in the state: the digest's key, its signature and its hash.
pub fn chain_link(key: &str, signature: &str, sha256: &str) -> String {
    let folded = digest(
        &SHA256,
        format!(
            "{key}\n{}\n{}",
            signature.trim().to_ascii_lowercase(),
            sha256
        )
        .as_bytes(),
    );
    hex(&folded.as_ref()[..16])
}

/// The chain a digest belongs to within its account-region folder: its trail and home region
/// (the name's part between the region and the time), and whether it is a backfill digest,
/// which forms a chain of its own. `None` for a name that is not a digest's.
pub fn chain_of(key: &str) -> Option<(String, bool)> {
    let name = key.rsplit('/').next()?;
    let stem = name.strip_suffix(".json.gz")?;
    let (stem, backfill) = match stem.strip_suffix("_backfill") {
        Some(s) => (s, true),
        None => (stem, false),
    };
    let at = stem.find("_CloudTrail-Digest_")?;
    let rest = &stem[at + "_CloudTrail-Digest_".len()..];
    // <region>_<trail>_<home-region>_<time>: the trail name may itself hold `_`.
    let (_, after_region) = rest.split_once('_')?;
    let (trail_and_home, time) = after_region.rsplit_once('_')?;
    if !time.ends_with('Z') || !time.contains('T') {
        return None;
    }
    let line = if backfill {
        format!("{trail_and_home}/backfill")
    } else {
        trail_and_home.to_string()
    };
    Some((line, backfill))
}

/// A digest key in a `CloudTrail-Digest/<region>/` folder (relative to it): dated, a digest's
/// name. Anything else never becomes the folder's cursor.
pub fn is_digest_file(key: &str) -> bool {
    let b = key.as_bytes();
    let dated = b.len() > 11
        && [4, 7, 10].iter().all(|&i| b[i] == b'/')
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    dated && chain_of(key).is_some()
}

/// Epoch seconds of an ISO 8601 UTC time as CloudTrail writes it (`2025-11-24T17:00:00Z`).
pub fn parse_time(text: &str) -> Option<i64> {
    crate::time::parse_rfc3339(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudtrail_emulator::digests::SigningKey;
    use proptest::prelude::*;

    /// The X.509 SubjectPublicKeyInfo of a PKCS#1 RSA key, as one AWS sample shows keys.
    fn spki(pkcs1: &[u8]) -> Vec<u8> {
        fn der(tag: u8, body: &[u8]) -> Vec<u8> {
            let mut out = vec![tag];
            let n = body.len();
            if n < 128 {
                out.push(n as u8);
            } else if n < 256 {
                out.extend([0x81, n as u8]);
            } else {
                out.extend([0x82, (n >> 8) as u8, n as u8]);
            }
            out.extend_from_slice(body);
            out
        }
        let algorithm = der(
            0x30,
            &[
                0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
            ],
        );
        let mut bits = vec![0];
        bits.extend_from_slice(pkcs1);
        der(0x30, &[algorithm, der(0x03, &bits)].concat())
    }

    #[test]
    fn a_signature_verifies_with_its_key_in_either_encoding_and_nothing_else() {
        let message = signing_string("2025-11-24T17:00:00Z", "b", "k", "ab", None);
        let signature = SigningKey::Current.sign(message.as_bytes());
        let pkcs1 = SigningKey::Current.public_der();
        assert!(signature_verifies(&pkcs1, message.as_bytes(), &signature));
        assert!(signature_verifies(
            &spki(&pkcs1),
            message.as_bytes(),
            &signature
        ));
        assert!(signature_verifies(
            &pkcs1,
            message.as_bytes(),
            &signature.to_uppercase()
        ));
        assert!(!signature_verifies(
            &SigningKey::Expired.public_der(),
            message.as_bytes(),
            &signature
        ));
        let other = signing_string("2025-11-24T17:00:00Z", "b", "k", "ab", Some("00"));
        assert!(!signature_verifies(&pkcs1, other.as_bytes(), &signature));
        assert!(!signature_verifies(&pkcs1, message.as_bytes(), "zz"));
        assert!(!signature_verifies(&pkcs1, message.as_bytes(), ""));
        assert!(!signature_verifies(
            b"not a key",
            message.as_bytes(),
            &signature
        ));
    }

    #[test]
    fn the_key_is_chosen_by_fingerprint_and_validity() {
        let key = |f: &str, from, to| PublicKey {
            fingerprint: f.into(),
            der: vec![],
            valid_from: from,
            valid_to: to,
        };
        let keys = [key("a", 0, 100), key("a", 100, 200), key("b", 0, 50)];
        assert_eq!(select_key(&keys, "a", 150).unwrap().valid_from, 100);
        assert_eq!(select_key(&keys, "c", 10), Err(KeyProblem::Unknown));
        assert_eq!(
            select_key(&keys, "b", 60),
            Err(KeyProblem::NotValidThen {
                valid_from: 0,
                valid_to: 50
            })
        );
    }

    #[test]
    fn chains_are_told_apart_by_trail_and_backfill() {
        let hourly = "2025/11/24/111122223333_CloudTrail-Digest_eu-west-1_org_trail_us-east-1_20251124T170000Z.json.gz";
        assert_eq!(
            chain_of(hourly),
            Some(("org_trail_us-east-1".to_string(), false))
        );
        let backfill = hourly.replace("Z.json.gz", "Z_backfill.json.gz");
        assert_eq!(
            chain_of(&backfill),
            Some(("org_trail_us-east-1/backfill".to_string(), true))
        );
        assert!(is_digest_file(hourly));
        assert!(!is_digest_file(
            "2025/11/24/111122223333_CloudTrail_eu-west-1_20251124T1700Z_abc.json.gz"
        ));
        assert!(!is_digest_file(
            "notes/111122223333_CloudTrail-Digest_eu-west-1_t_h_20251124T170000Z.json.gz"
        ));
        assert!(!is_digest_file("2025/11/24/x.json.gz"));
    }

    proptest! {
        #[test]
        fn hex_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(unhex(&hex(&bytes)), Some(bytes));
        }

        #[test]
        fn a_link_changes_with_any_of_its_parts(key in "[a-z/]{1,20}", sig in "[0-9a-f]{2,16}", hash in "[0-9a-f]{64}") {
            let link = chain_link(&key, &sig, &hash);
            prop_assert_eq!(&link, &chain_link(&key, &sig.to_uppercase(), &hash));
            prop_assert_ne!(&link, &chain_link(&format!("{key}x"), &sig, &hash));
            prop_assert_ne!(&link, &chain_link(&key, &format!("{sig}0"), &hash));
            prop_assert_ne!(&link, &chain_link(&key, &sig, &hash[1..]));
        }
    }
}

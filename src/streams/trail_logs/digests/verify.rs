//! The checks of one digest as pure functions: its fields, the string CloudTrail signs, the
//! signature (RSA PKCS#1 v1.5 with SHA-256, by aws-lc-rs), the public key it names and whether
//! CloudTrail could have signed with it, the link to its predecessor, the chain a digest belongs
//! to, and the folders whose log files it may name.

use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use schemars::JsonSchema;
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::schema::Timestamp;

use crate::aws::public_keys::PublicKey;

/// A digest file's fields, as CloudTrail writes them (all optional: a tampered or foreign file
/// may lack any), read straight from the file (no `flatten`: it would hold every member it does
/// not know in memory) and written into the record as they are, but for its key (the record's
/// `claimedDigestS3Object`) and `logFiles`, which is only counted here: its entries are streamed
/// one by one (`entries.rs`), so a digest of a million entries never holds them all.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DigestFile {
    #[serde(skip_serializing)]
    #[schemars(skip)]
    pub digest_s3_object: Option<String>,
    /// The bucket the digest says it was delivered to.
    pub digest_s3_bucket: Option<String>,
    /// The account whose logs the digest covers.
    pub aws_account_id: Option<String>,
    /// Start of the delivery window the digest covers (UTC).
    #[schemars(with = "Option<Timestamp>")]
    pub digest_start_time: Option<String>,
    /// End of the delivery window the digest covers (UTC).
    #[schemars(with = "Option<Timestamp>")]
    pub digest_end_time: Option<String>,
    /// Fingerprint of the public key that verifies the signature (from `ListPublicKeys`).
    pub digest_public_key_fingerprint: Option<String>,
    /// `SHA256withRSA`.
    pub digest_signature_algorithm: Option<String>,
    /// Newest event of the listed log files (UTC; null for a digest without files).
    #[schemars(with = "Option<Timestamp>")]
    pub newest_event_time: Option<String>,
    /// Oldest event of the listed log files (UTC; null for a digest without files).
    #[schemars(with = "Option<Timestamp>")]
    pub oldest_event_time: Option<String>,
    /// Bucket of the previous digest (null for a digest that starts a chain).
    pub previous_digest_s3_bucket: Option<String>,
    /// Key of the previous digest (null for a digest that starts a chain).
    pub previous_digest_s3_object: Option<String>,
    /// Hex SHA-256 of the previous digest's uncompressed content.
    pub previous_digest_hash_value: Option<String>,
    pub previous_digest_hash_algorithm: Option<String>,
    /// Hex signature of the previous digest.
    pub previous_digest_signature: Option<String>,
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub log_files: EntryCount,
}

/// How many entries `logFiles` holds (`None`: null or absent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntryCount(pub Option<u64>);

impl<'de> Deserialize<'de> for EntryCount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Count;
        impl<'de> Visitor<'de> for Count {
            type Value = EntryCount;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of log files")
            }
            fn visit_unit<E>(self) -> Result<EntryCount, E> {
                Ok(EntryCount(None))
            }
            fn visit_none<E>(self) -> Result<EntryCount, E> {
                Ok(EntryCount(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<EntryCount, D::Error> {
                d.deserialize_seq(Count)
            }
            // Each entry is skipped whole, whatever it holds, without keeping it.
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EntryCount, A::Error> {
                let mut n = 0u64;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(EntryCount(Some(n)))
            }
        }
        deserializer.deserialize_option(Count)
    }
}

/// A log file as a digest lists it (read member by member in `entries.rs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

#[cfg(test)]
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

/// Why a public key `ListPublicKeys` gave cannot be one CloudTrail signs digests with (`None`
/// when it can): not an RSA key in DER (PKCS#1 or SubjectPublicKeyInfo), a modulus outside the
/// 2048 to 8192 bits that SHA256withRSA verification accepts, or a key aws-lc-rs refuses.
/// Without this, a weak or broken key would read as a digest changed after delivery.
pub fn unusable_key(der: &[u8]) -> Option<String> {
    let Some(bits) = rsa_modulus_bits(der) else {
        return Some("not a DER RSA public key".into());
    };
    if !(2048..=8192).contains(&bits) {
        return Some(format!(
            "a {bits}-bit RSA key (CloudTrail signs with 2048-bit keys)"
        ));
    }
    match aws_lc_rs::rsa::PublicKey::from_der(der) {
        Ok(_) => None,
        Err(e) => Some(format!("a {bits}-bit RSA key that aws-lc-rs refuses ({e})")),
    }
}

/// The modulus size of an RSA public key in DER: PKCS#1 `RSAPublicKey` (SEQUENCE of two
/// INTEGERs) or X.509 `SubjectPublicKeyInfo` with the rsaEncryption algorithm around one.
fn rsa_modulus_bits(der: &[u8]) -> Option<usize> {
    /// 1.2.840.113549.1.1.1
    const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let (0x30, body, []) = tlv(der)? else {
        return None;
    };
    match tlv(body)? {
        (0x02, modulus, rest) => {
            let (0x02, exponent, []) = tlv(rest)? else {
                return None;
            };
            (!exponent.is_empty()).then_some(())?;
            let first = modulus.iter().position(|b| *b != 0)?;
            Some((modulus.len() - first - 1) * 8 + (8 - modulus[first].leading_zeros() as usize))
        }
        (0x30, algorithm, rest) => {
            let (0x06, RSA_ENCRYPTION, _) = tlv(algorithm)? else {
                return None;
            };
            let (0x03, [0, key @ ..], []) = tlv(rest)? else {
                return None;
            };
            rsa_modulus_bits(key)
        }
        _ => None,
    }
}

/// A DER element: its tag, its content and what follows it (`None` when malformed).
fn tlv(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = data.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        // Long form, at most 4 length bytes (indefinite lengths are not DER).
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |a, b| a << 8 | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The folders whose log files a digest of the folder at `digest_folder` (`…/<account>/
/// CloudTrail-Digest/<region>/`) may name: the same account's event folders of the same region,
/// `…/<account>/CloudTrail/<region>/` and its `CloudTrail-<Kind>/<region>/` siblings (network
/// activity, Insights, …), never the digest folder. Returns the account folder and the region.
pub fn log_folders_of(digest_folder: &str) -> Option<(&str, &str)> {
    let inner = digest_folder.strip_suffix('/')?;
    let (rest, region) = inner.rsplit_once('/')?;
    let account_folder = rest.strip_suffix("CloudTrail-Digest")?;
    account_folder
        .ends_with('/')
        .then_some((account_folder, region))
}

/// Whether `key` is inside one of the folders of `log_folders_of` (its account folder and
/// region): `<account folder>CloudTrail[-<Kind>]/<region>/<something>`.
pub fn in_log_folders(key: &str, account_folder: &str, region: &str) -> bool {
    let Some(rest) = key.strip_prefix(account_folder) else {
        return false;
    };
    let Some((kind, rest)) = rest.split_once('/') else {
        return false;
    };
    let kind_ok = kind == "CloudTrail"
        || kind.strip_prefix("CloudTrail-").is_some_and(|k| {
            !k.is_empty() && k != "Digest" && k.bytes().all(|b| b.is_ascii_alphanumeric())
        });
    kind_ok
        && rest
            .strip_prefix(region)
            .and_then(|r| r.strip_prefix('/'))
            .is_some_and(|name| !name.is_empty())
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
    use cloudtrail_emulator::digests::{sized_key, SigningKey};
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

    #[test]
    fn keys_cloudtrail_cannot_have_used_are_named_with_their_size() {
        let current = SigningKey::Current.public_der();
        assert_eq!(unusable_key(&current), None);
        assert_eq!(unusable_key(&spki(&current)), None);
        assert_eq!(rsa_modulus_bits(&current), Some(2048));
        assert_eq!(rsa_modulus_bits(&spki(&current)), Some(2048));
        for bits in [512, 1024, 2047, 8193, 16383] {
            let why = unusable_key(&sized_key(bits)).unwrap();
            assert!(why.starts_with(&format!("a {bits}-bit RSA key")), "{why}");
            let why = unusable_key(&spki(&sized_key(bits))).unwrap();
            assert!(why.starts_with(&format!("a {bits}-bit RSA key")), "{why}");
        }
        assert_eq!(rsa_modulus_bits(&sized_key(4096)), Some(4096));
        let mut trailing = current.clone();
        trailing.push(0);
        for bad in [
            &b"not a key"[..],
            b"",
            &trailing,
            &current[..current.len() - 1],
        ] {
            assert_eq!(
                unusable_key(bad).as_deref(),
                Some("not a DER RSA public key")
            );
        }
    }

    #[test]
    fn a_digest_names_log_files_of_its_own_account_and_region_only() {
        let folder = "logs/AWSLogs/o-abc123/111122223333/CloudTrail-Digest/eu-west-1/";
        let (account, region) = log_folders_of(folder).unwrap();
        assert_eq!(
            (account, region),
            ("logs/AWSLogs/o-abc123/111122223333/", "eu-west-1")
        );
        let inside = |key: &str| in_log_folders(key, account, region);
        assert!(inside(
            "logs/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2025/11/24/f.json.gz"
        ));
        assert!(inside(
            "logs/AWSLogs/o-abc123/111122223333/CloudTrail-NetworkActivity/eu-west-1/2025/f.json.gz"
        ));
        for outside in [
            "secret/payroll.json.gz",
            "logs/AWSLogs/o-abc123/111122223333/CloudTrail/us-east-1/2025/f.json.gz",
            "logs/AWSLogs/o-abc123/444455556666/CloudTrail/eu-west-1/2025/f.json.gz",
            "logs/AWSLogs/o-abc123/111122223333/CloudTrail-Digest/eu-west-1/2025/f.json.gz",
            "logs/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/",
            "logs/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-10/f.json.gz",
            "logs/AWSLogs/o-abc123/111122223333/CloudTrail-/eu-west-1/f.json.gz",
            "logs/AWSLogs/o-abc123/111122223333/CloudTrail-a/b/eu-west-1/f.json.gz",
            "AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/f.json.gz",
            "",
        ] {
            assert!(!inside(outside), "{outside}");
        }
        assert_eq!(
            log_folders_of("AWSLogs/111122223333/CloudTrail/eu-west-1/"),
            None
        );
        assert_eq!(log_folders_of("CloudTrail-Digest/eu-west-1/"), None);
    }

    proptest! {
        #[test]
        fn any_bytes_as_a_key_are_judged_without_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
            let _ = unusable_key(&bytes);
            let _ = rsa_modulus_bits(&spki(&bytes));
        }

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

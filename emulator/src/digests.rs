//! CloudTrail's log file integrity proofs as a trail writes them: hourly digest files per
//! account-region, chained and signed (SHA256withRSA) with the emulator's own keys, the keys
//! served by `ListPublicKeys`, and knobs that tamper with a trail the way an intruder would.

use std::io::{self, Write};
use std::path::Path;

use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair, RSA_PKCS1_SHA256};
use serde_json::{json, Value};

use crate::records::iso8601;
use crate::trail_logs::{gzip, object_path, put_object, region_folder};

/// The signing key in use, and one that expired before any generated digest: both are served
/// by `ListPublicKeys` (for the time ranges they were valid).
const CURRENT_KEY: &[u8] = include_bytes!("../keys/digest-current.pk8");
const EXPIRED_KEY: &[u8] = include_bytes!("../keys/digest-expired.pk8");
/// Validity periods (epoch seconds): the expired key ended before the current one began.
const EXPIRED_VALID: (i64, i64) = (1_420_070_400, 1_577_836_800); // 2015-01-01 .. 2020-01-01
const CURRENT_VALID: (i64, i64) = (1_577_836_800, 4_102_444_800); // 2020-01-01 .. 2100-01-01

/// The trail whose digests are written (names appear in digest keys).
pub const TRAIL_NAME: &str = "trail";
pub const TRAIL_HOME_REGION: &str = "us-east-1";

/// Which signing key signs a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningKey {
    Current,
    Expired,
}

impl SigningKey {
    fn pair(self) -> RsaKeyPair {
        let der = match self {
            SigningKey::Current => CURRENT_KEY,
            SigningKey::Expired => EXPIRED_KEY,
        };
        RsaKeyPair::from_pkcs8(der).expect("the emulator's digest keys are valid PKCS#8")
    }

    fn validity(self) -> (i64, i64) {
        match self {
            SigningKey::Current => CURRENT_VALID,
            SigningKey::Expired => EXPIRED_VALID,
        }
    }

    /// The key's DER public key (PKCS#1 RSAPublicKey), as `ListPublicKeys` gives it.
    pub fn public_der(self) -> Vec<u8> {
        self.pair().public_key().as_ref().to_vec()
    }

    /// How the emulator names the key (AWS does not document its own computation).
    pub fn fingerprint(self) -> String {
        hex(&digest(&SHA256, &self.public_der()).as_ref()[..16])
    }

    /// SHA256withRSA over `data`, hex.
    pub fn sign(self, data: &[u8]) -> String {
        let pair = self.pair();
        let mut signature = vec![0; pair.public_modulus_len()];
        pair.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            data,
            &mut signature,
        )
        .expect("signing with a valid key");
        hex(&signature)
    }
}

/// A DER RSAPublicKey with a `bits`-bit modulus, for keys of sizes CloudTrail never uses (not a
/// real key: nothing it signs verifies).
pub fn sized_key(bits: usize) -> Vec<u8> {
    let len = bits.div_ceil(8);
    let mut modulus = vec![0xa5u8; len];
    modulus[0] = 1 << ((bits - 1) % 8);
    modulus[len - 1] |= 1;
    if modulus[0] & 0x80 != 0 {
        modulus.insert(0, 0);
    }
    let der = |tag: u8, body: &[u8]| {
        let mut out = vec![tag];
        let n = body.len();
        if n < 128 {
            out.push(n as u8);
        } else {
            out.extend([0x82, (n >> 8) as u8, n as u8]);
        }
        out.extend_from_slice(body);
        out
    };
    der(0x30, &[der(0x02, &modulus), der(0x02, &[1, 0, 1])].concat())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(digest(&SHA256, data).as_ref())
}

/// The string CloudTrail signs for a digest.
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

/// A public key served by `ListPublicKeys` besides the emulator's own.
#[derive(Debug, Clone)]
pub struct ServedKey {
    pub fingerprint: String,
    /// Served as is (base64): need not be a key at all.
    pub der: Vec<u8>,
    pub valid_from: i64,
    pub valid_to: i64,
}

/// `ListPublicKeys`: the keys valid at some time in [StartTime, EndTime] (epoch seconds in the
/// request; absent: now, i.e. the current key).
pub fn list_public_keys(params: &Value, now: i64) -> String {
    list_public_keys_with(params, now, &[])
}

/// `list_public_keys` serving `extra` keys too.
pub fn list_public_keys_with(params: &Value, now: i64, extra: &[ServedKey]) -> String {
    let start = params
        .get("StartTime")
        .and_then(Value::as_f64)
        .map_or(now, |t| t as i64);
    let end = params
        .get("EndTime")
        .and_then(Value::as_f64)
        .map_or(now, |t| t as i64);
    let own = [SigningKey::Expired, SigningKey::Current].map(|k| {
        let (valid_from, valid_to) = k.validity();
        ServedKey {
            fingerprint: k.fingerprint(),
            der: k.public_der(),
            valid_from,
            valid_to,
        }
    });
    let list: Vec<Value> = own
        .iter()
        .chain(extra)
        .filter(|k| k.valid_from <= end && start < k.valid_to)
        .map(|k| {
            json!({
                "Value": base64_simd::STANDARD.encode_to_string(&k.der),
                "ValidityStartTime": k.valid_from,
                "ValidityEndTime": k.valid_to,
                "Fingerprint": k.fingerprint,
            })
        })
        .collect();
    json!({ "PublicKeyList": list }).to_string()
}

/// Tampering with the first account-region folder of a corpus, each on its own digest hour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DigestFaults {
    /// A log file listed by the first digest rewritten after delivery.
    pub modified_log: bool,
    /// A log file listed by the first digest deleted.
    pub deleted_log: bool,
    /// The second digest's S3 signature metadata altered.
    pub bad_signature: bool,
    /// The fourth digest names a previous signature that is not the third digest's (and is
    /// signed as such: only the chain is wrong).
    pub broken_chain: bool,
    /// A backfill digest for the first hour listing a file the hourly digest left out.
    pub backfill: bool,
    /// The fifth digest signed with the key that had expired before it was written.
    pub expired_key: bool,
}

/// One planted fault: which digest reports it, and the log file concerned, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlantedFault {
    pub fault: &'static str,
    pub digest_key: String,
    pub log_key: Option<String>,
}

/// A log file as a digest lists it.
#[derive(Debug, Clone)]
pub struct DeliveredFile {
    pub key: String,
    pub delivery: i64,
    pub uncompressed_sha256: String,
    pub oldest_event: i64,
    pub newest_event: i64,
}

/// What the digests of one folder came to.
#[derive(Debug, Default)]
pub struct FolderDigests {
    pub keys: Vec<String>,
    pub planted: Vec<PlantedFault>,
}

/// The key of the digest ending at `end` (epoch seconds, on the hour).
pub fn digest_key(
    prefix: &str,
    org: Option<&str>,
    account: &str,
    region: &str,
    end: i64,
    backfill: bool,
) -> String {
    let stamp = iso8601(end).replace(['-', ':'], "");
    format!(
        "{}{}/{account}_CloudTrail-Digest_{region}_{TRAIL_NAME}_{TRAIL_HOME_REGION}_{stamp}{}.json.gz",
        region_folder(prefix, org, account, "CloudTrail-Digest", region),
        &iso8601(end)[..10].replace('-', "/"),
        if backfill { "_backfill" } else { "" }
    )
}

/// Stores `key` with user metadata, as s3s-fs serves it.
pub fn put_object_with_metadata(
    root: &Path,
    bucket: &str,
    key: &str,
    body: &[u8],
    metadata: &Value,
) -> io::Result<()> {
    put_object(root, bucket, key, body)?;
    std::fs::write(
        crate::s3::metadata_path(root, bucket, key),
        json!({ "user_metadata": metadata }).to_string(),
    )
}

/// Replaces an object's user metadata.
pub fn set_metadata(root: &Path, bucket: &str, key: &str, metadata: &Value) -> io::Result<()> {
    std::fs::write(
        crate::s3::metadata_path(root, bucket, key),
        json!({ "user_metadata": metadata }).to_string(),
    )
}

/// One digest being written.
struct DigestDraft<'a> {
    start: i64,
    end: i64,
    files: Vec<&'a DeliveredFile>,
    previous: Option<&'a (String, String, String)>,
    key: String,
    signer: SigningKey,
}

/// Writes the digest of `draft`; returns (key, signature, hash) for the next one's chain.
fn write_digest(
    root: &Path,
    bucket: &str,
    account: &str,
    draft: &DigestDraft,
    backfill_generated: Option<i64>,
    forged_previous_signature: bool,
) -> io::Result<(String, String, String)> {
    let times = |f: fn(&DeliveredFile) -> i64, newest: bool| {
        let it = draft.files.iter().map(|d| f(d));
        if newest { it.max() } else { it.min() }.map(iso8601)
    };
    let previous_signature = draft.previous.map(|p| {
        if forged_previous_signature {
            // Another value of the same form: only the chain can tell.
            let mut s = p.1.clone();
            let flipped = if s.ends_with('0') { "1" } else { "0" };
            s.replace_range(s.len() - 1.., flipped);
            s
        } else {
            p.1.clone()
        }
    });
    let end_time = iso8601(draft.end);
    let body = json!({
        "awsAccountId": account,
        "digestStartTime": iso8601(draft.start),
        "digestEndTime": end_time,
        "digestS3Bucket": bucket,
        "digestS3Object": draft.key,
        "digestPublicKeyFingerprint": draft.signer.fingerprint(),
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": times(|f| f.newest_event, true),
        "oldestEventTime": times(|f| f.oldest_event, false),
        "previousDigestS3Bucket": draft.previous.map(|_| bucket),
        "previousDigestS3Object": draft.previous.map(|p| p.0.clone()),
        "previousDigestHashValue": draft.previous.map(|p| p.2.clone()),
        "previousDigestHashAlgorithm": draft.previous.map(|_| "SHA-256"),
        "previousDigestSignature": previous_signature,
        "logFiles": draft.files.iter().map(|f| json!({
            "s3Bucket": bucket,
            "s3Object": f.key,
            "hashValue": f.uncompressed_sha256,
            "hashAlgorithm": "SHA-256",
            "newestEventTime": iso8601(f.newest_event),
            "oldestEventTime": iso8601(f.oldest_event),
        })).collect::<Vec<_>>(),
    })
    .to_string();
    let hash = sha256_hex(body.as_bytes());
    let signature = draft.signer.sign(
        signing_string(
            &end_time,
            bucket,
            &draft.key,
            &hash,
            previous_signature.as_deref(),
        )
        .as_bytes(),
    );
    let mut metadata = json!({"signature": signature, "signature-algorithm": "SHA256withRSA"});
    if let Some(at) = backfill_generated {
        metadata["backfill-generation-timestamp"] = json!(iso8601(at));
    }
    put_object_with_metadata(root, bucket, &draft.key, &gzip(body.as_bytes()), &metadata)?;
    Ok((draft.key.clone(), signature, hash))
}

/// Writes the hourly digests of one account-region folder's `files` (sorted by delivery), one
/// per hour from the first delivery's to one empty hour after the last, chained; `faults`
/// applies (`extra` is the file only a backfill digest lists, delivered in the first hour).
#[allow(clippy::too_many_arguments)]
pub fn write_folder_digests(
    root: &Path,
    bucket: &str,
    prefix: &str,
    org: Option<&str>,
    account: &str,
    region: &str,
    files: &[DeliveredFile],
    extra: Option<&DeliveredFile>,
    faults: &DigestFaults,
) -> io::Result<FolderDigests> {
    let mut out = FolderDigests::default();
    let Some(first) = files.first() else {
        return Ok(out);
    };
    let last = files.last().map_or(first.delivery, |f| f.delivery);
    let mut hour = first.delivery - first.delivery.rem_euclid(3600);
    let mut previous: Option<(String, String, String)> = None;
    let mut index = 0usize;
    let mut first_hour_key = None;
    while hour <= last + 3600 {
        let end = hour + 3600;
        let key = digest_key(prefix, org, account, region, end, false);
        let signer = if faults.expired_key && index == 4 {
            SigningKey::Expired
        } else {
            SigningKey::Current
        };
        let draft = DigestDraft {
            start: hour,
            end,
            files: files
                .iter()
                .filter(|f| f.delivery >= hour && f.delivery < end)
                .collect(),
            previous: previous.as_ref(),
            key,
            signer,
        };
        let forged = faults.broken_chain && index == 3;
        let written = write_digest(root, bucket, account, &draft, None, forged)?;
        if index == 0 {
            first_hour_key = Some(written.0.clone());
            if let Some(f) = draft.files.first().filter(|_| faults.modified_log) {
                rewrite_log_file(root, bucket, &f.key)?;
                out.planted.push(PlantedFault {
                    fault: "modified",
                    digest_key: written.0.clone(),
                    log_key: Some(f.key.clone()),
                });
            }
            if let Some(f) = draft.files.get(1).filter(|_| faults.deleted_log) {
                std::fs::remove_file(object_path(root, bucket, &f.key))?;
                out.planted.push(PlantedFault {
                    fault: "missing",
                    digest_key: written.0.clone(),
                    log_key: Some(f.key.clone()),
                });
            }
        }
        if faults.bad_signature && index == 1 {
            let mut signature = written.1.clone();
            signature.replace_range(
                ..2,
                if signature.starts_with("00") {
                    "01"
                } else {
                    "00"
                },
            );
            set_metadata(
                root,
                bucket,
                &written.0,
                &json!({"signature": signature, "signature-algorithm": "SHA256withRSA"}),
            )?;
            out.planted.push(PlantedFault {
                fault: "bad_signature",
                digest_key: written.0.clone(),
                log_key: None,
            });
        }
        if forged {
            out.planted.push(PlantedFault {
                fault: "broken_chain",
                digest_key: written.0.clone(),
                log_key: None,
            });
        }
        if signer == SigningKey::Expired {
            out.planted.push(PlantedFault {
                fault: "expired_key",
                digest_key: written.0.clone(),
                log_key: None,
            });
        }
        out.keys.push(written.0.clone());
        previous = Some(written);
        hour = end;
        index += 1;
    }
    if let (Some(extra), true) = (extra, faults.backfill) {
        let start = first.delivery - first.delivery.rem_euclid(3600);
        let key = digest_key(prefix, org, account, region, start + 3600, true);
        let draft = DigestDraft {
            start,
            end: start + 3600,
            files: vec![extra],
            previous: None,
            key,
            signer: SigningKey::Current,
        };
        let written = write_digest(root, bucket, account, &draft, Some(last + 7200), false)?;
        out.planted.push(PlantedFault {
            fault: "backfill",
            digest_key: written.0.clone(),
            log_key: first_hour_key.map(|_| extra.key.clone()),
        });
        out.keys.push(written.0);
    }
    out.keys.sort();
    Ok(out)
}

/// Rewrites a log file as an intruder would: still valid gzip JSON, one event changed.
fn rewrite_log_file(root: &Path, bucket: &str, key: &str) -> io::Result<()> {
    let path = object_path(root, bucket, key);
    let mut text = String::new();
    io::Read::read_to_string(
        &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(&path)?),
        &mut text,
    )?;
    let edited = text.replacen("\"eventName\":\"", "\"eventName\":\"X", 1);
    let mut f = std::fs::File::create(&path)?;
    f.write_all(&gzip(edited.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};

    #[test]
    fn digests_verify_with_the_listed_key_and_only_that_one() {
        let data = b"2025-11-24T17:00:00Z\nb/k\nabc\nnull";
        let signature = SigningKey::Current.sign(data);
        let bytes: Vec<u8> = (0..signature.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&signature[i..i + 2], 16).unwrap())
            .collect();
        let current = UnparsedPublicKey::new(
            &RSA_PKCS1_2048_8192_SHA256,
            SigningKey::Current.public_der(),
        );
        assert!(current.verify(data, &bytes).is_ok());
        let expired = UnparsedPublicKey::new(
            &RSA_PKCS1_2048_8192_SHA256,
            SigningKey::Expired.public_der(),
        );
        assert!(expired.verify(data, &bytes).is_err());
        assert_ne!(
            SigningKey::Current.fingerprint(),
            SigningKey::Expired.fingerprint()
        );
        let listed: Value =
            serde_json::from_str(&list_public_keys(&json!({}), 1_764_000_000)).unwrap();
        assert_eq!(listed["PublicKeyList"].as_array().unwrap().len(), 1);
        let both: Value = serde_json::from_str(&list_public_keys(
            &json!({"StartTime": 1_500_000_000, "EndTime": 1_764_000_000}),
            1_764_000_000,
        ))
        .unwrap();
        assert_eq!(both["PublicKeyList"].as_array().unwrap().len(), 2);
    }
}

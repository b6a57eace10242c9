//! CloudTrail log files as a trail delivers them to S3: keys in the real layout, gzipped
//! `{"Records":[…]}` bodies of management and data events (some near the 256 KB record limit),
//! with digest and Insights files beside them, written into a directory that an S3-compatible
//! file server (s3s-fs) serves as buckets.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Value};

use crate::digests::{sha256_hex, write_folder_digests, DeliveredFile, DigestFaults, PlantedFault};
use crate::kinds::{kind_file, Kind};
use crate::records::{iso8601, management_event_of, utc, Rng};

/// What to generate.
#[derive(Debug, Clone)]
pub struct CorpusSpec {
    pub bucket: String,
    /// The trail's key prefix before `AWSLogs/`, without slashes at either end ("" for none).
    pub prefix: String,
    /// Set for an organization trail: keys then go under `AWSLogs/<org>/`.
    pub organization_id: Option<String>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// Epoch second of the first delivery.
    pub start: i64,
    pub files_per_prefix: usize,
    /// Average events per file; each file holds between half and one and a half times this.
    pub events_per_file: usize,
    /// Seconds between two deliveries of one account-region (CloudTrail: about 5 minutes).
    pub delivery_interval_secs: i64,
    /// Share of records made large (10–250 KB), like policy documents and batch calls.
    pub large_fraction: f64,
    /// Also write digest and Insights files, which are not event files.
    pub digests_and_insights: bool,
    /// Write real digests (hourly, chained, signed) instead of a placeholder digest file.
    pub digests: bool,
    /// Tampering applied to the first account-region folder (with `digests`).
    pub digest_faults: DigestFaults,
    /// Files per account-region of each other kind: network activity, Insights, aggregated
    /// (named `_CloudTrail_` in some folders, `_CloudTrail-<Kind>_` in the others: one form per
    /// folder, as a trail writes them); with them, no placeholder Insights file.
    pub kind_files_per_prefix: usize,
    pub seed: u64,
}

impl Default for CorpusSpec {
    fn default() -> Self {
        CorpusSpec {
            bucket: "trail-logs".into(),
            prefix: String::new(),
            organization_id: None,
            accounts: vec!["111122223333".into()],
            regions: vec!["us-east-1".into()],
            start: 1_764_000_000,
            files_per_prefix: 10,
            events_per_file: 20,
            delivery_interval_secs: 300,
            large_fraction: 0.002,
            digests_and_insights: true,
            digests: false,
            digest_faults: DigestFaults::default(),
            kind_files_per_prefix: 0,
            seed: 1,
        }
    }
}

/// One generated event file.
#[derive(Debug, Clone)]
pub struct LogFile {
    pub key: String,
    /// The gzipped body, as stored in S3.
    pub body: Vec<u8>,
    pub event_ids: Vec<String>,
    pub uncompressed_len: usize,
    /// What a digest lists of it.
    pub delivered: DeliveredFile,
}

/// What `write_corpus` wrote.
#[derive(Debug, Default)]
pub struct CorpusSummary {
    pub event_files: usize,
    pub other_files: usize,
    pub events: usize,
    pub uncompressed_bytes: u64,
    pub compressed_bytes: u64,
    /// Every event file's key with its events, in key order per account-region.
    pub files: Vec<(String, Vec<String>)>,
    /// Every Insights and aggregated events file's key with its events (network activity files
    /// are in `files`: trail_events reads them).
    pub insight_files: Vec<(String, Vec<String>)>,
    pub aggregated_files: Vec<(String, Vec<String>)>,
    /// Every digest file's key (with `digests`), and the faults planted.
    pub digests: Vec<String>,
    pub planted: Vec<PlantedFault>,
}

/// `[<prefix>/]AWSLogs/[<org>/]<account>/<kind>/<region>/` — the folder of one account-region.
pub fn region_folder(
    prefix: &str,
    org: Option<&str>,
    account: &str,
    kind: &str,
    region: &str,
) -> String {
    let mut folder = String::new();
    if !prefix.is_empty() {
        folder.push_str(prefix);
        folder.push('/');
    }
    folder.push_str("AWSLogs/");
    if let Some(org) = org {
        folder.push_str(org);
        folder.push('/');
    }
    folder.push_str(&format!("{account}/{kind}/{region}/"));
    folder
}

/// The key CloudTrail gives a log file delivered at `delivery` (epoch seconds).
pub fn log_file_key(
    rng: &mut Rng,
    prefix: &str,
    org: Option<&str>,
    account: &str,
    region: &str,
    delivery: i64,
) -> String {
    let (folder, day) = key_dates(delivery);
    let t = utc(delivery);
    let suffix: String = (0..16)
        .map(|_| {
            *rng.pick(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") as char
        })
        .collect();
    format!(
        "{}{folder}/{account}_CloudTrail_{region}_{day}T{:02}{:02}Z_{suffix}.json.gz",
        region_folder(prefix, org, account, "CloudTrail", region),
        t.hour(),
        t.minute()
    )
}

/// The UTC day of `epoch_secs` as CloudTrail keys write it twice: the folder `YYYY/MM/DD` and
/// the `YYYYMMDD` of the file name.
fn key_dates(epoch_secs: i64) -> (String, String) {
    let t = utc(epoch_secs);
    let (y, m, d) = (t.year(), u8::from(t.month()), t.day());
    (
        format!("{y:04}/{m:02}/{d:02}"),
        format!("{y:04}{m:02}{d:02}"),
    )
}

/// (eventSource, eventName, readOnly) of common data events.
const DATA_CALLS: &[(&str, &str, bool)] = &[
    ("s3.amazonaws.com", "GetObject", true),
    ("s3.amazonaws.com", "PutObject", false),
    ("s3.amazonaws.com", "HeadObject", true),
    ("lambda.amazonaws.com", "Invoke", false),
    ("dynamodb.amazonaws.com", "GetItem", true),
    ("dynamodb.amazonaws.com", "PutItem", false),
];

/// One CloudTrail record as a trail writes it: a management event, a data event, or now and
/// then a large one.
pub fn trail_record(
    rng: &mut Rng,
    account: &str,
    region: &str,
    event_time: i64,
    large_fraction: f64,
) -> (String, String) {
    let event = management_event_of(rng, account, region, event_time);
    let mut record: Value = match serde_json::from_str(&event.cloudtrail_event) {
        Ok(v) => v,
        Err(_) => return (event.event_id, event.cloudtrail_event),
    };
    if rng.below(10) < 4 {
        data_event(rng, &mut record, account, region);
    }
    if rng.unit() < large_fraction {
        // A policy document or batch request: one big string, as CloudTrail logs them.
        let size = 10_000 + rng.below(240_000) as usize;
        let statement = r#"{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\",\"s3:ListBucket\"],\"Resource\":\"arn:aws:s3:::bucket/*\"},"#;
        let mut doc = String::with_capacity(size + statement.len());
        while doc.len() < size {
            doc.push_str(statement);
        }
        record["requestParameters"] = json!({"policyName": "generated", "policyDocument": doc});
    }
    (event.event_id, record.to_string())
}

fn data_event(rng: &mut Rng, record: &mut Value, account: &str, region: &str) {
    let (source, name, read_only) = *rng.pick(DATA_CALLS);
    let object = format!(
        "lake/table={}/part-{:05}.parquet",
        rng.below(40),
        rng.below(100_000)
    );
    let bucket = format!("data-{account}-{region}");
    let (params, resources) = match source {
        "s3.amazonaws.com" => (
            json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com"), "key": object}),
            json!([
                {"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{bucket}/{object}")},
                {"accountId": account, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")}
            ]),
        ),
        "lambda.amazonaws.com" => {
            let function = format!(
                "arn:aws:lambda:{region}:{account}:function:worker-{}",
                rng.below(20)
            );
            (
                json!({"functionName": function, "invocationType": "Event"}),
                json!([{"accountId": account, "type": "AWS::Lambda::Function", "ARN": function}]),
            )
        }
        _ => {
            let table = format!("arn:aws:dynamodb:{region}:{account}:table/orders");
            (
                json!({"tableName": "orders", "key": {"pk": format!("order#{}", rng.below(1_000_000))}, "consistentRead": rng.below(2) == 0}),
                json!([{"accountId": account, "type": "AWS::DynamoDB::Table", "ARN": table}]),
            )
        }
    };
    record["eventVersion"] = json!("1.10");
    record["eventSource"] = json!(source);
    record["eventName"] = json!(name);
    record["readOnly"] = json!(read_only);
    record["requestParameters"] = params;
    record["responseElements"] = Value::Null;
    record["additionalEventData"] = json!({
        "SignatureVersion": "SigV4",
        "CipherSuite": "TLS_AES_128_GCM_SHA256",
        "bytesTransferredIn": if read_only { 0 } else { rng.below(1 << 24) },
        "bytesTransferredOut": if read_only { rng.below(1 << 24) } else { 0 },
        "AuthenticationMethod": "AuthHeader"
    });
    record["resources"] = resources;
    record["managementEvent"] = json!(false);
    record["eventCategory"] = json!("Data");
    record["eventType"] = json!("AwsApiCall");
}

/// Gzips `data` as CloudTrail does (one gzip member).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 6), Compression::new(6));
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

/// One event file of `account`/`region` delivered at `delivery`, holding `events` records of
/// the 15 minutes before it, in no particular order.
#[allow(clippy::too_many_arguments)]
pub fn log_file(
    rng: &mut Rng,
    prefix: &str,
    org: Option<&str>,
    account: &str,
    region: &str,
    delivery: i64,
    events: usize,
    large_fraction: f64,
) -> LogFile {
    let key = log_file_key(rng, prefix, org, account, region, delivery);
    records_file(rng, key, delivery, events, |rng, time| {
        trail_record(rng, account, region, time, large_fraction)
    })
}

/// The file at `key`, delivered at `delivery`, of `events` records of the 15 minutes before
/// it, each made by `record` for its time as (id, JSON text).
pub fn records_file(
    rng: &mut Rng,
    key: String,
    delivery: i64,
    events: usize,
    mut record: impl FnMut(&mut Rng, i64) -> (String, String),
) -> LogFile {
    let mut text = String::from("{\"Records\":[");
    let mut event_ids = Vec::with_capacity(events);
    let (mut oldest, mut newest) = (delivery, delivery - 900);
    for i in 0..events {
        let time = delivery - 30 - rng.below(900) as i64;
        oldest = oldest.min(time);
        newest = newest.max(time);
        let (id, text_of) = record(rng, time);
        if i > 0 {
            text.push(',');
        }
        text.push_str(&text_of);
        event_ids.push(id);
    }
    text.push_str("]}");
    LogFile {
        delivered: DeliveredFile {
            key: key.clone(),
            delivery,
            uncompressed_sha256: sha256_hex(text.as_bytes()),
            oldest_event: oldest,
            newest_event: newest,
        },
        key,
        body: gzip(text.as_bytes()),
        event_ids,
        uncompressed_len: text.len(),
    }
}

/// Where s3s-fs keeps `key` of `bucket` under its root directory.
pub fn object_path(root: &Path, bucket: &str, key: &str) -> PathBuf {
    root.join(bucket).join(key)
}

/// Stores an object the way s3s-fs serves it: a file at its key. A log or digest file lands as
/// CloudTrail delivers it, on time: its `LastModified` (the file's modification time, which
/// both S3 servers serve) is the time in its name plus half a minute.
pub fn put_object(root: &Path, bucket: &str, key: &str, body: &[u8]) -> io::Result<()> {
    put_object_landed(root, bucket, key, body, named_time(key).map(|t| t + 30))
}

/// Stores an object that landed at `landed` (epoch seconds; `None`: now), as S3 gives it in
/// `LastModified`: a test lands a file minutes or days late without waiting.
pub fn put_object_landed(
    root: &Path,
    bucket: &str,
    key: &str,
    body: &[u8],
    landed: Option<i64>,
) -> io::Result<()> {
    let path = object_path(root, bucket, key);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, body)?;
    match landed {
        Some(t) => set_landed(root, bucket, key, t),
        None => Ok(()),
    }
}

/// Sets when an object landed (its `LastModified`).
pub fn set_landed(root: &Path, bucket: &str, key: &str, landed: i64) -> io::Result<()> {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(landed.max(0) as u64);
    std::fs::File::options()
        .write(true)
        .open(object_path(root, bucket, key))?
        .set_modified(time)
}

/// The delivery time in a log or digest file's name (`…_YYYYMMDDTHHmm[SS]Z[_…].json.gz`).
pub fn named_time(key: &str) -> Option<i64> {
    let name = key.rsplit('/').next()?;
    let stamp = name
        .trim_end_matches(".json.gz")
        .split('_')
        .rev()
        .find(|p| {
            (p.len() == 14 || p.len() == 16)
                && p.as_bytes()[8] == b'T'
                && p.ends_with('Z')
                && p[..8].bytes().all(|b| b.is_ascii_digit())
                && p[9..p.len() - 1].bytes().all(|b| b.is_ascii_digit())
        })?;
    let n = |r: std::ops::Range<usize>| stamp[r].parse::<u32>().ok();
    let month = time::Month::try_from(n(4..6)? as u8).ok()?;
    let date = time::Date::from_calendar_date(n(0..4)? as i32, month, n(6..8)? as u8).ok()?;
    let seconds = if stamp.len() == 16 { n(13..15)? } else { 0 };
    let at = time::Time::from_hms(n(9..11)? as u8, n(11..13)? as u8, seconds as u8).ok()?;
    Some(time::UtcDateTime::new(date, at).unix_timestamp())
}

/// Writes the whole corpus of `spec` under `root/<bucket>/`.
pub fn write_corpus(root: &Path, spec: &CorpusSpec) -> io::Result<CorpusSummary> {
    let mut rng = Rng::new(spec.seed);
    let mut summary = CorpusSummary::default();
    std::fs::create_dir_all(root.join(&spec.bucket))?;
    let org = spec.organization_id.as_deref();
    for (a, account) in spec.accounts.iter().enumerate() {
        for (r, region) in spec.regions.iter().enumerate() {
            let first_folder = r == 0 && account == &spec.accounts[0];
            let mut delivered = Vec::with_capacity(spec.files_per_prefix);
            for n in 0..spec.files_per_prefix {
                let delivery =
                    spec.start + n as i64 * spec.delivery_interval_secs + rng.below(60) as i64;
                let half = spec.events_per_file / 2;
                let events = half + rng.below(spec.events_per_file as u64 + 1) as usize;
                let file = log_file(
                    &mut rng,
                    &spec.prefix,
                    org,
                    account,
                    region,
                    delivery,
                    events,
                    spec.large_fraction,
                );
                delivered.push(file.delivered.clone());
                summary.add(root, &spec.bucket, file)?;
            }
            for (k, kind) in Kind::ALL.into_iter().enumerate() {
                let kind_token = (a + r + k) % 2 == 1;
                for n in 0..spec.kind_files_per_prefix {
                    let delivery =
                        spec.start + n as i64 * spec.delivery_interval_secs + rng.below(60) as i64;
                    let events = 1 + rng.below(spec.events_per_file as u64 + 1) as usize;
                    let file = kind_file(
                        &mut rng,
                        &spec.prefix,
                        org,
                        account,
                        region,
                        kind,
                        kind_token,
                        delivery,
                        events,
                    );
                    match kind {
                        Kind::NetworkActivity => summary.add(root, &spec.bucket, file)?,
                        Kind::Insight | Kind::Aggregated => {
                            put_object(root, &spec.bucket, &file.key, &file.body)?;
                            let list = if kind == Kind::Insight {
                                &mut summary.insight_files
                            } else {
                                &mut summary.aggregated_files
                            };
                            list.push((file.key, file.event_ids));
                        }
                    }
                }
            }
            if spec.digests {
                let faults = if first_folder {
                    spec.digest_faults.clone()
                } else {
                    DigestFaults::default()
                };
                // The file only a backfill digest lists: delivered in the first hour.
                let extra = match (faults.backfill, delivered.first()) {
                    (true, Some(first)) => {
                        let file = log_file(
                            &mut rng,
                            &spec.prefix,
                            org,
                            account,
                            region,
                            first.delivery,
                            spec.events_per_file.max(1),
                            0.0,
                        );
                        let extra = file.delivered.clone();
                        summary.add(root, &spec.bucket, file)?;
                        Some(extra)
                    }
                    _ => None,
                };
                let written = write_folder_digests(
                    root,
                    &spec.bucket,
                    &spec.prefix,
                    org,
                    account,
                    region,
                    &delivered,
                    extra.as_ref(),
                    &faults,
                )?;
                summary.other_files += written.keys.len();
                summary.digests.extend(written.keys);
                summary.planted.extend(written.planted);
            }
            if spec.digests_and_insights {
                for (key, body) in side_files(&mut rng, spec, account, region) {
                    put_object(root, &spec.bucket, &key, &body)?;
                    summary.other_files += 1;
                }
            }
        }
    }
    Ok(summary)
}

impl CorpusSummary {
    /// Stores an event file and counts it.
    fn add(&mut self, root: &Path, bucket: &str, file: LogFile) -> io::Result<()> {
        put_object(root, bucket, &file.key, &file.body)?;
        self.event_files += 1;
        self.events += file.event_ids.len();
        self.uncompressed_bytes += file.uncompressed_len as u64;
        self.compressed_bytes += file.body.len() as u64;
        self.files.push((file.key, file.event_ids));
        Ok(())
    }
}

/// A digest file and an Insights file of one account-region: delivered beside the event files,
/// never events themselves.
fn side_files(
    rng: &mut Rng,
    spec: &CorpusSpec,
    account: &str,
    region: &str,
) -> Vec<(String, Vec<u8>)> {
    let org = spec.organization_id.as_deref();
    let (date, day) = key_dates(spec.start);
    let digest_key = format!(
        "{}{date}/{account}_CloudTrail-Digest_{region}_trail_{region}_{day}T010000Z.json.gz",
        region_folder(&spec.prefix, org, account, "CloudTrail-Digest", region)
    );
    let digest = json!({
        "awsAccountId": account,
        "digestStartTime": iso8601(spec.start),
        "digestEndTime": iso8601(spec.start + 3600),
        "digestS3Bucket": spec.bucket,
        "digestSignatureAlgorithm": "SHA256withRSA",
        "logFiles": [{"s3Bucket": spec.bucket, "s3Object": "x", "hashValue": "00", "hashAlgorithm": "SHA-256"}]
    });
    let insight_key = format!(
        "{}{date}/{account}_CloudTrail-Insight_{region}_{day}T0000Z_{:016x}.json.gz",
        region_folder(&spec.prefix, org, account, "CloudTrail-Insight", region),
        rng.next_u64()
    );
    let insight = json!({"Records": [{"eventVersion": "1.08", "eventType": "AwsCloudTrailInsight",
        "eventID": rng.uuid(), "eventCategory": "Insight", "awsRegion": region}]});
    let mut files = Vec::new();
    if spec.kind_files_per_prefix == 0 {
        files.push((insight_key, gzip(insight.to_string().as_bytes())));
    }
    if !spec.digests {
        files.push((digest_key, gzip(digest.to_string().as_bytes())));
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn log_files_are_gzipped_records_under_the_real_key_layout() {
        let mut rng = Rng::new(3);
        let file = log_file(
            &mut rng,
            "team",
            Some("o-abc123"),
            "111122223333",
            "eu-west-1",
            1_764_000_000,
            30,
            0.1,
        );
        assert!(file.key.starts_with(
            "team/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2025/11/24/111122223333_CloudTrail_eu-west-1_20251124T1600Z_"
        ), "{}", file.key);
        assert!(file.key.ends_with(".json.gz"));
        let mut text = String::new();
        flate2::read::GzDecoder::new(&file.body[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text.len(), file.uncompressed_len);
        let v: Value = serde_json::from_str(&text).unwrap();
        let ids: Vec<&str> = v["Records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["eventID"].as_str().unwrap())
            .collect();
        assert_eq!(ids, file.event_ids);
        assert!(v["Records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["eventCategory"] == "Data"));
    }
}

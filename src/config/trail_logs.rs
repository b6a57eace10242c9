//! The `trail_logs` object: where a trail delivers its log files and how to read them, as users
//! write it (`RawTrailLogs`, part of the spec) and validated (`TrailLogs`).

use schemars::JsonSchema;
use serde::Deserialize;

use super::endpoint::endpoint_url;
use super::fields::{credential_source, is_region_name, present, role, Minutes};
use super::secret::Secret;
use super::{CredentialSource, Role};
use crate::error::Error;
use crate::time;

/// Every key read within the lookback of a sync's start is kept in the state, so the state of a
/// busy folder grows with it: a week at most.
pub const LATE_FILE_LOOKBACK: Minutes = Minutes {
    field: "trail_logs.late_file_lookback_minutes",
    default: 30,
    min: 0,
    max: 10_080,
    max_in_words: "7 days",
};

/// How late after the time in its name a file may land in S3 and still be read by a late-file
/// sweep: a sweep lists this much of every folder (about 3 LISTs a folder at 7 days).
pub const LATE_FILE_HORIZON: Minutes = Minutes {
    field: "trail_logs.late_file_horizon_days",
    default: 7,
    min: 1,
    max: 90,
    max_in_words: "90 days",
};

/// How often a sync sweeps the horizon for files that landed late (0: every sync).
pub const LATE_FILE_SWEEP: Minutes = Minutes {
    field: "trail_logs.late_file_sweep_minutes",
    default: 1440,
    min: 0,
    max: 131_400,
    max_in_words: "about 3 months",
};

/// Where a trail delivers its log files, and how to read them.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(extend("additionalProperties" = true))]
pub struct RawTrailLogs {
    /// The trail's S3 bucket. Required unless `trail` is set.
    #[schemars(title = "Bucket", extend("order" = 0, "examples" = ["aws-cloudtrail-logs-123456789012-1a2b3c4d"]))]
    pub bucket: Option<String>,

    /// The trail, by name or ARN: without `bucket`, its bucket and prefix are found with
    /// DescribeTrails (an ARN is looked up in its home region; a name in `aws_region_name`,
    /// where multi-region and organization trails are visible too).
    #[schemars(title = "Trail", extend("order" = 20, "examples" = ["arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail"]))]
    pub trail: Option<String>,

    /// The trail's S3 key prefix, the part before `AWSLogs/` (empty when the trail has none).
    #[schemars(title = "Key Prefix", extend("order" = 1, "examples" = ["security/cloudtrail"]))]
    pub prefix: Option<String>,

    /// Read only these organizations' folders (`AWSLogs/o-…/`) of an organization trail.
    /// Default: every organization and every plain account folder found.
    #[schemars(title = "Organization IDs", extend("order" = 2, "examples" = [["o-a1b2c3d4e5"]]))]
    pub organization_ids: Option<Vec<String>>,

    /// Read only these accounts (12 digits). Default: every account found.
    #[schemars(title = "Accounts", extend("order" = 3, "examples" = [["123456789012"]]))]
    pub accounts: Option<Vec<String>>,

    /// Read only these regions. Default: every region found.
    #[schemars(title = "Regions", extend("order" = 4, "examples" = [["us-east-1", "eu-west-1"]]))]
    pub regions: Option<Vec<String>>,

    /// UTC date (YYYY-MM-DD) of the first log files to read (by delivery date). Default:
    /// everything in the bucket.
    #[schemars(title = "Start Date", regex(pattern = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$"), extend("order" = 5, "examples" = ["2024-01-01"]))]
    pub start_date: Option<String>,

    /// The bucket's region (default: `aws_region_name`).
    #[schemars(title = "Bucket Region", extend("order" = 6, "examples" = ["us-east-1"]))]
    pub bucket_region: Option<String>,

    /// Custom S3 endpoint (VPC endpoint, S3-compatible storage). AWS_ENDPOINT_URL_S3 is honoured
    /// too. A custom endpoint is addressed path-style.
    #[schemars(title = "S3 Endpoint URL", extend("order" = 7))]
    pub endpoint_url: Option<String>,

    /// Access key id for the bucket, often in a separate log-archive account. Default: the
    /// credentials above. Spaces and line breaks around the value are ignored.
    #[schemars(title = "Key ID", extend("airbyte_secret" = true, "order" = 8))]
    pub aws_key_id: Option<Secret>,

    /// Secret access key of `trail_logs.aws_key_id`. Spaces and line breaks around the value are ignored.
    #[schemars(title = "Secret Key", extend("airbyte_secret" = true, "order" = 9))]
    pub aws_secret_key: Option<Secret>,

    /// Session token, for temporary credentials. Spaces and line breaks around the value are ignored.
    #[schemars(title = "Session Token", extend("airbyte_secret" = true, "order" = 10))]
    pub aws_session_token: Option<Secret>,

    /// ARN of a role to assume for the bucket, on top of these keys or, without them, of the
    /// credentials above. Spaces and line breaks around the value are ignored.
    #[schemars(title = "Role ARN", extend("order" = 11, "examples" = ["arn:aws:iam::210987654321:role/log-archive-reader"]))]
    pub role_arn: Option<String>,

    /// External id required by that role's trust policy, if any. Spaces and line breaks around the value are ignored.
    #[schemars(title = "Role External ID", extend("airbyte_secret" = true, "order" = 12))]
    pub role_external_id: Option<Secret>,

    /// How long after the delivery time in its name a log file may land in S3 and be read by
    /// the next sync. Each account-region keeps in the state the keys read within this window
    /// of the last sync's start (the connector's clock); an idle one only its last key. A file
    /// that lands later (by its S3 LastModified) is read by the next late-file sweep.
    #[schemars(title = "Late File Lookback (minutes)", range(min = 0, max = LATE_FILE_LOOKBACK.max), extend("default" = LATE_FILE_LOOKBACK.default, "order" = 13))]
    pub late_file_lookback_minutes: Option<i64>,

    /// Files landing in S3 up to this many days after the time in their name are read exactly
    /// once: those later than `late_file_lookback_minutes` by the late-file sweep, which lists
    /// this many days of every account-region folder (about 3 LISTs each at 7 days). A file
    /// landing later still is read only if a sweep happens to list it.
    #[schemars(title = "Late File Horizon (days)", range(min = LATE_FILE_HORIZON.min, max = LATE_FILE_HORIZON.max), extend("default" = LATE_FILE_HORIZON.default, "order" = 22))]
    pub late_file_horizon_days: Option<i64>,

    /// A sync sweeps for late files when this many minutes (by S3's clock) have passed since
    /// the previous sweep; 0: every sync sweeps. The sweep reads every file that landed (S3
    /// LastModified) since the previous sweep more than `late_file_lookback_minutes` after the
    /// time in its name.
    #[schemars(title = "Late File Sweep Interval (minutes)", range(min = LATE_FILE_SWEEP.min, max = LATE_FILE_SWEEP.max), extend("default" = LATE_FILE_SWEEP.default, "order" = 23))]
    pub late_file_sweep_minutes: Option<i64>,

    /// `trail_events` writes only events of these services (`eventSource`). Decided as each
    /// record is scanned: filtered events cost little. Files already read are not read again
    /// when a filter changes.
    #[schemars(title = "Event Sources", extend("order" = 14, "examples" = [["s3.amazonaws.com", "iam.amazonaws.com"]]))]
    pub event_sources: Option<Vec<String>>,

    /// `trail_events` leaves out events of these services (`eventSource`).
    #[schemars(title = "Excluded Event Sources", extend("order" = 15, "examples" = [["kms.amazonaws.com"]]))]
    pub exclude_event_sources: Option<Vec<String>>,

    /// `trail_events` writes only events of these API calls (`eventName`).
    #[schemars(title = "Event Names", extend("order" = 16, "examples" = [["ConsoleLogin", "CreateAccessKey"]]))]
    pub event_names: Option<Vec<String>>,

    /// `trail_events` leaves out events of these API calls (`eventName`).
    #[schemars(title = "Excluded Event Names", extend("order" = 17, "examples" = [["Decrypt", "GenerateDataKey"]]))]
    pub exclude_event_names: Option<Vec<String>>,

    /// `trail_events` leaves out read-only events (`readOnly: true`).
    #[schemars(title = "Exclude Read-Only Events", extend("default" = false, "order" = 18))]
    pub exclude_read_only: Option<bool>,

    /// `trail_events` writes only events of these categories (`eventCategory`; a record without
    /// one is a management event). Default: all three.
    #[schemars(title = "Event Categories", extend("order" = 19))]
    pub event_categories: Option<Vec<EventCategory>>,

    /// The bucket is a Requester Pays bucket: every S3 request says that the reader pays for it
    /// (`x-amz-request-payer: requester`), without which S3 denies them.
    #[schemars(title = "Requester Pays", extend("default" = false, "order" = 21))]
    pub requester_pays: Option<bool>,
}

/// An event category `trail_events` carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum EventCategory {
    Management,
    Data,
    NetworkActivity,
}

impl EventCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            EventCategory::Management => "Management",
            EventCategory::Data => "Data",
            EventCategory::NetworkActivity => "NetworkActivity",
        }
    }
}

/// Which events `trail_events` writes (every list empty: all).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub sources: Option<Vec<String>>,
    pub exclude_sources: Vec<String>,
    pub names: Option<Vec<String>>,
    pub exclude_names: Vec<String>,
    pub exclude_read_only: bool,
    pub categories: Option<Vec<EventCategory>>,
}

impl EventFilter {
    pub fn is_empty(&self) -> bool {
        *self == EventFilter::default()
    }
}

/// The validated `trail_logs`.
#[derive(Debug, Clone)]
pub struct TrailLogs {
    /// Empty until found from `trail`.
    pub bucket: String,
    /// The trail named in the config, by name or ARN.
    pub trail: Option<String>,
    /// Whether `bucket_region` was given (else a trail's home region is a better guess).
    pub bucket_region_given: bool,
    /// Without slashes at either end; "" for none.
    pub prefix: String,
    pub organization_ids: Option<Vec<String>>,
    pub accounts: Option<Vec<String>>,
    pub regions: Option<Vec<String>>,
    /// `YYYY/MM/DD` of `start_date`, as day folders are named.
    pub start_day: Option<String>,
    pub bucket_region: String,
    pub endpoint_url: Option<String>,
    /// Own keys, else the top-level credentials.
    pub credentials: Option<CredentialSource>,
    /// The role to assume for the bucket: its own, else (without own keys) the top-level one.
    pub role: Option<Role>,
    pub lookback_secs: i64,
    /// `late_file_horizon_days`, in seconds.
    pub horizon_secs: i64,
    /// `late_file_sweep_minutes`, in seconds.
    pub sweep_every_secs: i64,
    /// What `trail_events` writes of what it reads.
    pub events: EventFilter,
    /// Every S3 request says that the reader pays (`x-amz-request-payer: requester`).
    pub requester_pays: bool,
}

impl TrailLogs {
    /// `[<prefix>/]AWSLogs/`, where every account or organization folder starts.
    pub fn root(&self) -> String {
        if self.prefix.is_empty() {
            "AWSLogs/".to_string()
        } else {
            format!("{}/AWSLogs/", self.prefix)
        }
    }
}

/// A filter list: blanks dropped, each entry checked; `None` when empty (no filter).
fn filter_list(
    field: &str,
    items: Option<Vec<String>>,
    valid: fn(&str) -> bool,
    like: &str,
) -> Result<Option<Vec<String>>, Error> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for item in items.unwrap_or_default() {
        let item = item.trim().to_string();
        if item.is_empty() || !seen.insert(item.clone()) {
            continue;
        }
        if !valid(&item) {
            return Err(Error::config(format!(
                "trail_logs.{field}: '{item}' is not {like}"
            )));
        }
        out.push(item);
    }
    Ok((!out.is_empty()).then_some(out))
}

/// What `is_bucket_name` accepts, for messages.
pub const BUCKET_NAME_RULE: &str = "an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens; a bucket created in us-east-1 before March 2018 may also have upper-case letters and underscores, up to 255), without s3:// or a path";

/// A bucket name S3 has or had: today's rules, or the legacy ones of us-east-1 buckets created
/// before March 2018 (upper case, underscores, up to 255 characters), which CloudTrail still
/// delivers to and the SDK addresses path-style. The one rule for a configured bucket and for
/// the bucket DescribeTrails gives for `trail`: first and last characters a letter or digit, no
/// `..` (a path segment of its own once addressed path-style).
pub fn is_bucket_name(b: &str) -> bool {
    let edge = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    (3..=255).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
        && edge(b.bytes().next())
        && edge(b.bytes().last())
        && !b.contains("..")
}

fn is_account_id(a: &str) -> bool {
    a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())
}

fn is_organization_id(o: &str) -> bool {
    o.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// `raw` checked; the bucket's region, credentials and role default to the top-level ones.
pub(super) fn validate(
    raw: RawTrailLogs,
    home_region: &str,
    top_role: Option<&Role>,
) -> Result<TrailLogs, Error> {
    let trail = present(raw.trail).map(|t| t.trim().to_string());
    if let Some(t) = &trail {
        if !is_trail(t) {
            return Err(Error::config(format!(
                "trail_logs.trail must be a trail name (3 to 128 letters, digits, '.', '_' or '-') or a trail ARN (arn:aws:cloudtrail:<region>:<account>:trail/<name>), got '{t}'"
            )));
        }
    }
    let bucket = match (present(raw.bucket), &trail) {
        (Some(b), _) => b.trim().to_string(),
        (None, Some(_)) => String::new(),
        (None, None) => {
            return Err(Error::config(
                "trail_logs needs bucket (the trail's S3 bucket) or trail (its name or ARN)",
            ))
        }
    };
    if !bucket.is_empty() && !is_bucket_name(&bucket) {
        return Err(Error::config(format!(
            "trail_logs.bucket must be {BUCKET_NAME_RULE}, got '{}'",
            bucket.escape_default()
        )));
    }
    let prefix = present(raw.prefix)
        .map(|p| p.trim_matches('/').to_string())
        .unwrap_or_default();
    if prefix.ends_with("AWSLogs") || prefix.contains("/AWSLogs/") {
        return Err(Error::config(format!(
            "trail_logs.prefix is the part before AWSLogs/ (the trail's S3 key prefix), got '{prefix}'"
        )));
    }
    let start_day = match present(raw.start_date) {
        Some(d) if time::parse_date(&d).is_some() => Some(d.replace('-', "/")),
        Some(d) => {
            return Err(Error::config(format!(
                "trail_logs.start_date must be a real date written YYYY-MM-DD, got '{d}'"
            )))
        }
        None => None,
    };
    let bucket_region_given = raw
        .bucket_region
        .as_deref()
        .is_some_and(|r| !r.trim().is_empty());
    let bucket_region = match present(raw.bucket_region) {
        Some(r) if !is_region_name(&r) => {
            return Err(Error::config(format!(
                "trail_logs.bucket_region '{r}' is not an AWS region name (like us-east-1)"
            )))
        }
        Some(r) => r,
        None => home_region.to_string(),
    };
    let lookback_secs = LATE_FILE_LOOKBACK.seconds(raw.late_file_lookback_minutes)?;
    let horizon_secs = LATE_FILE_HORIZON.seconds(raw.late_file_horizon_days)? * 24 * 60;
    let sweep_every_secs = LATE_FILE_SWEEP.seconds(raw.late_file_sweep_minutes)?;
    let credentials = credential_source(
        "trail_logs.",
        raw.aws_key_id,
        raw.aws_secret_key,
        raw.aws_session_token,
    )?;
    let own_role = role("trail_logs.", raw.role_arn, raw.role_external_id, None)?;
    let role = match (&credentials, own_role) {
        (_, Some(r)) => Some(r),
        (None, None) => top_role.cloned(),
        (Some(_), None) => None,
    };
    Ok(TrailLogs {
        bucket,
        trail,
        bucket_region_given,
        prefix,
        organization_ids: filter_list(
            "organization_ids",
            raw.organization_ids,
            is_organization_id,
            "an organization id like o-a1b2c3d4e5",
        )?,
        accounts: filter_list(
            "accounts",
            raw.accounts,
            is_account_id,
            "a 12-digit account id",
        )?,
        regions: filter_list(
            "regions",
            raw.regions,
            is_region_name,
            "a region name like us-east-1",
        )?,
        start_day,
        bucket_region,
        endpoint_url: endpoint_url("trail_logs.endpoint_url", raw.endpoint_url)?,
        credentials,
        role,
        lookback_secs,
        horizon_secs,
        sweep_every_secs,
        requester_pays: raw.requester_pays.unwrap_or(false),
        events: EventFilter {
            sources: filter_list(
                "event_sources",
                raw.event_sources,
                is_name,
                "a service name like s3.amazonaws.com",
            )?,
            exclude_sources: filter_list(
                "exclude_event_sources",
                raw.exclude_event_sources,
                is_name,
                "a service name like s3.amazonaws.com",
            )?
            .unwrap_or_default(),
            names: filter_list(
                "event_names",
                raw.event_names,
                is_name,
                "an API call name like GetObject",
            )?,
            exclude_names: filter_list(
                "exclude_event_names",
                raw.exclude_event_names,
                is_name,
                "an API call name like GetObject",
            )?
            .unwrap_or_default(),
            exclude_read_only: raw.exclude_read_only.unwrap_or(false),
            categories: raw.event_categories.filter(|c| !c.is_empty()),
        },
    })
}

/// A trail name, or a trail ARN.
fn is_trail(t: &str) -> bool {
    let name_ok = |n: &str| {
        (3..=128).contains(&n.len())
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    };
    match t.strip_prefix("arn:") {
        Some(rest) => {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            matches!(parts.as_slice(), [partition, "cloudtrail", region, account, resource]
                if partition.starts_with("aws") && is_region_name(region) && is_account_id(account)
                    && resource.strip_prefix("trail/").is_some_and(name_ok))
        }
        None => name_ok(t),
    }
}

/// The region of a trail ARN.
pub fn trail_arn_region(t: &str) -> Option<&str> {
    t.strip_prefix("arn:")?.split(':').nth(2)
}

/// An event source or name: printable, without spaces or quotes.
fn is_name(n: &str) -> bool {
    n.len() <= 256
        && n.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
}

#[cfg(test)]
mod tests {
    use super::super::{parse_json as parse, CredentialSource};

    #[test]
    fn trail_logs_defaults_and_credentials_follow_the_top_level_unless_given() {
        let role = "arn:aws:iam::123456789012:role/top";
        let c = parse(serde_json::json!({
            "aws_region_name": "eu-west-1", "role_arn": role,
            "trail_logs": {"bucket": "logs", "prefix": "/a/b/", "accounts": ["", "123456789012"], "regions": []}
        }))
        .unwrap();
        let t = c.trail_logs.unwrap();
        assert_eq!(
            (t.prefix.as_str(), t.root()),
            ("a/b", "a/b/AWSLogs/".to_string())
        );
        assert_eq!(t.bucket_region, "eu-west-1");
        assert_eq!(t.lookback_secs, 1800);
        assert_eq!(t.accounts, Some(vec!["123456789012".to_string()]));
        assert_eq!(t.regions, None);
        assert!(t.credentials.is_none());
        assert_eq!(t.role.unwrap().arn, role, "no own keys: the top-level role");

        let c = parse(serde_json::json!({
            "role_arn": role,
            "trail_logs": {"bucket": "logs", "aws_key_id": "AKIA2", "aws_secret_key": "s2", "start_date": "2024-02-29"}
        }))
        .unwrap();
        let t = c.trail_logs.unwrap();
        assert!(matches!(
            t.credentials,
            Some(CredentialSource::Static { .. })
        ));
        assert!(t.role.is_none(), "own keys: no role unless its own");
        assert_eq!(t.start_day.as_deref(), Some("2024/02/29"));
        assert_eq!(t.root(), "AWSLogs/");
    }

    #[test]
    fn legacy_bucket_names_are_accepted_and_paths_are_not() {
        for ok in ["logs", "Legacy_Bucket", "a.b-c", &"a".repeat(255)] {
            assert!(super::is_bucket_name(ok), "{ok}");
        }
        for bad in [
            "ab",
            "../x",
            "a/b",
            "a..b",
            "-ab",
            "ab.",
            "a b",
            "a\nb",
            &"a".repeat(256),
        ] {
            assert!(!super::is_bucket_name(bad), "{bad}");
        }
        let c = parse(
            serde_json::json!({"trail_logs": {"bucket": "Legacy_Bucket", "requester_pays": true}}),
        )
        .unwrap();
        let t = c.trail_logs.unwrap();
        assert_eq!(t.bucket, "Legacy_Bucket");
        assert!(t.requester_pays);
    }

    #[test]
    fn bad_trail_logs_fields_are_named() {
        for (logs, words) in [
            (serde_json::json!({}), "trail_logs needs bucket"),
            (
                serde_json::json!({"trail": "arn:aws:s3:::bucket"}),
                "trail_logs.trail must be a trail name",
            ),
            (serde_json::json!({"trail": "a b"}), "trail_logs.trail"),
            (
                serde_json::json!({"bucket": "logs", "event_categories": ["Insight"]}),
                "event_categories",
            ),
            (
                serde_json::json!({"bucket": "logs", "event_names": ["Get Object"]}),
                "trail_logs.event_names: 'Get Object'",
            ),
            (
                serde_json::json!({"bucket": "s3://logs/AWSLogs"}),
                "trail_logs.bucket",
            ),
            (serde_json::json!({"bucket": "a..b"}), "trail_logs.bucket"),
            (serde_json::json!({"bucket": "_logs"}), "trail_logs.bucket"),
            (
                serde_json::json!({"bucket": "logs", "organization_ids": ["org-1"]}),
                "trail_logs.organization_ids",
            ),
            (
                serde_json::json!({"bucket": "logs", "regions": ["Europe"]}),
                "trail_logs.regions",
            ),
            (
                serde_json::json!({"bucket": "logs", "bucket_region": "eu"}),
                "trail_logs.bucket_region",
            ),
            (
                serde_json::json!({"bucket": "logs", "endpoint_url": "minio:9000"}),
                "trail_logs.endpoint_url",
            ),
            (
                serde_json::json!({"bucket": "logs", "late_file_lookback_minutes": -1}),
                "late_file_lookback_minutes",
            ),
            (
                serde_json::json!({"bucket": "logs", "aws_key_id": "AKIA"}),
                "trail_logs.aws_secret_key is missing",
            ),
            (
                serde_json::json!({"bucket": "logs", "role_external_id": "x"}),
                "trail_logs.role_external_id",
            ),
            (
                serde_json::json!({"bucket": "logs", "role_arn": "reader"}),
                "trail_logs.role_arn",
            ),
        ] {
            let e = parse(serde_json::json!({"trail_logs": logs}))
                .unwrap_err()
                .to_string();
            assert!(e.contains(words), "{logs}: {e}");
        }
    }
}

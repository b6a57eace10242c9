//! A small S3 server over the on-disk layout s3s-fs serves (`root/<bucket>/<key>`, user metadata
//! in `root/.bucket-….object-….metadata.json` sidecars): ListObjectsV2, GetObject, HeadObject,
//! HeadBucket and GetBucketLocation with SigV4 and S3's XML errors. A listing walks only the
//! directories under its prefix from its start key, so its cost follows the answer rather than
//! the bucket; an optional delay per LIST stands in for real S3's latency in benchmarks. Tests
//! can deny ListBucket or GetObject under a prefix, as an IAM policy with an `s3:prefix`
//! condition (or a resource ARN ending in `prefix*`) does.

use std::cmp::Ordering as Cmp;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::Value;

use crate::records::iso8601;
use crate::sigv4::{self, AuthFailure, SignedRequest};

/// What the server serves and to whom.
#[derive(Debug, Clone)]
pub struct S3Config {
    pub root: PathBuf,
    pub access_key: String,
    pub secret_key: String,
    /// Added to every ListObjectsV2 answer, as real S3 takes ≈ 30 ms.
    pub list_latency: Duration,
}

/// Requests served, for the benchmark and tests (`GET /_s3/stats`).
#[derive(Debug, Default)]
struct Stats {
    lists: AtomicU64,
    gets: AtomicU64,
    /// Time spent building LIST answers, the added latency excluded.
    list_nanos: AtomicU64,
}

#[derive(Clone)]
pub struct S3Server {
    config: Arc<S3Config>,
    stats: Arc<Stats>,
    /// Seconds added to the real clock in every answer's `Date` (`POST /_s3/clock`), so a
    /// test can move S3's clock without waiting. Objects' `LastModified` are their files'
    /// modification times: a test lands a file late by setting its mtime.
    clock_offset: Arc<std::sync::atomic::AtomicI64>,
    /// Requester Pays: a request that does not say `x-amz-request-payer: requester` is denied,
    /// as S3 denies it for anyone but the bucket's owner.
    requester_pays: Arc<AtomicBool>,
    /// Prefixes under which a request is denied (`POST /_s3/deny`, `S3Server::deny`).
    denials: Arc<std::sync::RwLock<Vec<Denial>>>,
}

/// An IAM action S3 can deny under a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3Action {
    /// `s3:ListBucket`: a ListObjectsV2 whose `prefix` parameter starts with the prefix. As
    /// with IAM's `s3:prefix` condition, only the request's prefix counts: a listing of a
    /// parent folder is allowed and shows the denied folder's keys.
    ListBucket,
    /// `s3:GetObject` (and HeadObject) of a key starting with the prefix.
    GetObject,
}

impl S3Action {
    /// The action as IAM names it (`s3:ListBucket`), or `None` for another name.
    pub fn parse(name: &str) -> Option<S3Action> {
        match name.trim_start_matches("s3:") {
            "ListBucket" => Some(S3Action::ListBucket),
            "GetObject" => Some(S3Action::GetObject),
            _ => None,
        }
    }
}

/// A denial: `action` under `prefix` (a key prefix of the bucket, or every bucket's).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Denial {
    action: S3Action,
    prefix: String,
}

/// One ListObjectsV2 request.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    pub prefix: String,
    pub delimiter: Option<String>,
    /// Exclusive: the answer starts after this key (the later of start-after and the token).
    pub start_after: Option<String>,
    pub max_keys: usize,
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    pub modified: i64,
}

/// A listing's answer: objects and common prefixes in key order, and whether more follow.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ListAnswer {
    pub objects: Vec<Listed>,
    pub prefixes: Vec<String>,
    /// The last item given (key or common prefix) when the answer is truncated.
    pub next: Option<String>,
}

/// Lists `bucket_dir` as S3 lists a bucket. Directory entries are visited in key order (a
/// directory sorts as its name followed by `/`), subtrees wholly at or before the start key are
/// skipped without being read, and the walk stops one item past `max_keys`.
pub fn list(bucket_dir: &Path, req: &ListRequest) -> std::io::Result<ListAnswer> {
    let (dir, rest) = match req.prefix.rfind('/') {
        Some(i) => (&req.prefix[..=i], &req.prefix[i + 1..]),
        None => ("", req.prefix.as_str()),
    };
    let mut walk = Walk {
        req,
        answer: ListAnswer::default(),
        items: 0,
        full: false,
        last: None,
    };
    walk.dir(&bucket_dir.join(dir), dir, Some(rest))?;
    Ok(walk.answer)
}

struct Walk<'a> {
    req: &'a ListRequest,
    answer: ListAnswer,
    items: usize,
    full: bool,
    /// The last item given.
    last: Option<String>,
}

impl Walk<'_> {
    /// Visits `path` (key prefix `key_dir`); `name_prefix`: only entries whose name starts with
    /// it (the part of the listing's prefix after its last `/`, at the top directory).
    fn dir(
        &mut self,
        path: &Path,
        key_dir: &str,
        name_prefix: Option<&str>,
    ) -> std::io::Result<()> {
        let entries = match sorted_entries(path) {
            Ok(e) => e,
            // A prefix naming no directory (or an object) has nothing under it.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(())
            }
            Err(e) => return Err(e),
        };
        for (name, is_dir) in entries {
            if self.full {
                return Ok(());
            }
            if name_prefix.is_some_and(|p| !name.starts_with(p)) {
                continue;
            }
            let key = format!("{key_dir}{name}");
            let after = self.req.start_after.as_deref();
            if is_dir {
                let sub = format!("{key}/");
                // Every key under `sub` sorts at or before the start: the subtree is skipped.
                if after.is_some_and(|a| a > sub.as_str() && !a.starts_with(&sub)) {
                    continue;
                }
                let rolled_up = self.rolls_up(&sub);
                if let Some(common) = rolled_up {
                    if after.is_some_and(|a| common.as_str() <= a && !a.starts_with(&common)) {
                        continue;
                    }
                    if any_key_after(&path.join(&name), &sub, after)? {
                        self.push(None, Some(common));
                    }
                } else {
                    self.dir(&path.join(&name), &sub, None)?;
                }
            } else {
                if after.is_some_and(|a| key.as_str() <= a) {
                    continue;
                }
                if let Some(common) = self.rolls_up(&key) {
                    self.push(None, Some(common));
                    continue;
                }
                let meta = std::fs::metadata(path.join(&name))?;
                let modified = meta
                    .modified()
                    .ok()
                    .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_secs() as i64);
                self.push(
                    Some(Listed {
                        key,
                        size: meta.len(),
                        modified,
                    }),
                    None,
                );
            }
        }
        Ok(())
    }

    /// The common prefix `key` rolls up into with the delimiter, if any.
    fn rolls_up(&self, key: &str) -> Option<String> {
        let delimiter = self.req.delimiter.as_deref().filter(|d| !d.is_empty())?;
        let tail = key.strip_prefix(self.req.prefix.as_str())?;
        let at = tail.find(delimiter)?;
        Some(format!(
            "{}{}",
            self.req.prefix,
            &tail[..at + delimiter.len()]
        ))
    }

    fn push(&mut self, object: Option<Listed>, prefix: Option<String>) {
        if self.items == self.req.max_keys {
            // One item past the page: the page is truncated after the last one given.
            self.full = true;
            self.answer.next = self.last.take();
            return;
        }
        self.items += 1;
        self.last = object.as_ref().map(|o| o.key.clone()).or(prefix.clone());
        self.answer.objects.extend(object);
        self.answer.prefixes.extend(prefix);
    }
}

/// A directory's entries in key order: a directory sorts as its name followed by `/`.
fn sorted_entries(path: &Path) -> std::io::Result<Vec<(String, bool)>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        entries.push((name, entry.file_type()?.is_dir()));
    }
    let sort_key = |(name, is_dir): &(String, bool)| {
        let mut k = name.as_bytes().to_vec();
        if *is_dir {
            k.push(b'/');
        }
        k
    };
    entries.sort_by_cached_key(sort_key);
    Ok(entries)
}

/// Whether a directory (key prefix `key_dir`) holds a file at any depth with a key after
/// `after`: an emptied directory is no prefix in S3, nor one whose keys were all given.
fn any_key_after(path: &Path, key_dir: &str, after: Option<&str>) -> std::io::Result<bool> {
    for (name, is_dir) in sorted_entries(path)? {
        let key = format!("{key_dir}{name}");
        if is_dir {
            let sub = format!("{key}/");
            if after.is_some_and(|a| a > sub.as_str() && !a.starts_with(&sub)) {
                continue;
            }
            if any_key_after(&path.join(&name), &sub, after)? {
                return Ok(true);
            }
        } else if after.is_none_or(|a| key.as_str() > a) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Where s3s-fs keeps an object's user metadata.
pub fn metadata_path(root: &Path, bucket: &str, key: &str) -> PathBuf {
    let encode = |s: &str| base64_simd::URL_SAFE_NO_PAD.encode_to_string(s);
    root.join(format!(
        ".bucket-{}.object-{}.metadata.json",
        encode(bucket),
        encode(key)
    ))
}

/// `%XX` and (in queries) `+` decoded.
fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// URI-encoding as S3 applies for `encoding-type=url` (unreserved characters and `/` kept).
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k, true), percent_decode(v, true)),
            None => (percent_decode(p, true), String::new()),
        })
        .collect()
}

type Answer = Response<Full<Bytes>>;

fn xml(status: StatusCode, body: String) -> Answer {
    Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .header("x-amz-request-id", "0000000000000001")
        .body(Full::new(Bytes::from(body)))
        .expect("static response parts are valid")
}

/// An S3 error answer; HEAD answers carry no body, as S3's.
/// S3's 403 for a request the bucket policy (or a missing requester-pays header) refuses.
fn access_denied(resource: &str, head: bool) -> Answer {
    s3_error(
        StatusCode::FORBIDDEN,
        "AccessDenied",
        "Access Denied",
        resource,
        head,
    )
}

fn s3_error(status: StatusCode, code: &str, message: &str, resource: &str, head: bool) -> Answer {
    let body = match head {
        true => String::new(),
        false => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{}</Message><Resource>{}</Resource><RequestId>0000000000000001</RequestId></Error>",
            xml_escape(message),
            xml_escape(resource)
        ),
    };
    xml(status, body)
}

/// A fake but stable entity tag: S3's is the MD5 of the body, which no client here checks.
fn etag(size: u64, modified: i64) -> String {
    format!("\"{size:016x}{modified:016x}\"")
}

impl S3Server {
    pub fn new(config: S3Config) -> S3Server {
        S3Server {
            config: Arc::new(config),
            stats: Arc::new(Stats::default()),
            clock_offset: Arc::default(),
            requester_pays: Arc::new(AtomicBool::new(false)),
            denials: Arc::default(),
        }
    }

    /// Denies `action` under the key `prefix` from now on, answering as S3 answers a request
    /// an IAM policy denies (403 `AccessDenied`).
    pub fn deny(&self, action: S3Action, prefix: &str) {
        let mut denials = self.denials.write().unwrap_or_else(|e| e.into_inner());
        denials.push(Denial {
            action,
            prefix: prefix.to_string(),
        });
    }

    /// Lifts every denial.
    pub fn allow_all(&self) {
        self.denials
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn denied(&self, action: S3Action, key: &str) -> bool {
        let denials = self.denials.read().unwrap_or_else(|e| e.into_inner());
        denials
            .iter()
            .any(|d| d.action == action && key.starts_with(&d.prefix))
    }

    /// Makes every bucket a Requester Pays bucket (or not).
    pub fn set_requester_pays(&self, on: bool) {
        self.requester_pays.store(on, Ordering::Relaxed);
    }

    /// Serves until the listener fails.
    pub async fn serve(self, listener: tokio::net::TcpListener) {
        crate::http::serve_http(listener, move |req| {
            let server = self.clone();
            async move { Ok(server.handle(req).await) }
        })
        .await
    }

    /// Starts serving on a free loopback port on a thread of its own; returns the endpoint URL.
    pub fn spawn(self) -> std::io::Result<String> {
        crate::http::spawn_http("s3-server", 2, move |listener| self.serve(listener))
    }

    /// `{"lists", "gets", "list_seconds"}` so far.
    pub fn stats(&self) -> Value {
        serde_json::json!({
            "lists": self.stats.lists.load(Ordering::Relaxed),
            "gets": self.stats.gets.load(Ordering::Relaxed),
            "list_seconds": self.stats.list_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        })
    }

    /// Every answer carries S3's clock (`Date`), as S3's do.
    async fn handle(&self, req: Request<Incoming>) -> Answer {
        let mut answer = self.answer(req).await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
            + self.clock_offset.load(Ordering::Relaxed);
        if let Ok(date) = hyper::header::HeaderValue::from_str(&http_date(now)) {
            answer.headers_mut().insert(hyper::header::DATE, date);
        }
        answer
    }

    async fn answer(&self, req: Request<Incoming>) -> Answer {
        let (parts, body) = req.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => Bytes::new(),
        };
        let raw_path = parts.uri.path().to_string();
        let query = parts.uri.query().unwrap_or("").to_string();
        let head = parts.method == hyper::Method::HEAD;
        if raw_path == "/_s3/stats" {
            return xml(StatusCode::OK, self.stats().to_string());
        }
        if raw_path == "/_s3/clock" {
            // `offset_seconds=N`: S3's clock runs N seconds ahead of the real one.
            let offset = query_pairs(&query)
                .into_iter()
                .find(|(k, _)| k == "offset_seconds")
                .and_then(|(_, v)| v.parse::<i64>().ok());
            return match offset {
                Some(n) => {
                    self.clock_offset.store(n, Ordering::Relaxed);
                    xml(StatusCode::OK, format!("{{\"offset_seconds\": {n}}}"))
                }
                None => xml(StatusCode::BAD_REQUEST, "offset_seconds=N is needed".into()),
            };
        }
        if raw_path == "/_s3/deny" {
            // `action=ListBucket|GetObject&prefix=P`: denied under P from now on; no `action`:
            // every denial is lifted.
            let pairs = query_pairs(&query);
            let param = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v);
            return match (param("action"), param("prefix")) {
                (None, _) => {
                    self.allow_all();
                    xml(StatusCode::OK, "{\"denials\": 0}".into())
                }
                (Some(action), prefix) => match S3Action::parse(action) {
                    Some(a) => {
                        let prefix = prefix.map_or("", |p| p.as_str());
                        self.deny(a, prefix);
                        xml(StatusCode::OK, format!("{{\"denied\": \"{action}\"}}"))
                    }
                    None => xml(
                        StatusCode::BAD_REQUEST,
                        "action=ListBucket or action=GetObject is needed".into(),
                    ),
                },
            };
        }
        let headers = crate::http::header_pairs(&parts.headers);
        let signed = SignedRequest {
            method: parts.method.as_str(),
            path: &raw_path,
            query: &query,
            headers: &headers,
            body: &body,
        };
        let verified = sigv4::verify(&signed, |k| {
            (k == self.config.access_key).then(|| (self.config.secret_key.clone(), None))
        });
        let path = percent_decode(&raw_path, false);
        // S3's own code and wording for each way a signature fails.
        let refused = match verified {
            Ok(_) => None,
            Err(AuthFailure::MissingAuthenticationToken) => Some(("AccessDenied", "Access Denied")),
            Err(AuthFailure::UnrecognizedClient) => Some((
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
            )),
            Err(AuthFailure::InvalidSignature) => Some((
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            )),
        };
        if let Some((code, message)) = refused {
            return s3_error(StatusCode::FORBIDDEN, code, message, &path, head);
        }
        let payer = sigv4::header(&headers, "x-amz-request-payer");
        if self.requester_pays.load(Ordering::Relaxed) && payer != Some("requester") {
            return access_denied(&path, head);
        }
        let trimmed = path.trim_start_matches('/');
        let (bucket, key) = trimmed.split_once('/').unwrap_or((trimmed, ""));
        let bucket_dir = self.config.root.join(bucket);
        if bucket.is_empty() || bucket.starts_with('.') || !bucket_dir.is_dir() {
            return s3_error(
                StatusCode::NOT_FOUND,
                "NoSuchBucket",
                "The specified bucket does not exist",
                bucket,
                head,
            );
        }
        let pairs = query_pairs(&query);
        let param = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let server = self.clone();
        let method = parts.method.clone();
        let (bucket, key) = (bucket.to_string(), key.to_string());
        if key.is_empty() {
            if param("location").is_some() {
                return xml(
                    StatusCode::OK,
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"></LocationConstraint>".into(),
                );
            }
            if head {
                return xml(StatusCode::OK, String::new());
            }
            if method != hyper::Method::GET {
                return s3_error(
                    StatusCode::NOT_IMPLEMENTED,
                    "NotImplemented",
                    "Only reads are served",
                    &path,
                    false,
                );
            }
            let token = param("continuation-token").map(String::from);
            let request = ListRequest {
                prefix: param("prefix").unwrap_or("").to_string(),
                delimiter: param("delimiter").map(String::from),
                start_after: start_key(param("start-after"), token.as_deref()),
                max_keys: param("max-keys")
                    .and_then(|m| m.parse().ok())
                    .unwrap_or(1000)
                    .min(1000),
            };
            if self.denied(S3Action::ListBucket, &request.prefix) {
                return access_denied(&path, false);
            }
            let url = param("encoding-type") == Some("url");
            let start_after = param("start-after").map(String::from);
            self.stats.lists.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let answer = tokio::task::spawn_blocking(move || {
                list(&bucket_dir, &request).map(|a| (a, request))
            })
            .await;
            server
                .stats
                .list_nanos
                .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
            if !self.config.list_latency.is_zero() {
                tokio::time::sleep(self.config.list_latency).await;
            }
            return match answer {
                Ok(Ok((answer, request))) => xml(
                    StatusCode::OK,
                    list_xml(
                        &bucket,
                        &request,
                        &answer,
                        start_after.as_deref(),
                        token.as_deref(),
                        url,
                    ),
                ),
                _ => s3_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    "The listing failed",
                    &path,
                    false,
                ),
            };
        }
        if self.denied(S3Action::GetObject, &key) {
            return access_denied(&path, head);
        }
        self.stats.gets.fetch_add(1, Ordering::Relaxed);
        let root = self.config.root.clone();
        let read = tokio::task::spawn_blocking(move || {
            let file = root.join(&bucket).join(&key);
            let body = if file.is_file() {
                std::fs::read(&file).ok()
            } else {
                None
            };
            let meta = std::fs::metadata(&file).ok();
            let user: Vec<(String, String)> = std::fs::read(metadata_path(&root, &bucket, &key))
                .ok()
                .and_then(|t| serde_json::from_slice::<Value>(&t).ok())
                .and_then(|v| v.get("user_metadata").and_then(Value::as_object).cloned())
                .map(|m| {
                    m.into_iter()
                        .filter_map(|(k, v)| Some((k, v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            (body, meta, user)
        })
        .await;
        let Ok((Some(body), Some(meta), user)) = read else {
            return s3_error(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "The specified key does not exist.",
                &path,
                head,
            );
        };
        let modified = meta
            .modified()
            .unwrap_or(SystemTime::UNIX_EPOCH)
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mut answer = Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/octet-stream")
            .header("content-length", body.len())
            .header("etag", etag(meta.len(), modified))
            .header("last-modified", http_date(modified));
        for (k, v) in user {
            answer = answer.header(format!("x-amz-meta-{k}"), v);
        }
        let body = if head {
            Bytes::new()
        } else {
            Bytes::from(body)
        };
        answer
            .body(Full::new(body))
            .expect("metadata names and values are valid headers")
    }
}

/// Where a listing resumes: after the later of `start-after` and the continuation token (the
/// last item given; after a common prefix, after every key under it).
fn start_key(start_after: Option<&str>, token: Option<&str>) -> Option<String> {
    let token = token.map(|t| match t.ends_with('/') {
        true => format!("{t}\u{10FFFF}"),
        false => t.to_string(),
    });
    match (start_after.map(String::from), token) {
        (Some(a), Some(t)) => Some(match a.cmp(&t) {
            Cmp::Greater => a,
            _ => t,
        }),
        (a, t) => a.or(t),
    }
}

fn list_xml(
    bucket: &str,
    req: &ListRequest,
    answer: &ListAnswer,
    start_after: Option<&str>,
    token: Option<&str>,
    url: bool,
) -> String {
    let enc = |s: &str| match url {
        true => url_encode(s),
        false => xml_escape(s),
    };
    let mut x = String::with_capacity(256 + answer.objects.len() * 300);
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    x.push_str(&format!(
        "<Name>{}</Name><Prefix>{}</Prefix>",
        xml_escape(bucket),
        enc(&req.prefix)
    ));
    if let Some(a) = start_after {
        x.push_str(&format!("<StartAfter>{}</StartAfter>", enc(a)));
    }
    if let Some(t) = token {
        x.push_str(&format!(
            "<ContinuationToken>{}</ContinuationToken>",
            xml_escape(t)
        ));
    }
    if let Some(d) = &req.delimiter {
        x.push_str(&format!("<Delimiter>{}</Delimiter>", enc(d)));
    }
    if url {
        x.push_str("<EncodingType>url</EncodingType>");
    }
    x.push_str(&format!(
        "<KeyCount>{}</KeyCount><MaxKeys>{}</MaxKeys><IsTruncated>{}</IsTruncated>",
        answer.objects.len() + answer.prefixes.len(),
        req.max_keys,
        answer.next.is_some()
    ));
    if let Some(next) = &answer.next {
        x.push_str(&format!(
            "<NextContinuationToken>{}</NextContinuationToken>",
            xml_escape(next)
        ));
    }
    for o in &answer.objects {
        x.push_str(&format!(
            "<Contents><Key>{}</Key><LastModified>{}</LastModified><ETag>{}</ETag><Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents>",
            enc(&o.key),
            iso8601(o.modified).replace('Z', ".000Z"),
            xml_escape(&etag(o.size, o.modified)),
            o.size
        ));
    }
    for p in &answer.prefixes {
        x.push_str(&format!(
            "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
            enc(p)
        ));
    }
    x.push_str("</ListBucketResult>");
    x
}

/// An HTTP date (`Last-Modified`): `Mon, 24 Nov 2025 16:00:00 GMT`.
fn http_date(epoch: i64) -> String {
    let t = crate::records::utc(epoch);
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[t.weekday().number_days_from_monday() as usize],
        t.day(),
        MONTHS[u8::from(t.month()) as usize - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bucket(keys: &[String]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for k in keys {
            let p = dir.path().join(k);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, k.as_bytes()).unwrap();
        }
        dir
    }

    /// What S3 answers, from the sorted key list: the model the walk is checked against.
    fn model(keys: &[String], req: &ListRequest) -> (Vec<String>, Vec<String>, bool) {
        let mut sorted = keys.to_vec();
        sorted.sort();
        let mut items: Vec<(String, bool)> = Vec::new();
        for k in sorted {
            if !k.starts_with(&req.prefix) || req.start_after.as_ref().is_some_and(|a| k <= *a) {
                continue;
            }
            let tail = &k[req.prefix.len()..];
            match req.delimiter.as_deref().and_then(|d| tail.find(d)) {
                Some(at) => {
                    let p = format!("{}{}", req.prefix, &tail[..=at]);
                    if items.last().map(|i| &i.0) != Some(&p) {
                        items.push((p, true));
                    }
                }
                None => items.push((k, false)),
            }
        }
        let truncated = items.len() > req.max_keys;
        items.truncate(req.max_keys);
        let objects = items.iter().filter(|i| !i.1).map(|i| i.0.clone()).collect();
        let prefixes = items.iter().filter(|i| i.1).map(|i| i.0.clone()).collect();
        (objects, prefixes, truncated)
    }

    fn key_strategy() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec!["a", "a.b", "a-", "b", "a0", "ab"]),
            1..4,
        )
        .prop_map(|parts| parts.join("/"))
    }

    proptest! {
        /// Pages of the walk, followed by their tokens, give what S3 gives for every prefix,
        /// delimiter and start key.
        #[test]
        fn listings_match_the_sorted_model(
            keys in prop::collection::btree_set(key_strategy(), 1..30),
            prefix in prop::sample::select(vec!["", "a", "a/", "a/a", "b/", "a.b/a"]),
            delimiter in prop::bool::ANY,
            start in prop::option::of(key_strategy()),
            max_keys in 1usize..5,
        ) {
            // A key cannot also be a directory: keep the keys no other key is under.
            let keys: Vec<String> = keys.iter().filter(|k| !keys.iter().any(|o| o.starts_with(&format!("{k}/")))).cloned().collect();
            let dir = bucket(&keys);
            let mut req = ListRequest {
                prefix: prefix.to_string(),
                delimiter: delimiter.then(|| "/".to_string()),
                start_after: start.clone(),
                max_keys: 1000,
            };
            let (objects, prefixes, _) = model(&keys, &req);
            let want: Vec<String> = objects.into_iter().chain(prefixes).collect();
            // The same items, page by page.
            req.max_keys = max_keys;
            let mut got = Vec::new();
            let mut token: Option<String> = None;
            for _ in 0..100 {
                let page_req = ListRequest { start_after: start_key(start.as_deref(), token.as_deref()), ..req.clone() };
                let page = list(dir.path(), &page_req).unwrap();
                prop_assert!(page.objects.len() + page.prefixes.len() <= max_keys);
                got.extend(page.objects.iter().map(|o| o.key.clone()));
                got.extend(page.prefixes.iter().cloned());
                match page.next {
                    Some(n) => token = Some(n),
                    None => break,
                }
            }
            let mut want = want;
            want.sort();
            got.sort();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn a_page_is_truncated_only_when_more_follow() {
        let keys: Vec<String> = (0..5).map(|i| format!("p/2025/11/{i:02}/k{i}")).collect();
        let dir = bucket(&keys);
        let req = ListRequest {
            prefix: "p/".into(),
            max_keys: 5,
            ..Default::default()
        };
        let all = list(dir.path(), &req).unwrap();
        assert_eq!(all.objects.len(), 5);
        assert_eq!(all.next, None);
        let page = list(
            dir.path(),
            &ListRequest {
                max_keys: 2,
                ..req.clone()
            },
        )
        .unwrap();
        assert_eq!(page.next.as_deref(), Some("p/2025/11/01/k1"));
        let after = list(
            dir.path(),
            &ListRequest {
                start_after: Some("p/2025/11/03/k3".into()),
                ..req
            },
        )
        .unwrap();
        assert_eq!(
            after
                .objects
                .iter()
                .map(|o| o.key.as_str())
                .collect::<Vec<_>>(),
            ["p/2025/11/04/k4"]
        );
        assert_eq!(percent_decode("a%2Fb+c%zz", true), "a/b c%zz");
        assert_eq!(url_encode("a b/ü"), "a%20b/%C3%BC");
    }
}

//! The HTTP side of the emulator: AWS JSON 1.1 CloudTrail and STS AssumeRole behind SigV4, the
//! fault knobs (throttling, 5xx, dropped connections, slow answers), and a small control API
//! under `/_emulator/` for tests, benchmarks and the demo.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::records::{insight_pair, iso8601, management_event, Rng};
use crate::sigv4::{self, AuthFailure, SignedRequest};
use crate::store::{ApiError, EventStore, LookupRequest};
use crate::trails;

const ACCOUNT: &str = "123456789012";

/// How the emulator starts: which data it generates and which credentials it accepts.
/// Who may assume a role: with which external id, and which keys it hands out (random ones
/// when not set).
#[derive(Debug, Clone, Default)]
struct RoleGrant {
    external_id: Option<String>,
    issues: Option<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub regions: Vec<String>,
    pub events_per_region: usize,
    /// Events are spread over `[now - span_secs, now - min_age_secs]`.
    pub span_secs: i64,
    pub min_age_secs: i64,
    pub seed: u64,
    /// Share of generated events that become visible late, by up to `late_max_secs`.
    pub late_fraction: f64,
    pub late_max_secs: f64,
    /// Insights (each a Start and an End event) per region, in `insight_regions` (all when empty).
    pub insights_per_region: usize,
    pub insight_regions: Vec<String>,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub faults: Faults,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            regions: vec!["us-east-1".into()],
            events_per_region: 0,
            span_secs: 3600,
            min_age_secs: 0,
            seed: 1,
            late_fraction: 0.0,
            late_max_secs: 0.0,
            insights_per_region: 0,
            insight_regions: vec![],
            access_key_id: DEFAULT_ACCESS_KEY_ID.into(),
            secret_access_key: DEFAULT_SECRET_ACCESS_KEY.into(),
            faults: Faults::default(),
        }
    }
}

pub const DEFAULT_ACCESS_KEY_ID: &str = "AKIAEMULATOR00000001";
pub const DEFAULT_SECRET_ACCESS_KEY: &str = "emulator/secret/access/key/0000000000000";
/// A role the default credentials may assume.
pub const DEFAULT_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/cloudtrail-reader";

/// Fault knobs, settable at start and at run time (`POST /_emulator/faults`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// LookupEvents quota per region (AWS: 2); `None` turns throttling off.
    pub throttle_rps: Option<f64>,
    /// Every LookupEvents call is throttled for this many seconds from when the knob is set.
    pub throttle_storm_secs: f64,
    /// Share of calls answered with a 500 or 503.
    pub error_5xx_rate: f64,
    /// Share of calls whose connection is dropped without an answer.
    pub drop_rate: f64,
    /// Every call is answered this much later.
    pub delay_ms: u64,
    /// Regions whose calls are all dropped, as if unreachable.
    pub unreachable_regions: Vec<String>,
    /// The next N LookupEvents calls that carry a NextToken are told it expired.
    pub expire_next_tokens: u32,
    /// The next N calls are answered after `slow_call_ms`.
    pub slow_next_calls: u32,
    pub slow_call_ms: u64,
    /// The next N successful answers are garbled: cut in half, or an HTML page, with status 200.
    pub garble_next_bodies: u32,
}

/// Faults that happen a given number of times, counted down as they happen.
#[derive(Debug, Default)]
struct OneShots {
    expire_tokens: u32,
    slow_calls: u32,
    garbled_bodies: u32,
}

fn take(counter: &mut u32) -> bool {
    let hit = *counter > 0;
    *counter = counter.saturating_sub(1);
    hit
}

/// Per-region request counters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RegionStats {
    pub requests: u64,
    pub ok: u64,
    pub throttled: u64,
    pub errors: u64,
    pub dropped: u64,
    pub events_returned: u64,
    /// Epoch seconds of the first and last successful call, to measure the sustained rate.
    pub first_ok_at: Option<f64>,
    pub last_ok_at: Option<f64>,
}

#[derive(Debug, Clone)]
struct Credential {
    secret: String,
    session_token: Option<String>,
    /// Operations this key may not call (AccessDenied), e.g. "LookupEvents".
    denied: Vec<String>,
}

struct Bucket {
    tokens: f64,
    at: f64,
}

/// The emulator's shared state; cheap to clone.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

struct Inner {
    store: RwLock<EventStore>,
    credentials: Mutex<HashMap<String, Credential>>,
    roles: Mutex<HashMap<String, RoleGrant>>,
    faults: Mutex<(Faults, f64)>,
    buckets: Mutex<HashMap<String, Bucket>>,
    stats: Mutex<HashMap<String, RegionStats>>,
    rng: Mutex<Rng>,
    one_shots: Mutex<OneShots>,
}

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Events to add through the control API.
#[derive(Debug, Deserialize)]
pub struct NewEvents {
    pub region: String,
    pub events: Vec<NewEvent>,
}

#[derive(Debug, Deserialize)]
pub struct NewEvent {
    /// Epoch seconds.
    pub time: i64,
    /// Epoch seconds from which the event is visible; default: at once.
    pub visible_at: Option<f64>,
    #[serde(default)]
    pub insight: bool,
    /// Replace the generated `CloudTrailEvent` text (e.g. with invalid JSON).
    pub cloudtrail_event: Option<String>,
    /// Replace the whole LookupEvents object served for the event (missing fields, odd values);
    /// `time` still places it in the history.
    pub answer: Option<serde_json::Value>,
}

/// One event as the control API lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ListedEvent {
    pub event_id: String,
    pub event_time: i64,
    pub visible_at: f64,
    pub insight: bool,
}

impl Emulator {
    pub fn new(cfg: &EmulatorConfig) -> Self {
        let mut rng = Rng::new(cfg.seed);
        let mut store = EventStore::default();
        let t_now = now() as i64;
        for region in &cfg.regions {
            let lo = t_now - cfg.span_secs;
            let width = (cfg.span_secs - cfg.min_age_secs).max(1) as u64;
            let events = (0..cfg.events_per_region).map(|_| {
                let time = lo + rng.below(width) as i64;
                let late = rng.unit() < cfg.late_fraction;
                let visible_at = if late {
                    time as f64 + rng.unit() * cfg.late_max_secs
                } else {
                    time as f64
                };
                (management_event(&mut rng, region, time), visible_at, false)
            });
            let mut events: Vec<_> = events.collect();
            // Insights are enabled in `insight_regions`, or everywhere when none is named.
            if cfg.insight_regions.is_empty() || cfg.insight_regions.contains(region) {
                for _ in 0..cfg.insights_per_region {
                    let minutes = 1 + rng.below(30) as i64;
                    let start =
                        lo + rng.below(width.saturating_sub(minutes as u64 * 60).max(1)) as i64;
                    for e in insight_pair(&mut rng, region, start, minutes) {
                        let t = e.event_time as f64;
                        events.push((e, t, true));
                    }
                }
            }
            store.extend(region, events);
        }
        let mut credentials = HashMap::new();
        credentials.insert(
            cfg.access_key_id.clone(),
            Credential {
                secret: cfg.secret_access_key.clone(),
                session_token: None,
                denied: vec![],
            },
        );
        let mut roles = HashMap::new();
        roles.insert(DEFAULT_ROLE_ARN.to_string(), RoleGrant::default());
        Emulator {
            inner: Arc::new(Inner {
                store: RwLock::new(store),
                credentials: Mutex::new(credentials),
                roles: Mutex::new(roles),
                faults: Mutex::new((cfg.faults.clone(), now())),
                buckets: Mutex::new(HashMap::new()),
                stats: Mutex::new(HashMap::new()),
                rng: Mutex::new(rng),
                one_shots: Mutex::new(OneShots::default()),
            }),
        }
    }

    /// Accepts another key pair; `denied` lists operations it may not call.
    pub fn add_credentials(
        &self,
        key_id: &str,
        secret: &str,
        session_token: Option<&str>,
        denied: &[&str],
    ) {
        self.inner.credentials.lock().unwrap().insert(
            key_id.to_string(),
            Credential {
                secret: secret.to_string(),
                session_token: session_token.map(String::from),
                denied: denied.iter().map(|s| s.to_string()).collect(),
            },
        );
    }

    /// Lets the role be assumed, with an external id if given.
    pub fn add_role(&self, role_arn: &str, external_id: Option<&str>) {
        self.inner.roles.lock().unwrap().insert(
            role_arn.to_string(),
            RoleGrant {
                external_id: external_id.map(String::from),
                issues: None,
            },
        );
    }

    /// Lets the role be assumed and hands out these keys for it (with a fresh session token),
    /// so that another server (an S3 one) can be told to accept them.
    pub fn add_role_issuing(
        &self,
        role_arn: &str,
        external_id: Option<&str>,
        key_id: &str,
        secret: &str,
    ) {
        self.inner.roles.lock().unwrap().insert(
            role_arn.to_string(),
            RoleGrant {
                external_id: external_id.map(String::from),
                issues: Some((key_id.to_string(), secret.to_string())),
            },
        );
    }

    pub fn set_faults(&self, faults: Faults) {
        *self.inner.one_shots.lock().unwrap() = OneShots {
            expire_tokens: faults.expire_next_tokens,
            slow_calls: faults.slow_next_calls,
            garbled_bodies: faults.garble_next_bodies,
        };
        *self.inner.faults.lock().unwrap() = (faults, now());
    }

    pub fn add_events(&self, new: NewEvents) -> Vec<ListedEvent> {
        let mut rng = self.inner.rng.lock().unwrap();
        let mut store = self.inner.store.write().unwrap();
        new.events
            .into_iter()
            .map(|e| {
                let mut generated = management_event(&mut rng, &new.region, e.time);
                if let Some(text) = e.cloudtrail_event {
                    generated.cloudtrail_event = text;
                }
                let visible_at = e.visible_at.unwrap_or(e.time as f64);
                let listed = ListedEvent {
                    event_id: generated.event_id.clone(),
                    event_time: e.time,
                    visible_at,
                    insight: e.insight,
                };
                let answer = e.answer.map(|a| a.to_string());
                store.insert(&new.region, generated, visible_at, e.insight, answer);
                listed
            })
            .collect()
    }

    /// Every stored event per region, visible or not, newest first.
    pub fn events(&self) -> HashMap<String, Vec<ListedEvent>> {
        let store = self.inner.store.read().unwrap();
        store
            .regions()
            .map(|r| {
                let list = store
                    .events(r)
                    .iter()
                    .map(|e| ListedEvent {
                        event_id: e.event.event_id.clone(),
                        event_time: e.event.event_time,
                        visible_at: e.visible_at,
                        insight: e.insight,
                    })
                    .collect();
                (r.clone(), list)
            })
            .collect()
    }

    pub fn stats(&self) -> HashMap<String, RegionStats> {
        self.inner.stats.lock().unwrap().clone()
    }

    fn count(&self, region: &str, f: impl FnOnce(&mut RegionStats)) {
        f(self
            .inner
            .stats
            .lock()
            .unwrap()
            .entry(region.to_string())
            .or_default());
    }

    fn chance(&self, p: f64) -> bool {
        p > 0.0 && self.inner.rng.lock().unwrap().unit() < p
    }

    /// Token bucket per region with a burst of one second's worth, like AWS's per-second quota.
    fn admit(&self, region: &str, faults: &Faults, faults_set_at: f64) -> bool {
        let t = now();
        if t < faults_set_at + faults.throttle_storm_secs {
            return false;
        }
        let Some(rps) = faults.throttle_rps else {
            return true;
        };
        let burst = rps.max(1.0);
        let mut buckets = self.inner.buckets.lock().unwrap();
        let b = buckets.entry(region.to_string()).or_insert(Bucket {
            tokens: burst,
            at: t,
        });
        b.tokens = (b.tokens + (t - b.at) * rps).min(burst);
        b.at = t;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Serves until the listener fails.
    pub async fn serve(self, listener: tokio::net::TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let emu = self.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let emu = emu.clone();
                    async move { emu.handle(req).await }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    }

    /// Starts serving on a free loopback port on a thread of its own; returns the endpoint URL.
    pub fn spawn(self) -> std::io::Result<String> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr: SocketAddr = std_listener.local_addr()?;
        std::thread::Builder::new()
            .name("cloudtrail-emulator".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .expect("emulator runtime");
                rt.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(std_listener).expect("listener");
                    self.serve(listener).await
                })
            })?;
        Ok(format!("http://{addr}"))
    }

    async fn handle(
        &self,
        req: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, std::io::Error> {
        let (parts, body) = req.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?
            .to_bytes();
        let path = parts.uri.path().to_string();
        if let Some(control) = path.strip_prefix("/_emulator/") {
            return Ok(self.control(parts.method.as_str(), control, parts.uri.query(), &body));
        }
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let signed = SignedRequest {
            method: parts.method.as_str(),
            path: &path,
            query: parts.uri.query().unwrap_or(""),
            headers: &headers,
            body: &body,
        };
        let scope = {
            let creds = self.inner.credentials.lock().unwrap();
            sigv4::verify(&signed, |k| {
                creds
                    .get(k)
                    .map(|c| (c.secret.clone(), c.session_token.clone()))
            })
        };
        let scope = match scope {
            Ok(s) => s,
            Err(f) => return Ok(auth_error(f)),
        };
        if scope.service == "sts" {
            return Ok(self.assume_role(&body));
        }
        let region = scope.region.clone();
        self.count(&region, |s| s.requests += 1);
        let (faults, set_at) = self.inner.faults.lock().unwrap().clone();
        if faults.unreachable_regions.contains(&region) || self.chance(faults.drop_rate) {
            self.count(&region, |s| s.dropped += 1);
            return Err(std::io::Error::other(
                "connection dropped by the fault knob",
            ));
        }
        if faults.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(faults.delay_ms)).await;
        }
        if take(&mut self.inner.one_shots.lock().unwrap().slow_calls) {
            tokio::time::sleep(Duration::from_millis(faults.slow_call_ms)).await;
        }
        let target = headers
            .iter()
            .find(|(k, _)| k == "x-amz-target")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        let operation = target.rsplit('.').next().unwrap_or("");
        let denied = self
            .inner
            .credentials
            .lock()
            .unwrap()
            .get(&scope.access_key_id)
            .is_some_and(|c| c.denied.iter().any(|d| d == operation));
        if denied {
            self.count(&region, |s| s.errors += 1);
            return Ok(json_error(StatusCode::BAD_REQUEST, &ApiError {
                code: "AccessDeniedException",
                message: format!("User: arn:aws:iam::{ACCOUNT}:user/emulated is not authorized to perform: cloudtrail:{operation} because no identity-based policy allows the cloudtrail:{operation} action"),
            }));
        }
        // The quota (and its throttling) is LookupEvents'; control-plane calls have their own.
        if operation == "LookupEvents" && !self.admit(&region, &faults, set_at) {
            self.count(&region, |s| s.throttled += 1);
            return Ok(json_error(
                StatusCode::BAD_REQUEST,
                &ApiError {
                    code: "ThrottlingException",
                    message: "Rate exceeded".into(),
                },
            ));
        }
        if self.chance(faults.error_5xx_rate) {
            self.count(&region, |s| s.errors += 1);
            let (status, code) = if self.chance(0.5) {
                (StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure")
            } else {
                (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable")
            };
            return Ok(json_error(
                status,
                &ApiError {
                    code,
                    message: "Service is unavailable".into(),
                },
            ));
        }
        let answer = match operation {
            "LookupEvents" => match serde_json::from_slice::<LookupRequest>(&body) {
                Ok(lookup)
                    if lookup.next_token.is_some()
                        && take(&mut self.inner.one_shots.lock().unwrap().expire_tokens) =>
                {
                    Err(ApiError {
                        code: "InvalidNextTokenException",
                        message: "The token has expired.".into(),
                    })
                }
                Ok(lookup) => self
                    .inner
                    .store
                    .read()
                    .unwrap()
                    .lookup(&region, &lookup, now()),
                Err(e) => Err(ApiError {
                    code: "SerializationException",
                    message: e.to_string(),
                }),
            },
            other => {
                let params = serde_json::from_slice::<serde_json::Value>(&body).unwrap_or_default();
                trails::answer(other, &region, &params, now() as i64).unwrap_or_else(|| {
                    Err(ApiError {
                        code: "UnknownOperationException",
                        message: format!("Unknown operation {target}"),
                    })
                })
            }
        };
        match answer {
            Ok(body) => {
                let garbled = {
                    let mut shots = self.inner.one_shots.lock().unwrap();
                    let hit = take(&mut shots.garbled_bodies);
                    hit.then_some(shots.garbled_bodies.is_multiple_of(2))
                };
                if let Some(html) = garbled {
                    self.count(&region, |s| s.errors += 1);
                    let body = if html {
                        "<html><body>502 Bad Gateway</body></html>".to_string()
                    } else {
                        body[..body.len() / 2].to_string()
                    };
                    return Ok(response(StatusCode::OK, "application/x-amz-json-1.1", body));
                }
                let n = body.matches("\"EventId\"").count() as u64;
                let t = now();
                self.count(&region, |s| {
                    s.ok += 1;
                    s.events_returned += n;
                    s.first_ok_at.get_or_insert(t);
                    s.last_ok_at = Some(t);
                });
                Ok(response(StatusCode::OK, "application/x-amz-json-1.1", body))
            }
            Err(e) => {
                self.count(&region, |s| s.errors += 1);
                Ok(json_error(StatusCode::BAD_REQUEST, &e))
            }
        }
    }

    fn assume_role(&self, body: &[u8]) -> Response<Full<Bytes>> {
        let form = parse_form(body);
        let get = |k: &str| {
            form.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let role = get("RoleArn").unwrap_or("");
        let grant = self.inner.roles.lock().unwrap().get(role).cloned();
        let allowed = match &grant {
            Some(RoleGrant {
                external_id: Some(external),
                ..
            }) => get("ExternalId") == Some(external.as_str()),
            Some(_) => true,
            None => false,
        };
        if get("Action") != Some("AssumeRole") || !allowed {
            let xml = format!(
                "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::{ACCOUNT}:user/emulated is not authorized to perform: sts:AssumeRole on resource: {}</Message></Error><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>",
                xml_escape(role)
            );
            return response(StatusCode::FORBIDDEN, "text/xml", xml);
        }
        let issues = grant.and_then(|g| g.issues);
        let (key_id, secret, token) = {
            let mut rng = self.inner.rng.lock().unwrap();
            let (key_id, secret) = issues.unwrap_or_else(|| {
                (
                    format!("ASIA{:016X}", rng.next_u64()),
                    format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64()),
                )
            });
            (
                key_id,
                secret,
                format!(
                    "FwoGZXIvYXdzE{:016x}{:016x}",
                    rng.next_u64(),
                    rng.next_u64()
                ),
            )
        };
        self.add_credentials(&key_id, &secret, Some(&token), &[]);
        let session = get("RoleSessionName").unwrap_or("session");
        let xml = format!(
            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><Credentials><AccessKeyId>{key_id}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey><SessionToken>{token}</SessionToken><Expiration>{}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAEMULATED:{s}</AssumedRoleId><Arn>{r}/{s}</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000001</RequestId></ResponseMetadata></AssumeRoleResponse>",
            iso8601(now() as i64 + 3600),
            s = xml_escape(session),
            r = xml_escape(role),
        );
        response(StatusCode::OK, "text/xml", xml)
    }

    fn control(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Response<Full<Bytes>> {
        let ok = |v: serde_json::Value| response(StatusCode::OK, "application/json", v.to_string());
        let bad = |m: String| {
            response(
                StatusCode::BAD_REQUEST,
                "application/json",
                json!({"error": m}).to_string(),
            )
        };
        match (method, path) {
            ("GET", "health") => ok(json!("ok")),
            ("GET", "stats") => ok(json!(self.stats())),
            ("GET", "events") => {
                let mut all = self.events();
                if let Some(region) = query.and_then(|q| q.strip_prefix("region=")) {
                    all.retain(|r, _| r == region);
                }
                ok(json!(all))
            }
            ("POST", "events") => match serde_json::from_slice::<NewEvents>(body) {
                Ok(new) => ok(json!(self.add_events(new))),
                Err(e) => bad(e.to_string()),
            },
            ("POST", "faults") => match serde_json::from_slice::<Faults>(body) {
                Ok(f) => {
                    self.set_faults(f);
                    ok(json!("ok"))
                }
                Err(e) => bad(e.to_string()),
            },
            _ => response(StatusCode::NOT_FOUND, "application/json", "{}".into()),
        }
    }
}

fn auth_error(f: AuthFailure) -> Response<Full<Bytes>> {
    let e = match f {
        AuthFailure::MissingAuthenticationToken => ApiError {
            code: "MissingAuthenticationTokenException",
            message: "Missing Authentication Token".into(),
        },
        AuthFailure::UnrecognizedClient => ApiError {
            code: "UnrecognizedClientException",
            message: "The security token included in the request is invalid.".into(),
        },
        AuthFailure::InvalidSignature => ApiError {
            code: "InvalidSignatureException",
            message: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".into(),
        },
    };
    json_error(StatusCode::BAD_REQUEST, &e)
}

fn json_error(status: StatusCode, e: &ApiError) -> Response<Full<Bytes>> {
    let body = json!({"__type": e.code, "message": e.message}).to_string();
    response(status, "application/x-amz-json-1.1", body)
}

fn response(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-requestid", "00000000-0000-4000-8000-00000000e001")
        .body(Full::new(Bytes::from(body)))
        .expect("static response parts are valid")
}

fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((percent_decode(k), percent_decode(v)))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

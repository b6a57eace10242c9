//! The `Emulator` handle: how it starts (configuration, generated history, accepted keys) and the
//! state that every part of the server shares.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::cloudtrail::RegionStats;
use crate::faults::{FaultState, Faults};
use crate::records::{insight_pair, management_event_of, Rng, ACCOUNT};
use crate::requests::RequestLog;
use crate::store::EventStore;
use crate::sts::RoleGrant;

pub const DEFAULT_ACCESS_KEY_ID: &str = "AKIAEMULATOR00000001";
pub const DEFAULT_SECRET_ACCESS_KEY: &str = "emulator/secret/access/key/0000000000000";
/// A role the default credentials may assume.
pub const DEFAULT_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/cloudtrail-reader";

/// How the emulator starts: which data it generates and which credentials it accepts.
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
    /// Member accounts of the emulated organization (ACTIVE), each with `events_per_region`
    /// events in every region of `regions`; the base account (the management account) is
    /// listed first by ListAccounts.
    pub accounts: Vec<String>,
    /// Accounts ListAccounts lists as SUSPENDED (no events).
    pub suspended_accounts: Vec<String>,
    /// When set, `arn:aws:iam::<account>:role/<name>` can be assumed in the base account and
    /// every member account.
    pub member_role_name: Option<String>,
    /// How long the credentials AssumeRole issues are accepted.
    pub credential_secs: f64,
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
            accounts: vec![],
            suspended_accounts: vec![],
            member_role_name: None,
            credential_secs: 3600.0,
        }
    }
}

/// The key under which an account's region keeps its events, stats and throttle bucket: the
/// region alone for the base account (as before accounts existed), `account/region` otherwise.
pub fn scope_key(account: &str, region: &str) -> String {
    if account == ACCOUNT {
        region.to_string()
    } else {
        format!("{account}/{region}")
    }
}

/// Epoch seconds, the one clock of the emulator: visibility, stats and the request log.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[derive(Debug, Clone)]
pub(crate) struct Credential {
    pub(crate) secret: String,
    pub(crate) session_token: Option<String>,
    /// Operations this key may not call (AccessDenied), e.g. "LookupEvents", or may not call
    /// in one region, e.g. "LookupEvents@eu-west-1" (as a service control policy denies it).
    pub(crate) denied: Vec<String>,
    /// The account whose events the key sees.
    pub(crate) account: String,
    /// Epoch seconds after which the key is refused (`ExpiredTokenException`).
    pub(crate) expires_at: Option<f64>,
    /// The role it was issued for, for GetCallerIdentity.
    pub(crate) role: Option<String>,
}

/// The emulator's shared state; cheap to clone.
#[derive(Clone)]
pub struct Emulator {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: RwLock<EventStore>,
    pub(crate) credentials: Mutex<HashMap<String, Credential>>,
    pub(crate) roles: Mutex<HashMap<String, RoleGrant>>,
    pub(crate) faults: FaultState,
    pub(crate) stats: Mutex<HashMap<String, RegionStats>>,
    /// One seeded source for generated data, issued keys and fault dice, so a run is
    /// reproducible from its seed.
    pub(crate) rng: Mutex<Rng>,
    pub(crate) requests: RequestLog,
    /// ListAccounts: (id, status), the base account first.
    pub(crate) organization: Vec<(String, &'static str)>,
    pub(crate) credential_secs: Mutex<f64>,
    /// Public keys `ListPublicKeys` serves besides the emulator's own (`add_public_key`).
    pub(crate) extra_public_keys: Mutex<Vec<crate::digests::ServedKey>>,
}

impl Emulator {
    pub fn new(cfg: &EmulatorConfig) -> Self {
        let mut rng = Rng::new(cfg.seed);
        let mut store = EventStore::default();
        let t_now = now() as i64;
        let accounts: Vec<&str> = std::iter::once(ACCOUNT)
            .chain(cfg.accounts.iter().map(String::as_str))
            .collect();
        for (account, region) in accounts
            .iter()
            .flat_map(|a| cfg.regions.iter().map(move |r| (*a, r)))
        {
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
                let event = management_event_of(&mut rng, account, region, time);
                (event, visible_at, false)
            });
            let mut events: Vec<_> = events.collect();
            // Insights are enabled in `insight_regions`, or everywhere when none is named.
            let insights = cfg.insight_regions.is_empty() || cfg.insight_regions.contains(region);
            if account == ACCOUNT && insights {
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
            store.extend(&scope_key(account, region), events);
        }
        let mut credentials = HashMap::new();
        credentials.insert(
            cfg.access_key_id.clone(),
            Credential {
                secret: cfg.secret_access_key.clone(),
                session_token: None,
                denied: vec![],
                account: ACCOUNT.to_string(),
                expires_at: None,
                role: None,
            },
        );
        let mut roles = HashMap::new();
        roles.insert(DEFAULT_ROLE_ARN.to_string(), RoleGrant::default());
        if let Some(name) = &cfg.member_role_name {
            for account in &accounts {
                roles.insert(member_role_arn(account, name), RoleGrant::default());
            }
        }
        let organization = accounts
            .iter()
            .map(|a| (a.to_string(), "ACTIVE"))
            .chain(
                cfg.suspended_accounts
                    .iter()
                    .map(|a| (a.clone(), "SUSPENDED")),
            )
            .collect();
        Emulator {
            inner: Arc::new(Inner {
                store: RwLock::new(store),
                credentials: Mutex::new(credentials),
                roles: Mutex::new(roles),
                faults: FaultState::new(cfg.faults.clone()),
                stats: Mutex::new(HashMap::new()),
                rng: Mutex::new(rng),
                requests: RequestLog::default(),
                organization,
                credential_secs: Mutex::new(cfg.credential_secs),
                extra_public_keys: Mutex::new(Vec::new()),
            }),
        }
    }

    /// `ListPublicKeys` also serves `der` (any bytes: a hostile or broken answer) under
    /// `fingerprint`, valid over `[valid_from, valid_to]` (epoch seconds).
    pub fn add_public_key(&self, fingerprint: &str, der: &[u8], valid_from: i64, valid_to: i64) {
        self.inner
            .extra_public_keys
            .lock()
            .unwrap()
            .push(crate::digests::ServedKey {
                fingerprint: fingerprint.to_string(),
                der: der.to_vec(),
                valid_from,
                valid_to,
            });
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
                account: ACCOUNT.to_string(),
                expires_at: None,
                role: None,
            },
        );
    }

    /// The account a key belongs to (the base account for unknown keys).
    pub(crate) fn account_of(&self, key_id: &str) -> String {
        self.inner
            .credentials
            .lock()
            .unwrap()
            .get(key_id)
            .map_or_else(|| ACCOUNT.to_string(), |c| c.account.clone())
    }

    /// Whether the key's credentials have expired.
    pub(crate) fn expired(&self, key_id: &str) -> bool {
        let t = now();
        self.inner
            .credentials
            .lock()
            .unwrap()
            .get(key_id)
            .is_some_and(|c| c.expires_at.is_some_and(|e| t >= e))
    }

    /// Whether the key may call `operation`; unknown keys never reach here (SigV4 rejects them).
    pub(crate) fn denied(&self, key_id: &str, operation: &str, region: &str) -> bool {
        let in_region = format!("{operation}@{region}");
        self.inner
            .credentials
            .lock()
            .unwrap()
            .get(key_id)
            .is_some_and(|c| c.denied.iter().any(|d| *d == operation || *d == in_region))
    }
}

/// The ARN of the member role `name` in `account`.
pub fn member_role_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

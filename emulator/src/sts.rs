//! STS AssumeRole: which roles may be assumed (with which external id), and the temporary keys
//! it hands out, which the emulator then accepts.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};

use crate::emulator::{now, Credential, Emulator};
use crate::http::response;
use crate::records::{iso8601, ACCOUNT};

/// Who may assume a role: with which external id, and which keys it hands out (random ones
/// when not set).
#[derive(Debug, Clone, Default)]
pub(crate) struct RoleGrant {
    external_id: Option<String>,
    issues: Option<(String, String)>,
    /// Operations the issued keys may not call, e.g. "LookupEvents".
    denied: Vec<String>,
}

/// The account of a role ARN (`arn:aws:iam::<account>:role/<name>`).
fn role_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

impl Emulator {
    /// Lets the role be assumed, with an external id if given.
    pub fn add_role(&self, role_arn: &str, external_id: Option<&str>) {
        self.grant(role_arn, external_id, None);
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
        let issues = Some((key_id.to_string(), secret.to_string()));
        self.grant(role_arn, external_id, issues);
    }

    /// Lets the role be assumed, but its keys may not call `denied`: "LookupEvents", or
    /// "LookupEvents@eu-west-1" for one region (as a service control policy would).
    pub fn add_role_denying(&self, role_arn: &str, denied: &[&str]) {
        let grant = RoleGrant {
            denied: denied.iter().map(|d| d.to_string()).collect(),
            ..RoleGrant::default()
        };
        self.inner
            .roles
            .lock()
            .unwrap()
            .insert(role_arn.to_string(), grant);
    }

    /// The role can no longer be assumed, as if its trust policy did not name the caller.
    pub fn remove_role(&self, role_arn: &str) {
        self.inner.roles.lock().unwrap().remove(role_arn);
    }

    /// How long the keys AssumeRole issues from now on are accepted.
    pub fn set_credential_secs(&self, secs: f64) {
        *self.inner.credential_secs.lock().unwrap() = secs;
    }

    fn grant(&self, role_arn: &str, external_id: Option<&str>, issues: Option<(String, String)>) {
        let grant = RoleGrant {
            external_id: external_id.map(String::from),
            issues,
            denied: vec![],
        };
        self.inner
            .roles
            .lock()
            .unwrap()
            .insert(role_arn.to_string(), grant);
    }

    /// Answers an STS call signed by `key_id`: AssumeRole or GetCallerIdentity.
    pub(crate) fn sts(&self, key_id: &str, body: &[u8]) -> Response<Full<Bytes>> {
        let form = parse_form(body);
        if form_value(&form, "Action") == Some("GetCallerIdentity") {
            return self.caller_identity(key_id);
        }
        self.assume_role(&form)
    }

    fn caller_identity(&self, key_id: &str) -> Response<Full<Bytes>> {
        let (account, role) = {
            let creds = self.inner.credentials.lock().unwrap();
            let c = creds.get(key_id);
            (
                c.map_or_else(|| ACCOUNT.to_string(), |c| c.account.clone()),
                c.and_then(|c| c.role.clone()),
            )
        };
        let arn = match role {
            Some(role) => {
                let name = role.rsplit('/').next().unwrap_or("role");
                format!("arn:aws:sts::{account}:assumed-role/{name}/session")
            }
            None => format!("arn:aws:iam::{account}:user/emulated"),
        };
        let xml = format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>{arn}</Arn><UserId>AIDAEMULATED</UserId><Account>{account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000002</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
        );
        response(StatusCode::OK, "text/xml", xml)
    }

    fn assume_role(&self, form: &[(String, String)]) -> Response<Full<Bytes>> {
        let get = |k: &str| form_value(form, k);
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
        let denied = grant.as_ref().map(|g| g.denied.clone()).unwrap_or_default();
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
        let lifetime = *self.inner.credential_secs.lock().unwrap();
        let expires_at = now() + lifetime;
        self.inner.credentials.lock().unwrap().insert(
            key_id.clone(),
            Credential {
                secret: secret.clone(),
                session_token: Some(token.clone()),
                denied,
                account: role_account(role).unwrap_or(ACCOUNT).to_string(),
                expires_at: Some(expires_at),
                role: Some(role.to_string()),
            },
        );
        let session = get("RoleSessionName").unwrap_or("session");
        let xml = format!(
            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><Credentials><AccessKeyId>{key_id}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey><SessionToken>{token}</SessionToken><Expiration>{}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAEMULATED:{s}</AssumedRoleId><Arn>{r}/{s}</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000001</RequestId></ResponseMetadata></AssumeRoleResponse>",
            iso8601(expires_at as i64),
            s = xml_escape(session),
            r = xml_escape(role),
        );
        response(StatusCode::OK, "text/xml", xml)
    }
}

/// The `Action` of an STS query-protocol body, e.g. "AssumeRole".
pub(crate) fn action(body: &[u8]) -> Option<String> {
    form_value(&parse_form(body), "Action").map(String::from)
}

fn form_value<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
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

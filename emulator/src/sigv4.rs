//! SigV4 verification: the emulator authenticates requests the way AWS does, so a wrong key id or
//! secret is rejected with AWS's own error codes, and the signing scope tells which region is asked.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// What a verified signature tells about the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedScope {
    pub access_key_id: String,
    pub region: String,
    pub service: String,
}

/// Why a request is not authenticated, named after the AWS error codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// No or unparsable Authorization header.
    MissingAuthenticationToken,
    /// The access key id (or its session token) is unknown.
    UnrecognizedClient,
    /// The signature does not match: wrong secret.
    InvalidSignature,
}

pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// Header names lower-case.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
struct Authorization<'a> {
    key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

/// The value of a header (names lower-case).
pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn authorization(headers: &[(String, String)]) -> Option<Authorization<'_>> {
    let rest = header(headers, "authorization")?.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let scope: Vec<&str> = credential?.split('/').collect();
    let [key_id, date, region, service, "aws4_request"] = scope[..] else {
        return None;
    };
    Some(Authorization {
        key_id,
        date,
        region,
        service,
        signed_headers: signed_headers?,
        signature: signature?,
    })
}

/// The region a request's signature claims, before anything about it is checked.
pub fn claimed_region(headers: &[(String, String)]) -> Option<&str> {
    authorization(headers).map(|a| a.region)
}

/// Verifies `req`; `secret_for` returns the secret and the session token (if any) of a key id.
pub fn verify(
    req: &SignedRequest<'_>,
    secret_for: impl Fn(&str) -> Option<(String, Option<String>)>,
) -> Result<SignedScope, AuthFailure> {
    let auth = authorization(req.headers).ok_or(AuthFailure::MissingAuthenticationToken)?;
    let (secret, token) = secret_for(auth.key_id).ok_or(AuthFailure::UnrecognizedClient)?;
    if let Some(token) = token {
        if header(req.headers, "x-amz-security-token") != Some(token.as_str()) {
            return Err(AuthFailure::UnrecognizedClient);
        }
    }
    let expected = signature(req, &auth, &secret).ok_or(AuthFailure::MissingAuthenticationToken)?;
    if expected != auth.signature {
        return Err(AuthFailure::InvalidSignature);
    }
    Ok(SignedScope {
        access_key_id: auth.key_id.to_string(),
        region: auth.region.to_string(),
        service: auth.service.to_string(),
    })
}

/// The signature `req` should carry for the scope and headers its Authorization header names,
/// so that tests can sign a request by filling in a placeholder.
#[cfg(test)]
pub(crate) fn sign(req: &SignedRequest<'_>, secret: &str) -> Option<String> {
    signature(req, &authorization(req.headers)?, secret)
}

/// The expected signature; `None` without an `X-Amz-Date`.
fn signature(req: &SignedRequest<'_>, auth: &Authorization<'_>, secret: &str) -> Option<String> {
    let header = |name: &str| header(req.headers, name);
    let amz_date = header("x-amz-date")?;
    let mut canonical = format!(
        "{}\n{}\n{}\n",
        req.method,
        req.path,
        canonical_query(req.query)
    );
    for name in auth.signed_headers.split(';') {
        let value = header(name).unwrap_or("");
        canonical.push_str(name);
        canonical.push(':');
        canonical.push_str(&value.split_whitespace().collect::<Vec<_>>().join(" "));
        canonical.push('\n');
    }
    canonical.push('\n');
    canonical.push_str(auth.signed_headers);
    canonical.push('\n');
    match header("x-amz-content-sha256") {
        Some(h) => canonical.push_str(h),
        None => canonical.push_str(&hex(&Sha256::digest(req.body))),
    }
    let (date, region, service) = (auth.date, auth.region, auth.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    Some(hex(&hmac(&key, string_to_sign.as_bytes())))
}

/// The query's pairs sorted, a bare name (S3's `?location`) with an empty value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.contains('=') {
            true => p.to_string(),
            false => format!("{p}="),
        })
        .collect();
    pairs.sort_unstable();
    pairs.join("&")
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

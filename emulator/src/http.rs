//! The HTTP server: listening, routing each request to the control API, STS or CloudTrail after
//! SigV4, logging the AWS ones, and the shapes of AWS JSON answers.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::json;

use crate::cloudtrail::operation;
use crate::emulator::{now, Emulator};
use crate::requests::RequestSeen;
use crate::sigv4::{self, AuthFailure, SignedRequest};
use crate::store::ApiError;
use crate::sts;

/// A request's headers as SigV4 reads them: names lower-case (as hyper gives them), values as
/// text.
pub(crate) fn header_pairs(headers: &hyper::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// What a server answers a request with; `Err` drops the connection without an answer.
pub(crate) type Answered = Result<Response<Full<Bytes>>, std::io::Error>;

/// Serves each connection of `listener` over HTTP/1.1 with `handle` until the listener fails.
pub(crate) async fn serve_http<H, F>(listener: tokio::net::TcpListener, handle: H)
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + 'static,
    F: std::future::Future<Output = Answered> + Send + 'static,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(handle);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Runs `serve` on a free loopback port, on a thread `name` of its own with `workers` runtime
/// threads; returns the endpoint URL.
pub(crate) fn spawn_http<S, F>(name: &str, workers: usize, serve: S) -> std::io::Result<String>
where
    S: FnOnce(tokio::net::TcpListener) -> F + Send + 'static,
    F: std::future::Future<Output = ()>,
{
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    std_listener.set_nonblocking(true)?;
    let addr: SocketAddr = std_listener.local_addr()?;
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .enable_all()
                .build()
                .expect("server runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                serve(listener).await
            })
        })?;
    Ok(format!("http://{addr}"))
}

impl Emulator {
    /// Serves until the listener fails.
    pub async fn serve(self, listener: tokio::net::TcpListener) {
        serve_http(listener, move |req| {
            let emu = self.clone();
            async move { emu.handle(req).await }
        })
        .await
    }

    /// Starts serving on a free loopback port on a thread of its own; returns the endpoint URL.
    pub fn spawn(self) -> std::io::Result<String> {
        spawn_http("cloudtrail-emulator", 1, move |listener| {
            self.serve(listener)
        })
    }

    /// One request; `Err` makes hyper drop the connection without an answer.
    async fn handle(
        &self,
        req: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, std::io::Error> {
        // Taken before the body is read, so a slow upload does not move when a request started.
        let arrived = now();
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
        let headers = header_pairs(&parts.headers);
        let target = sigv4::header(&headers, "x-amz-target").unwrap_or("");
        let action = match target {
            "" => sts::action(&body).unwrap_or_default(),
            target => operation(target).to_string(),
        };
        self.inner.requests.push(RequestSeen {
            at: arrived,
            action,
            region: sigv4::claimed_region(&headers).unwrap_or("").to_string(),
        });
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
        if self.expired(&scope.access_key_id) {
            return Ok(json_error(
                StatusCode::BAD_REQUEST,
                &ApiError {
                    code: "ExpiredTokenException",
                    message: "The security token included in the request is expired".into(),
                },
            ));
        }
        match scope.service.as_str() {
            "sts" => return Ok(self.sts(&scope.access_key_id, &body)),
            "organizations" => {
                let caller = self.account_of(&scope.access_key_id);
                return Ok(self.organizations(&caller, operation(target), &body));
            }
            _ => {}
        }
        self.cloudtrail(&scope, target, &body)
            .await
            .map_err(|_| std::io::Error::other("connection dropped by the fault knob"))
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

/// An AWS JSON 1.1 error answer.
pub(crate) fn json_error(status: StatusCode, e: &ApiError) -> Response<Full<Bytes>> {
    let body = json!({"__type": e.code, "message": e.message}).to_string();
    response(status, "application/x-amz-json-1.1", body)
}

pub(crate) fn response(
    status: StatusCode,
    content_type: &str,
    body: String,
) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-requestid", "00000000-0000-4000-8000-00000000e001")
        .body(Full::new(Bytes::from(body)))
        .expect("static response parts are valid")
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;
    use crate::{EmulatorConfig, DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY};

    /// Sends one HTTP/1.1 request; the status line and body of the answer, or "" when the
    /// connection is dropped.
    fn send(
        endpoint: &str,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: &str,
    ) -> String {
        let addr = endpoint.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        let mut text = format!(
            "{method} {path} HTTP/1.1\r\nconnection: close\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            text.push_str(&format!("{k}: {v}\r\n"));
        }
        text.push_str("\r\n");
        text.push_str(body);
        stream.write_all(text.as_bytes()).unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    }

    /// POSTs `body` signed with the default keys for `region`/`service`.
    fn signed_post(
        endpoint: &str,
        region: &str,
        service: &str,
        target: Option<&str>,
        body: &str,
    ) -> String {
        let mut headers = vec![
            (
                "host".to_string(),
                endpoint.trim_start_matches("http://").to_string(),
            ),
            ("x-amz-date".to_string(), "20250101T000000Z".to_string()),
        ];
        if let Some(t) = target {
            headers.push(("x-amz-target".to_string(), t.to_string()));
        }
        let names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
        let authorization = |signature: &str| {
            format!(
                "AWS4-HMAC-SHA256 Credential={DEFAULT_ACCESS_KEY_ID}/20250101/{region}/{service}/aws4_request, SignedHeaders={}, Signature={signature}",
                names.join(";")
            )
        };
        let mut with_auth = headers.clone();
        with_auth.push(("authorization".to_string(), authorization("0")));
        let req = SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &with_auth,
            body: body.as_bytes(),
        };
        let signature = sigv4::sign(&req, DEFAULT_SECRET_ACCESS_KEY).unwrap();
        headers.push(("authorization".to_string(), authorization(&signature)));
        send(endpoint, "POST", "/", &headers, body)
    }

    const TARGET: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";

    #[test]
    fn every_aws_request_is_logged_when_it_arrives_and_control_calls_are_not() {
        let emulator = Emulator::new(&EmulatorConfig {
            regions: vec!["eu-west-1".into()],
            events_per_region: 3,
            ..EmulatorConfig::default()
        });
        emulator.set_faults(crate::Faults {
            unreachable_regions: vec!["ap-south-1".into()],
            ..Default::default()
        });
        let endpoint = emulator.clone().spawn().unwrap();
        let before = now();

        let lookup = format!("{TARGET}LookupEvents");
        let answer = signed_post(&endpoint, "eu-west-1", "cloudtrail", Some(&lookup), "{}");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert_eq!(answer.matches("\"EventId\"").count(), 3);

        let form = format!(
            "Action=AssumeRole&Version=2011-06-15&RoleSessionName=s&RoleArn={}",
            crate::DEFAULT_ROLE_ARN
        );
        let answer = signed_post(&endpoint, "us-east-1", "sts", None, &form);
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.contains("<AccessKeyId>"),
            "{answer}"
        );

        let describe = vec![(
            "x-amz-target".to_string(),
            format!("{TARGET}DescribeTrails"),
        )];
        let answer = send(&endpoint, "POST", "/", &describe, "{}");
        assert!(
            answer.contains("MissingAuthenticationTokenException"),
            "{answer}"
        );

        let answer = signed_post(&endpoint, "ap-south-1", "cloudtrail", Some(&lookup), "{}");
        assert_eq!(answer, "", "the unreachable region's call is dropped");

        assert!(send(&endpoint, "GET", "/_emulator/health", &[], "").starts_with("HTTP/1.1 200"));
        let after = now();

        let seen = emulator.requests();
        let asked: Vec<(&str, &str)> = seen
            .iter()
            .map(|r| (r.action.as_str(), r.region.as_str()))
            .collect();
        assert_eq!(
            asked,
            [
                ("LookupEvents", "eu-west-1"),
                ("AssumeRole", "us-east-1"),
                ("DescribeTrails", ""),
                ("LookupEvents", "ap-south-1")
            ]
        );
        assert!(seen.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(seen.iter().all(|r| before <= r.at && r.at <= after));

        let listed = send(&endpoint, "GET", "/_emulator/requests", &[], "");
        assert!(listed.starts_with("HTTP/1.1 200"), "{listed}");
        let json = listed.split("\r\n\r\n").nth(1).unwrap();
        let listed: Vec<RequestSeen> = serde_json::from_str(json).unwrap();
        // serde_json's default float parser may be off in the last bit; the log's clock is not.
        assert_eq!(
            listed.len(),
            seen.len(),
            "the control API adds nothing to the log"
        );
        for (l, s) in listed.iter().zip(&seen) {
            assert_eq!((&l.action, &l.region), (&s.action, &s.region));
            assert!((l.at - s.at).abs() < 1e-6, "{} vs {}", l.at, s.at);
        }
    }
}

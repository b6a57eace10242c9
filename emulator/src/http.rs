//! The HTTP server: listening, routing each request to the control API, STS or CloudTrail after
//! SigV4, and the shapes of AWS JSON answers.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::json;

use crate::emulator::Emulator;
use crate::sigv4::{self, AuthFailure, SignedRequest};
use crate::store::ApiError;

impl Emulator {
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

    /// One request; `Err` makes hyper drop the connection without an answer.
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
        let target = headers
            .iter()
            .find(|(k, _)| k == "x-amz-target")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
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

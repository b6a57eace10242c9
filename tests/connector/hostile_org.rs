//! Issue 26 (items 5, 6, 7, 14, 16, 17, 18, 20) and issue 25's doubled `check` sentence: a
//! hostile or broken AWS Organizations, STS or CloudTrail answering from a loopback server
//! scripted per request, an organization of 100,000 accounts, a Requester Pays bucket, configs
//! and states no sync can honour. Every run is bounded: a hang fails the test instead of
//! holding it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cloudtrail_emulator::records::iso8601;
use cloudtrail_emulator::s3::{S3Config, S3Server as EmulatedS3};
use cloudtrail_emulator::trail_logs::{write_corpus, CorpusSpec};
use cloudtrail_emulator::{EmulatorConfig, ACCOUNT};
use serde_json::{json, Value};

use crate::hostile::Answer;
use crate::s3::{event_ids, spec, KEY_ID, SECRET, TRAIL_EVENTS};
use crate::support::*;

/// Longer than any of these runs takes once fixed, on any machine; far shorter than the
/// hangs they pin down (forever, or a sync's 600 s retry budget).
const BOUND: Duration = Duration::from_secs(120);
const ROLE: &str = "cloudtrail-reader";

/// One request as the scripted server saw it.
pub struct Seen {
    head: String,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The operation: a JSON protocol's target (`ListAccounts`) or a query's `Action`.
    fn action(&self) -> String {
        if let Some(target) = self.header("x-amz-target") {
            return target.rsplit('.').next().unwrap_or("").to_string();
        }
        let body = String::from_utf8_lossy(&self.body);
        body.split('&')
            .find_map(|p| p.strip_prefix("Action="))
            .unwrap_or("")
            .to_string()
    }

    fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A loopback HTTP server answering each request with `script(request)`; logs the actions.
pub struct Scripted {
    pub endpoint: String,
    actions: Arc<Mutex<Vec<String>>>,
}

type Script = Arc<dyn Fn(&Seen) -> Answer + Send + Sync>;

impl Scripted {
    pub fn start(script: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let actions = Arc::new(Mutex::new(Vec::new()));
        let (log, script): (_, Script) = (actions.clone(), Arc::new(script));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let (log, script) = (log.clone(), script.clone());
                std::thread::spawn(move || serve(conn, &log, &*script));
            }
        });
        Scripted { endpoint, actions }
    }

    fn calls(&self, action: &str) -> usize {
        self.actions
            .lock()
            .unwrap()
            .iter()
            .filter(|a| *a == action)
            .count()
    }
}

/// Answers the requests of one connection, keep-alive, until the client goes.
fn serve(mut conn: TcpStream, log: &Mutex<Vec<String>>, script: &dyn Fn(&Seen) -> Answer) {
    let (mut buf, mut chunk) = (Vec::new(), [0u8; 8192]);
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match conn.read(&mut chunk) {
                Ok(n @ 1..) => buf.extend_from_slice(&chunk[..n]),
                _ => return,
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let seen_head = Seen {
            head: head.clone(),
            body: vec![],
        };
        let length: usize = seen_head
            .header("content-length")
            .map_or(0, |v| v.parse().unwrap_or(0));
        while buf.len() < head_end + length {
            match conn.read(&mut chunk) {
                Ok(n @ 1..) => buf.extend_from_slice(&chunk[..n]),
                _ => return,
            }
        }
        let body = buf[head_end..head_end + length].to_vec();
        buf.drain(..head_end + length);
        let seen = Seen { head, body };
        log.lock().unwrap().push(seen.action());
        let answer = script(&seen);
        if conn.write_all(answer.head.as_bytes()).is_err() || conn.write_all(&answer.body).is_err()
        {
            return;
        }
    }
}

/// Runs the binary with `args` and `env`; fails the test if it has not ended within `BOUND`.
fn run_bounded(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut child = command(args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let stdout = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let stderr = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} did not end within {BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Run::decode(
        &stdout.join().unwrap(),
        status.code(),
        String::from_utf8_lossy(&stderr.join().unwrap()).into_owned(),
    )
}

fn check_bounded(config: &std::path::Path, env: &[(&str, &str)]) -> Run {
    run_bounded(&["check", "--config", &path(config)], env)
}

fn read_bounded(
    emu: &Env,
    config: &std::path::Path,
    streams: &[&str],
    state: Option<&Value>,
    env: &[(&str, &str)],
) -> Run {
    let args = emu.read_args(config, streams, "incremental", state);
    run_bounded(&args.iter().map(String::as_str).collect::<Vec<_>>(), env)
}

/// The message of the run's one TRACE error of `failure_type`.
fn error_of(run: &Run, failure_type: &str) -> String {
    let errors = run.errors();
    let e = errors
        .iter()
        .find(|e| e["failure_type"] == failure_type)
        .unwrap_or_else(|| panic!("no {failure_type} in {errors:?}\n{}", run.stdout));
    e["message"].as_str().unwrap().to_string()
}

fn account_json(id: &str) -> Value {
    json!({"Id": id, "Arn": format!("arn:aws:organizations::{ACCOUNT}:account/o-x/{id}"),
        "Email": "a@example.com", "Name": "a", "Status": "ACTIVE", "State": "ACTIVE",
        "JoinedMethod": "CREATED", "JoinedTimestamp": 1_600_000_000.0})
}

/// A ListAccounts page of `ids`, with `next` when set.
fn accounts_page(ids: &[&str], next: Option<String>) -> Answer {
    let mut page = json!({"Accounts": ids.iter().map(|i| account_json(i)).collect::<Vec<_>>()});
    if let Some(next) = next {
        page["NextToken"] = json!(next);
    }
    Answer::json(page.to_string())
}

fn org_env() -> Env {
    Env::new(EmulatorConfig {
        member_role_name: Some(ROLE.into()),
        events_per_region: 20,
        ..EmulatorConfig::default()
    })
}

/// A case: what it is, the answer to request `T`, the words the message must hold.
type Case<T> = (&'static str, fn(T) -> Answer, &'static str);

// Item 5: ListAccounts without a page guard.

#[test]
fn a_list_accounts_that_never_ends_fails_check_and_read_with_a_message() {
    let cases: [Case<usize>; 3] = [
        (
            "a repeated NextToken",
            |_| accounts_page(&[ACCOUNT], Some("same".into())),
            "hands back a token an earlier page gave",
        ),
        (
            "endless new tokens without a new account",
            |n| accounts_page(&[ACCOUNT], Some(format!("t{n}"))),
            "brought nothing new",
        ),
        (
            "endless empty pages",
            |n| accounts_page(&[], Some(format!("t{n}"))),
            "brought nothing new",
        ),
    ];
    for (what, page, words) in cases {
        let env = org_env();
        let count = Arc::new(Mutex::new(0usize));
        let organizations = Scripted::start(move |_| {
            let mut n = count.lock().unwrap();
            *n += 1;
            page(*n)
        });
        let vars = [
            ("AWS_ENDPOINT_URL_STS", env.endpoint.as_str()),
            (
                "AWS_ENDPOINT_URL_ORGANIZATIONS",
                organizations.endpoint.as_str(),
            ),
        ];
        let config = env.config(json!({"organization": {"member_role_name": ROLE}}));

        // check answers (a sample of the first pages is enough for it), whatever the listing.
        let check = check_bounded(&config, &vars);
        let (status, message) = check.connection_status();
        match what {
            "a repeated NextToken" => {
                assert_eq!(status, "FAILED", "{what}: {message}");
                assert!(
                    message.contains("ListAccounts") && message.contains(words),
                    "{what}: {message}"
                );
            }
            "endless empty pages" => {
                assert_eq!(status, "FAILED", "{what}: {message}");
                assert!(
                    message.contains("ListAccounts found no ACTIVE account"),
                    "{what}: {message}"
                );
            }
            _ => assert_eq!(status, "SUCCEEDED", "{what}: {message}"),
        }

        let run = read_bounded(&env, &config, &[STREAM], None, &vars);
        assert_eq!(run.code, Some(1), "{what}: {}", run.stdout);
        let message = error_of(&run, "transient_error");
        assert!(
            message.contains("ListAccounts") && message.contains(words),
            "{what}: {message}"
        );
    }
}

// Item 6: check's own budget for DescribeTrails.

#[test]
fn check_answers_within_its_budget_when_describe_trails_fails() {
    let env = Env::new(EmulatorConfig::default());
    let answers: [Case<()>; 2] = [
        (
            "a 500",
            |()| {
                Answer::new(
                    "500 Internal Server Error",
                    &[("Content-Type", "application/x-amz-json-1.1")],
                    r#"{"__type":"InternalFailure","message":"boom"}"#,
                )
            },
            "HTTP 500",
        ),
        (
            "a non-JSON 200",
            |()| {
                Answer::new(
                    "200 OK",
                    &[("Content-Type", "text/html")],
                    "<html>proxy</html>",
                )
            },
            "HTTP 200, but not as CloudTrail does",
        ),
    ];
    for (what, describe, words) in answers {
        let cloudtrail = Scripted::start(move |req| match req.action().as_str() {
            "DescribeTrails" => describe(()),
            _ => Answer::json(r#"{"Events":[]}"#),
        });
        let config = env.config(json!({"endpoint_url": cloudtrail.endpoint,
            "trail_logs": {"trail": "my-trail", "endpoint_url": "http://127.0.0.1:9"}}));
        let started = Instant::now();
        let check = check_bounded(&config, &[]);
        let took = started.elapsed();
        assert_eq!(check.code, Some(0), "{what}: {}", check.stdout);
        let (status, message) = check.connection_status();
        assert_eq!(status, "FAILED", "{what}: {message}");
        assert!(
            message.contains("trail_events") && message.contains("DescribeTrails"),
            "{what}: {message}"
        );
        assert!(message.contains(words), "{what}: {message}");
        eprintln!("{what}: check answered in {took:?}");
    }
}

// Item 7: 100,000 accounts.

#[test]
fn check_of_a_hundred_thousand_accounts_samples_their_roles_and_answers() {
    let members: Vec<String> = (1..=100_000u64)
        .map(|i| format!("{}", 300_000_000_000 + i))
        .collect();
    let env = Env::new(EmulatorConfig {
        member_role_name: Some(ROLE.into()),
        accounts: members.clone(),
        ..EmulatorConfig::default()
    });
    let config =
        env.config(json!({"organization": {"member_role_name": ROLE, "accounts": members}}));
    let vars = [("AWS_ENDPOINT_URL_STS", env.endpoint.as_str())];
    let check = check_bounded(&config, &vars);
    let (status, message) = check.connection_status();
    assert_eq!(status, "SUCCEEDED", "{message}");
    assert!(
        message.contains("16 of 16 sampled accounts readable")
            && message.contains("of 100000 accounts"),
        "{message}"
    );
    assert_eq!(
        assume_roles(&env),
        16,
        "check assumes a sample of the roles"
    );
}

// Item 14: a pace no sync can keep, a cursor after every event.

#[test]
fn a_pace_slower_than_a_page_a_day_is_refused_naming_the_field() {
    let env = Env::with_events(&["us-east-1"], 10, 3600, 0);
    let config = env.config(json!({"requests_per_second": 1e-9}));
    let run = read_bounded(&env, &config, &[STREAM], None, &[]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let message = error_of(&run, "config_error");
    assert!(message.contains("requests_per_second"), "{message}");
    let check = check_bounded(&config, &[]);
    let (status, message) = check.connection_status();
    assert_eq!(status, "FAILED");
    assert!(message.contains("requests_per_second"), "{message}");
}

/// Not refused: Airbyte's acceptance tests read a state of abnormally large values and expect
/// no record and success; but never without a word.
#[test]
fn a_lookup_cursor_after_every_event_is_named_in_a_warning() {
    let env = Env::with_events(&["us-east-1"], 10, 3600, 60);
    let config = env.config(json!({}));
    for (stream_state, field) in [
        (
            json!({"state_version": 2, "regions": {"us-east-1": {"read_through": 4_102_444_800u64}}}),
            "regions.us-east-1.read_through",
        ),
        (json!({"EventTime": 4_102_444_800u64}), "EventTime"),
    ] {
        let state = state_file(STREAM, &stream_state);
        let run = read_bounded(&env, &config, &[STREAM], Some(&state), &[]);
        assert_eq!(run.code, Some(0), "{}", run.stdout);
        assert!(run.records().is_empty());
        let warning = run
            .logs()
            .into_iter()
            .find(|l| l.contains("after now"))
            .unwrap_or_else(|| panic!("no warning: {:?}", run.logs()));
        assert!(
            warning.contains(field) && warning.contains("2100-01-01") && warning.contains(STREAM),
            "{warning}"
        );
    }
    // A state the connector wrote a moment ago is no cause for a warning.
    let run = read_bounded(&env, &config, &[STREAM], None, &[]);
    let again = read_bounded(&env, &config, &[STREAM], Some(&run.last_state()), &[]);
    assert!(
        !again.logs().iter().any(|l| l.contains("after now")),
        "{:?}",
        again.logs()
    );
}

// Item 16: the member role's external id, and ids ListAccounts gives.

/// An STS whose GetCallerIdentity works and whose AssumeRole refuses, quoting the request.
fn quoting_sts() -> Scripted {
    Scripted::start(|req| {
        match req.action().as_str() {
        "GetCallerIdentity" => caller_identity(),
        _ => Answer::new(
            "403 Forbidden",
            &[("Content-Type", "text/xml")],
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized: request was {}</Message></Error><RequestId>1</RequestId></ErrorResponse>",
                xml_text(&req.body_text())
            ),
        ),
    }
    })
}

fn xml_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;")
}

fn caller_identity() -> Answer {
    Answer::new(
        "200 OK",
        &[("Content-Type", "text/xml")],
        format!("<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::{ACCOUNT}:user/u</Arn><UserId>U</UserId><Account>{ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"),
    )
}

#[test]
fn an_external_id_quoted_by_sts_is_never_printed() {
    const EXTERNAL: &str = "EXT+marker/0004=x";
    const ENCODED: &str = "EXT%2Bmarker%2F0004%3Dx";
    let env = org_env();
    let sts = quoting_sts();
    let vars = [("AWS_ENDPOINT_URL_STS", sts.endpoint.as_str())];
    let configs = [
        env.config(json!({"organization": {"member_role_name": ROLE,
            "member_role_external_id": EXTERNAL, "accounts": [ACCOUNT]}})),
        env.config(json!({"role_arn": format!("arn:aws:iam::{ACCOUNT}:role/r"),
            "role_external_id": EXTERNAL})),
    ];
    for config in configs {
        let check = check_bounded(&config, &vars);
        let (status, message) = check.connection_status();
        assert_eq!(status, "FAILED", "{message}");
        assert!(message.contains("AccessDenied"), "{message}");
        let read = read_bounded(&env, &config, &[STREAM], None, &vars);
        assert_eq!(read.code, Some(1));
        for run in [&check, &read] {
            for marker in [EXTERNAL, ENCODED, "EXT%2bmarker"] {
                assert!(!run.stdout.contains(marker), "{marker}: {}", run.stdout);
                assert!(!run.stderr.contains(marker), "{marker}: {}", run.stderr);
            }
        }
        assert!(sts.calls("AssumeRole") > 0, "STS was asked");
    }
}

#[test]
fn ids_list_accounts_gives_that_are_not_account_ids_are_reported_and_never_used() {
    let env = org_env();
    let organizations =
        Scripted::start(|_| accounts_page(&["*", "../../../../", "1234\nINJECTED", ACCOUNT], None));
    let vars = [
        ("AWS_ENDPOINT_URL_STS", env.endpoint.as_str()),
        (
            "AWS_ENDPOINT_URL_ORGANIZATIONS",
            organizations.endpoint.as_str(),
        ),
    ];
    let config = env.config(json!({"organization": {"member_role_name": ROLE}}));
    let escaped = [r#""*""#, r#""../../../../""#, r#""1234\nINJECTED""#];

    let check = check_bounded(&config, &vars);
    let (status, message) = check.connection_status();
    assert_eq!(status, "SUCCEEDED", "{message}");
    assert!(message.contains("1 of 1 accounts readable"), "{message}");
    for e in escaped {
        assert!(message.contains(e), "{e}: {message}");
    }

    let assumed_by_check = assume_roles(&env);
    let run = read_bounded(&env, &config, &[STREAM], None, &vars);
    assert_eq!(run.code, Some(0), "{:?}", run.errors());
    let warning = run
        .logs()
        .into_iter()
        .find(|l| l.contains("not AWS account ids"))
        .expect("a warning names the ids");
    for e in escaped {
        assert!(warning.contains(e), "{e}: {warning}");
    }
    assert!(!warning.contains('\n'), "{warning}");
    let state = &run.last_state()[0]["stream"]["stream_state"];
    let keys: Vec<&String> = state["accounts"].as_object().unwrap().keys().collect();
    assert_eq!(keys, vec![ACCOUNT], "{state}");
    assert_eq!(
        assume_roles(&env) - assumed_by_check,
        1,
        "only the account id's role is assumed"
    );
}

fn assume_roles(env: &Env) -> usize {
    env.emulator
        .requests()
        .iter()
        .filter(|r| r.action == "AssumeRole")
        .count()
}

// Item 17: Requester Pays buckets.

#[test]
fn a_requester_pays_bucket_is_read_with_requester_pays_and_named_without() {
    let env = Env::new(EmulatorConfig::default());
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join(crate::s3::BUCKET)).unwrap();
    let corpus = write_corpus(root.path(), &spec(&[ACCOUNT], &["us-east-1"], 2, 5)).unwrap();
    let server = EmulatedS3::new(S3Config {
        root: root.path().to_path_buf(),
        access_key: KEY_ID.into(),
        secret_key: SECRET.into(),
        list_latency: Duration::ZERO,
    });
    server.set_requester_pays(true);
    let endpoint = server.clone().spawn().unwrap();
    let logs = |pays: Option<bool>| {
        env.config(
            json!({"trail_logs": {"bucket": crate::s3::BUCKET, "endpoint_url": endpoint,
            "aws_key_id": KEY_ID, "aws_secret_key": SECRET, "requester_pays": pays}}),
        )
    };

    let denied = logs(None);
    let run = read_bounded(&env, &denied, &[TRAIL_EVENTS], None, &[]);
    assert_eq!(run.code, Some(1));
    let message = error_of(&run, "config_error");
    assert!(message.contains("trail_logs.requester_pays"), "{message}");

    let paying = logs(Some(true));
    let check = check_bounded(&paying, &[]);
    let (status, message) = check.connection_status();
    assert_eq!(status, "SUCCEEDED", "{message}");
    assert!(!message.contains("trail_events: NOT"), "{message}");
    let run = read_bounded(&env, &paying, &[TRAIL_EVENTS], None, &[]);
    assert_eq!(run.code, Some(0), "{:?}", run.errors());
    let expected: usize = corpus.files.iter().map(|(_, ids)| ids.len()).sum();
    assert_eq!(event_ids(&run).len(), expected);
}

// Item 18: member credentials STS hands out without a (future) expiry, or unusable.

/// An STS that hands out the emulator's `key` for any role, with `expiration` (none: the
/// element is left out) and the access key id as `shown_key`.
fn sts_issuing(shown_key: &'static str, expiration: Option<String>) -> Scripted {
    Scripted::start(move |req| match req.action().as_str() {
        "GetCallerIdentity" => caller_identity(),
        _ => {
            let expiry = expiration
                .as_ref()
                .map(|e| format!("<Expiration>{e}</Expiration>"))
                .unwrap_or_default();
            Answer::new(
                "200 OK",
                &[("Content-Type", "text/xml")],
                format!("<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>{shown_key}</AccessKeyId><SecretAccessKey>member/secret</SecretAccessKey><SessionToken>member-token</SessionToken>{expiry}</Credentials><AssumedRoleUser><AssumedRoleId>A:s</AssumedRoleId><Arn>arn:aws:sts::{ACCOUNT}:assumed-role/r/s</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>"),
            )
        }
    })
}

#[test]
fn member_credentials_without_a_future_expiry_are_assumed_once_not_per_call() {
    for (what, expiration) in [
        ("without an expiry", None),
        ("already expired", Some(iso8601(now() - 3600))),
    ] {
        // 300 events an hour: pages of 50, several LookupEvents calls with the member's keys.
        let env = Env::with_events(&["us-east-1"], 300, 3600, 60);
        env.emulator
            .add_credentials("ASIAMEMBER", "member/secret", Some("member-token"), &[]);
        let sts = sts_issuing("ASIAMEMBER", expiration);
        let vars = [("AWS_ENDPOINT_URL_STS", sts.endpoint.as_str())];
        let config =
            env.config(json!({"organization": {"member_role_name": ROLE, "accounts": [ACCOUNT]}}));
        let run = read_bounded(&env, &config, &[STREAM], None, &vars);
        assert_eq!(run.code, Some(0), "{what}: {:?}", run.errors());
        assert_eq!(run.ids().len(), 300, "{what}");
        let lookups = env
            .emulator
            .requests()
            .iter()
            .filter(|r| r.action == "LookupEvents")
            .count();
        assert!(lookups >= 6, "{what}: {lookups} LookupEvents");
        assert_eq!(sts.calls("AssumeRole"), 1, "{what}: one AssumeRole");
    }
}

#[test]
fn unusable_sts_answers_are_said_to_come_from_sts() {
    let env = org_env();
    let garbled = Scripted::start(|req| match req.action().as_str() {
        "GetCallerIdentity" => caller_identity(),
        _ => Answer::new(
            "200 OK",
            &[("Content-Type", "text/html")],
            "<html>proxy</html>",
        ),
    });
    let broken_key = sts_issuing("ASIA&#10;BROKEN", Some(iso8601(now() + 3600)));
    for (what, sts) in [
        ("a key with a line break", broken_key),
        ("an HTML page", garbled),
    ] {
        let vars = [("AWS_ENDPOINT_URL_STS", sts.endpoint.as_str())];
        let config =
            env.config(json!({"organization": {"member_role_name": ROLE, "accounts": [ACCOUNT]}}));
        let check = check_bounded(&config, &vars);
        let (status, message) = check.connection_status();
        assert_eq!(status, "FAILED", "{what}: {message}");
        assert!(message.contains("STS"), "{what}: {message}");
        assert!(
            !message.contains("environment variables") && !message.contains("trust policy"),
            "{what}: {message}"
        );
    }
}

// Item 20: DescribeTrails over 32 MB, a China-region trail, a legacy bucket name.

/// A CloudTrail whose DescribeTrails lists one trail in `region` delivering to `bucket`.
fn cloudtrail_with_trail(region: &'static str, bucket: &'static str) -> Scripted {
    Scripted::start(move |req| match req.action().as_str() {
        "DescribeTrails" => {
            let partition = if region.starts_with("cn-") {
                "aws-cn"
            } else {
                "aws"
            };
            let arn = format!("arn:{partition}:cloudtrail:{region}:{ACCOUNT}:trail/org-trail");
            Answer::json(
                json!({"trailList": [{"Name": "org-trail", "TrailARN": arn, "HomeRegion": region,
                    "S3BucketName": bucket, "IsMultiRegionTrail": true}]})
                .to_string(),
            )
        }
        _ => Answer::json(r#"{"Events":[]}"#),
    })
}

#[test]
fn describe_trails_larger_than_any_real_answer_is_worded_for_describe_trails() {
    let env = Env::new(EmulatorConfig::default());
    let cloudtrail = Scripted::start(|req| match req.action().as_str() {
        "DescribeTrails" => Answer::json(format!(
            r#"{{"trailList":[{{"Name":"{}"}}]}}"#,
            "x".repeat(33 * 1024 * 1024)
        )),
        _ => Answer::json(r#"{"Events":[]}"#),
    });
    let config = env.config(json!({"endpoint_url": cloudtrail.endpoint,
        "trail_logs": {"trail": "org-trail", "endpoint_url": "http://127.0.0.1:9"}}));
    let check = check_bounded(&config, &[]);
    assert!(check.errors().is_empty(), "{:?}", check.errors());
    let (status, message) = check.connection_status();
    assert_eq!(status, "FAILED", "{message}");
    assert!(
        message.contains("DescribeTrails") && message.contains("larger than 32 MB"),
        "{message}"
    );
    assert!(!message.contains("50 events"), "{message}");
}

#[test]
fn a_china_region_trails_bucket_is_named_with_the_china_host() {
    let env = Env::new(EmulatorConfig::default());
    let cloudtrail = cloudtrail_with_trail("cn-north-1", "cn-logs");
    let config = env.config(json!({"endpoint_url": cloudtrail.endpoint,
        "trail_logs": {"trail": format!("arn:aws-cn:cloudtrail:cn-north-1:{ACCOUNT}:trail/org-trail")}}));
    let check = check_bounded(&config, &[]);
    let (_, message) = check.connection_status();
    assert!(
        message.contains("https://s3.cn-north-1.amazonaws.com.cn"),
        "{message}"
    );
    let hosts = message.matches("s3.cn-north-1.amazonaws.com").count();
    let china = message.matches("s3.cn-north-1.amazonaws.com.cn").count();
    assert_eq!(hosts, china, "a host without .cn: {message}");
}

#[test]
fn a_legacy_bucket_name_is_one_rule_for_bucket_and_trail() {
    const LEGACY: &str = "Legacy_Trail_Bucket";
    let env = Env::new(EmulatorConfig::default());
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join(LEGACY)).unwrap();
    let corpus = write_corpus(
        root.path(),
        &CorpusSpec {
            bucket: LEGACY.into(),
            ..spec(&[ACCOUNT], &["us-east-1"], 1, 3)
        },
    )
    .unwrap();
    let events: usize = corpus.files.iter().map(|(_, ids)| ids.len()).sum();
    let s3 = EmulatedS3::new(S3Config {
        root: root.path().to_path_buf(),
        access_key: KEY_ID.into(),
        secret_key: SECRET.into(),
        list_latency: Duration::ZERO,
    })
    .spawn()
    .unwrap();
    let legacy = cloudtrail_with_trail("us-east-1", LEGACY);
    let hostile = cloudtrail_with_trail("us-east-1", "../other");
    let logs = json!({"endpoint_url": s3, "aws_key_id": KEY_ID, "aws_secret_key": SECRET});
    let with = |endpoint: &str, extra: Value| {
        let mut l = logs.clone();
        for (k, v) in extra.as_object().unwrap() {
            l[k] = v.clone();
        }
        env.config(json!({"endpoint_url": endpoint, "trail_logs": l}))
    };
    for (what, config) in [
        ("as bucket", with(&env.endpoint, json!({"bucket": LEGACY}))),
        (
            "through trail",
            with(&legacy.endpoint, json!({"trail": "org-trail"})),
        ),
    ] {
        // The bucket is readable: trail_events' probe would fail the check otherwise.
        let check = check_bounded(&config, &[]);
        let (status, message) = check.connection_status();
        assert_eq!(status, "SUCCEEDED", "{what}: {message}");
        let run = read_bounded(&env, &config, &[TRAIL_EVENTS], None, &[]);
        assert_eq!(run.code, Some(0), "{what}: {:?}", run.errors());
        assert_eq!(event_ids(&run).len(), events, "{what}");
    }
    // A bucket name no S3 has is refused through trail as it is as bucket.
    let check = check_bounded(&with(&hostile.endpoint, json!({"trail": "org-trail"})), &[]);
    let (status, message) = check.connection_status();
    assert_eq!(status, "FAILED", "{message}");
    assert!(
        message.contains("trail_logs.trail") && message.contains("not an S3 bucket name"),
        "{message}"
    );
}

// Issue 25: check with a wrong key says it once.

#[test]
fn check_with_a_wrong_key_says_so_once() {
    let env = Env::new(EmulatorConfig::default());
    let config = env.config(json!({"aws_key_id": "AKIANOBODY0000000000"}));
    let check = check_bounded(&config, &[]);
    let (status, message) = check.connection_status();
    assert_eq!(status, "FAILED");
    assert_eq!(
        message.matches("AWS rejected the access key id").count(),
        1,
        "{message}"
    );
}

//! The emulator's command line: generate data, listen on a loopback port, print the endpoint.
#![forbid(unsafe_code)]

use std::io::Write;

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use cloudtrail_emulator::s3::{S3Config, S3Server};
use cloudtrail_emulator::trail_logs::{write_corpus, CorpusSpec};
use cloudtrail_emulator::{Emulator, EmulatorConfig};

const USAGE: &str =
    "usage: cloudtrail-emulator [--port N] [--regions r1,r2] [--events-per-region N]
  [--span-hours H] [--min-age-minutes M] [--seed N] [--late-fraction F] [--late-max-secs S]
  [--insights-per-region N --insight-regions r1,r2]
  [--throttle-rps R] [--access-key-id K] [--secret-access-key S]
  [--accounts N|a1,a2 --member-role-name NAME [--suspended-accounts a1,a2] [--credential-secs S]]
--accounts: member accounts of the emulated organization, each with --events-per-region events in
every region (N: the ids 200000000001 to 2000000000NN…); ListAccounts lists them after the base
account 123456789012, and NAME can be assumed in each (and in the base account).
Prints one JSON line {\"endpoint\": URL} once listening; control API under URL/_emulator/.

usage: cloudtrail-emulator s3-corpus --root DIR [--bucket B] [--prefix P] [--org o-…]
  [--accounts a1,a2 | --account-count N] [--regions r1,r2] [--files-per-prefix N] [--events-per-file N]
  [--large-fraction F] [--start EPOCH] [--seed N] [--manifest FILE] [--digests on|FAULT,…]
  [--kind-files-per-prefix N]
Writes CloudTrail log files in the S3 layout under DIR/B/ (as s3s-fs serves them) and prints
a JSON summary; --account-count N: accounts 100000000001 to 1000000000NN…; --manifest writes one JSON line {\"key\", \"event_ids\"} per event file.

usage: cloudtrail-emulator s3-serve --root DIR --access-key K --secret-key S [--host H]
  [--port P] [--list-latency-ms N]
Serves DIR/<bucket>/<key> (the s3s-fs layout) over S3's ListObjectsV2 and GetObject, each LIST
delayed N ms; prints one JSON line {\"endpoint\": URL} once listening; request counts at
URL/_s3/stats.

usage: cloudtrail-emulator gunzip DIR
Decompresses every .json.gz under DIR to nowhere with the connector's decompressor and prints
{\"files\", \"compressed_bytes\", \"uncompressed_bytes\", \"seconds\"}.";

fn main() {
    if let Err(message) = run() {
        eprintln!("cloudtrail-emulator: {message}\n{USAGE}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1).peekable();
    match args.peek().map(String::as_str) {
        Some("s3-corpus") => {
            args.next();
            return s3_corpus(args);
        }
        Some("s3-serve") => {
            args.next();
            return s3_serve(args);
        }
        Some("gunzip") => {
            args.next();
            let dir = args.next().ok_or("gunzip needs a directory")?;
            return gunzip(Path::new(&dir));
        }
        _ => {}
    }
    let mut cfg = EmulatorConfig::default();
    let mut port = 0u16;
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            return Ok(());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| {
            v.parse::<f64>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--port" => port = num(&value)? as u16,
            "--regions" => cfg.regions = value.split(',').map(String::from).collect(),
            "--events-per-region" => cfg.events_per_region = num(&value)? as usize,
            "--span-hours" => cfg.span_secs = (num(&value)? * 3600.0) as i64,
            "--min-age-minutes" => cfg.min_age_secs = (num(&value)? * 60.0) as i64,
            "--seed" => cfg.seed = num(&value)? as u64,
            "--late-fraction" => cfg.late_fraction = num(&value)?,
            "--late-max-secs" => cfg.late_max_secs = num(&value)?,
            "--insights-per-region" => cfg.insights_per_region = num(&value)? as usize,
            "--insight-regions" => {
                cfg.insight_regions = value.split(',').map(String::from).collect()
            }
            "--throttle-rps" => cfg.faults.throttle_rps = Some(num(&value)?),
            "--accounts" => cfg.accounts = account_ids(&value)?,
            "--suspended-accounts" => cfg.suspended_accounts = account_ids(&value)?,
            "--member-role-name" => cfg.member_role_name = Some(value),
            "--credential-secs" => cfg.credential_secs = num(&value)?,
            "--access-key-id" => cfg.access_key_id = value,
            "--secret-access-key" => cfg.secret_access_key = value,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    let emulator = Emulator::new(&cfg);
    listen("127.0.0.1", port, 1, move |listener| {
        emulator.serve(listener)
    })
}

/// Listens on `host:port` with `workers` runtime threads, prints `{"endpoint": URL}` once
/// listening, and serves until the listener fails.
fn listen<S, F>(host: &str, port: u16, workers: usize, serve: S) -> Result<(), String>
where
    S: FnOnce(tokio::net::TcpListener) -> F,
    F: std::future::Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((host, port))
            .await
            .map_err(|e| format!("cannot listen on {host}:{port}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{{\"endpoint\":\"http://{addr}\"}}").map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
        drop(out);
        serve(listener).await;
        Ok(())
    })
}

/// A comma-separated list of account ids, or a count of generated ones.
fn account_ids(value: &str) -> Result<Vec<String>, String> {
    if let Ok(n) = value.parse::<u64>() {
        if value.len() < 12 {
            return Ok((1..=n)
                .map(|i| format!("{}", 200_000_000_000 + i))
                .collect());
        }
    }
    Ok(value.split(',').map(String::from).collect())
}

fn s3_corpus(mut args: impl Iterator<Item = String>) -> Result<(), String> {
    let mut spec = CorpusSpec::default();
    let mut root = None;
    let mut manifest = None;
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| {
            v.parse::<f64>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        let list = |v: &str| v.split(',').map(String::from).collect::<Vec<_>>();
        match flag.as_str() {
            "--root" => root = Some(value),
            "--bucket" => spec.bucket = value,
            "--prefix" => spec.prefix = value,
            "--org" => spec.organization_id = Some(value),
            "--accounts" => spec.accounts = list(&value),
            // Generated ids for an organization of thousands of folders.
            "--account-count" => {
                spec.accounts = (1..=num(&value)? as u64)
                    .map(|i| format!("{}", 100_000_000_000 + i))
                    .collect()
            }
            "--regions" => spec.regions = list(&value),
            "--files-per-prefix" => spec.files_per_prefix = num(&value)? as usize,
            "--events-per-file" => spec.events_per_file = num(&value)? as usize,
            "--large-fraction" => spec.large_fraction = num(&value)?,
            "--start" => spec.start = num(&value)? as i64,
            "--seed" => spec.seed = num(&value)? as u64,
            "--manifest" => manifest = Some(value),
            "--kind-files-per-prefix" => spec.kind_files_per_prefix = num(&value)? as usize,
            // Real signed, chained digests (`on`), optionally with planted faults in the
            // first account-region: a comma list of modified_log, deleted_log, bad_signature,
            // broken_chain, backfill, expired_key.
            "--digests" => {
                spec.digests = true;
                for fault in value.split(',').filter(|f| !f.is_empty() && *f != "on") {
                    let f = &mut spec.digest_faults;
                    match fault {
                        "modified_log" => f.modified_log = true,
                        "deleted_log" => f.deleted_log = true,
                        "bad_signature" => f.bad_signature = true,
                        "broken_chain" => f.broken_chain = true,
                        "backfill" => f.backfill = true,
                        "expired_key" => f.expired_key = true,
                        _ => return Err(format!("--digests: unknown fault {fault}")),
                    }
                }
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    let root = root.ok_or("s3-corpus needs --root DIR")?;
    let summary = write_corpus(Path::new(&root), &spec).map_err(|e| e.to_string())?;
    if let Some(path) = manifest {
        let mut text = String::new();
        for (key, ids) in &summary.files {
            text.push_str(&serde_json::json!({"key": key, "event_ids": ids}).to_string());
            text.push('\n');
        }
        std::fs::write(&path, text).map_err(|e| format!("{path}: {e}"))?;
    }
    println!(
        "{{\"event_files\":{},\"other_files\":{},\"events\":{},\"uncompressed_bytes\":{},\"compressed_bytes\":{}}}",
        summary.event_files,
        summary.other_files,
        summary.events,
        summary.uncompressed_bytes,
        summary.compressed_bytes
    );
    Ok(())
}

fn s3_serve(mut args: impl Iterator<Item = String>) -> Result<(), String> {
    let mut config = S3Config {
        root: Default::default(),
        access_key: String::new(),
        secret_key: String::new(),
        list_latency: Duration::ZERO,
    };
    let (mut host, mut port) = ("127.0.0.1".to_string(), 0u16);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: not a whole number: {v}"))
        };
        match flag.as_str() {
            "--root" => config.root = value.into(),
            "--host" => host = value,
            "--port" => {
                port = u16::try_from(num(&value)?).map_err(|_| format!("--port: {value}"))?
            }
            "--access-key" => config.access_key = value,
            "--secret-key" => config.secret_key = value,
            "--list-latency-ms" => config.list_latency = Duration::from_millis(num(&value)?),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if config.root.as_os_str().is_empty() || config.access_key.is_empty() {
        return Err("s3-serve needs --root DIR, --access-key K and --secret-key S".into());
    }
    if !config.root.is_dir() {
        return Err(format!("--root {}: not a directory", config.root.display()));
    }
    let server = S3Server::new(config);
    listen(&host, port, 2, move |listener| server.serve(listener))
}

/// The decompression floor for the trail_events benchmark: the same decoder as the connector,
/// one file at a time, into a reused buffer.
fn gunzip(dir: &Path) -> Result<(), String> {
    let mut paths = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.to_string_lossy().ends_with(".json.gz") {
                paths.push(path);
            }
        }
    }
    let bodies: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display())))
        .collect::<Result<_, _>>()?;
    let started = Instant::now();
    let mut buf = vec![0u8; 256 * 1024];
    let mut out = 0u64;
    for body in &bodies {
        let mut decoder = flate2::read::MultiGzDecoder::new(&body[..]);
        loop {
            let n = decoder.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            out += n as u64;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{{\"files\":{},\"compressed_bytes\":{},\"uncompressed_bytes\":{out},\"seconds\":{seconds}}}",
        bodies.len(),
        bodies.iter().map(|b| b.len() as u64).sum::<u64>()
    );
    Ok(())
}

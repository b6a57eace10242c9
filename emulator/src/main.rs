//! The emulator's command line: generate data, listen on a loopback port, print the endpoint.
#![forbid(unsafe_code)]

use std::io::Write;

use cloudtrail_emulator::{Emulator, EmulatorConfig};

const USAGE: &str =
    "usage: cloudtrail-emulator [--port N] [--regions r1,r2] [--events-per-region N]
  [--span-hours H] [--min-age-minutes M] [--seed N] [--late-fraction F] [--late-max-secs S]
  [--insights-per-region N --insight-regions r1,r2]
  [--throttle-rps R] [--access-key-id K] [--secret-access-key S]
Prints one JSON line {\"endpoint\": URL} once listening; control API under URL/_emulator/.";

fn main() {
    if let Err(message) = run() {
        eprintln!("cloudtrail-emulator: {message}\n{USAGE}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut cfg = EmulatorConfig::default();
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
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
            "--access-key-id" => cfg.access_key_id = value,
            "--secret-access-key" => cfg.secret_access_key = value,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    let emulator = Emulator::new(&cfg);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{{\"endpoint\":\"http://{addr}\"}}").map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
        drop(out);
        emulator.serve(listener).await;
        Ok(())
    })
}

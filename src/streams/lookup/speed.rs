//! A benchmark of turning LookupEvents answers into records in process (no HTTP, no stdout):
//! the connector's own share of the CPU a record costs, steadier than an end-to-end run on a
//! shared machine. Prints figures, asserts nothing about speed:
//! `cargo test --release --bin source-aws-cloudtrail page_reading_speed -- --ignored --nocapture`

use std::time::Instant;

use cloudtrail_emulator::records::{management_event_of, Rng};
use cloudtrail_emulator::store::render;

use super::page::{Page, PageBuffers};
use super::MANAGEMENT_EVENTS;
use crate::emit::{RecordBatch, RecordTail};

/// Pages of 50 emulated management events, as LookupEvents answers them.
fn answers(pages: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(13);
    (0..pages)
        .map(|p| {
            let events: Vec<String> = (0..50)
                .map(|n| {
                    let time = 1_700_000_000 + (p * 50 + n) as i64;
                    render(&management_event_of(
                        &mut rng,
                        "123456789012",
                        "us-east-1",
                        time,
                    ))
                })
                .collect();
            format!(r#"{{"Events":[{}],"NextToken":"t{p}"}}"#, events.join(",")).into_bytes()
        })
        .collect()
}

#[test]
#[ignore = "a benchmark: prints figures"]
fn page_reading_speed() {
    let answers = answers(40);
    let bytes: usize = answers.iter().map(Vec::len).sum();
    let tail = RecordTail::closing(1_700_000_000_000);
    let mut buffers = PageBuffers::default();
    let mut batch = RecordBatch::new("management_events");
    let rounds = 50;
    let mut records = 0u64;
    let started = Instant::now();
    for _ in 0..rounds {
        for answer in &answers {
            let page = Page::parse(
                answer,
                std::mem::take(&mut buffers),
                MANAGEMENT_EVENTS.columns,
            )
            .expect("a page");
            let mut values = Vec::new();
            for event in page.events() {
                let problem =
                    MANAGEMENT_EVENTS.push_record(&page, event, &mut batch, &tail, &mut values);
                assert!(problem.is_none());
            }
            records += batch.len();
            batch = RecordBatch::with_buffer("management_events", batch.into_buffer());
            buffers = page.into_buffers();
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "LookupEvents pages into records: {records} records in {seconds:.3} s -> {:.0} ns per record, {:.0} records/s, {:.0} MB/s of answers",
        seconds * 1e9 / records as f64,
        records as f64 / seconds,
        (bytes * rounds) as f64 / seconds / 1e6
    );
}

//! Differential fuzzing of the record splitter against serde_json: the CloudTrail files of the
//! corpus in `fuzz/scanner/` and files the emulator generates, mutated at random (bytes
//! flipped, JSON punctuation inserted, spans deleted or doubled, the end cut), for a bounded
//! time (`SCANNER_FUZZ_SECONDS`, 10 by default; the seed is printed to replay a failure with
//! `SCANNER_FUZZ_SEED`). A failing input is written to the corpus as `found-<seed>.json`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{keeps, Element, FileProblem, RecordSplitter, Shape};
use crate::config::{EventCategory, EventFilter};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/scanner")
}

/// The seed files: the corpus, and generated trail files (large records included).
fn seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(corpus_dir())
        .expect("the fuzz corpus fuzz/scanner/ is in the repo")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| std::fs::read(e.path()).ok())
        .collect();
    seeds.sort();
    let mut rng = cloudtrail_emulator::records::Rng::new(3);
    for (i, large) in [(0, 0.0), (1, 0.3)] {
        let file = cloudtrail_emulator::trail_logs::log_file(
            &mut rng,
            "",
            None,
            "111122223333",
            "us-east-1",
            1_764_000_000 + i,
            4,
            large,
        );
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&file.body[..]), &mut text)
            .unwrap();
        seeds.push(text);
    }
    seeds
}

const PUNCTUATION: &[u8] = b"{}[]\",:\\ \n0123456789-.eEtfnul\"Records\"";

/// `input` changed 1 to 4 times.
fn mutate(rng: &mut fastrand::Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.usize(1..=4) {
        let at = rng.usize(0..=out.len());
        match rng.u8(0..6) {
            0 if !out.is_empty() => {
                let i = rng.usize(0..out.len());
                out[i] = rng.u8(..);
            }
            1 => out.insert(at, PUNCTUATION[rng.usize(0..PUNCTUATION.len())]),
            2 if at < out.len() => {
                let end = (at + rng.usize(1..16)).min(out.len());
                out.drain(at..end);
            }
            3 if at < out.len() => {
                let end = (at + rng.usize(1..64)).min(out.len());
                let span = out[at..end].to_vec();
                out.splice(at..at, span);
            }
            4 => out.truncate(at),
            _ => {}
        }
    }
    out
}

/// One element as the splitter gave it: a record (as parsed, whether it fits, whether the
/// filter keeps it), or what else.
type Split = Result<(Value, bool, bool), &'static str>;

/// What the splitter gives for `input`, with `filter` deciding while it scans (`early`) or on
/// each record read whole: the elements, and the file's problem if any.
fn split(
    input: &[u8],
    shape: &Shape,
    filter: Option<&EventFilter>,
    early: bool,
) -> (Vec<Split>, bool) {
    let refusing = filter.filter(|_| early).cloned();
    let mut splitter = RecordSplitter::with_window(input, Vec::new()).filtering(refusing);
    let mut elements = Vec::new();
    loop {
        match splitter.next(shape) {
            Ok(Some(Element::Record { bytes, fits, picks })) => {
                let kept = filter.is_none_or(|f| keeps(f, bytes, &picks));
                let value: Value = match serde_json::from_slice(bytes) {
                    Ok(v) => v,
                    // JSON's grammar has numbers of any size; serde_json's f64 does not. Such a
                    // record is valid JSON, just not serde_json's (and the file's comparison is
                    // skipped: serde_json refuses the whole file too).
                    Err(e) if e.to_string().starts_with("number out of range") => {
                        elements.push(Err("a number beyond f64"));
                        continue;
                    }
                    Err(e) => panic!(
                        "a record that is not JSON ({e}): {:?}",
                        String::from_utf8_lossy(bytes)
                    ),
                };
                assert!(value.is_object(), "a record that is not an object");
                if fits {
                    assert!(
                        !bytes.contains(&b'\n'),
                        "a fitting record holds a line break"
                    );
                }
                elements.push(Ok((value, fits, kept)));
            }
            Ok(Some(Element::NotAnObject)) => elements.push(Err("not an object")),
            Ok(Some(Element::Unreadable(_))) => elements.push(Err("unreadable")),
            Ok(Some(Element::Filtered)) => elements.push(Err("filtered")),
            Ok(None) => return (elements, false),
            Err(FileProblem::Read(e)) => panic!("reading from memory failed: {e}"),
            Err(_) => return (elements, true),
        }
    }
}

/// What serde_json says the file holds, when it is a CloudTrail file it reads whole (one
/// `Records` member).
fn reference(input: &[u8]) -> Option<Vec<Option<Value>>> {
    let v: Value = serde_json::from_slice(input).ok()?;
    let records = v.as_object()?.get("Records")?.as_array()?;
    let text = std::str::from_utf8(input).ok()?;
    if text.matches("\"Records\"").count() != 1 {
        return None;
    }
    Some(
        records
            .iter()
            .map(|r| r.is_object().then(|| r.clone()))
            .collect(),
    )
}

/// The splitter agrees with serde_json on `input`, and never panics. With `filter` applied
/// while scanning, it refuses exactly the records the filter drops once they are read whole,
/// and such a record costs only itself: the same elements, the same file problem.
fn check(input: &[u8], shape: &Shape, filter: &EventFilter) {
    let (elements, problem) = split(input, shape, Some(filter), false);
    if let Some(expected) = reference(input) {
        assert!(!problem, "a valid file reported broken");
        assert_eq!(elements.len(), expected.len(), "element count");
        for (got, want) in elements.iter().zip(&expected) {
            match (got, want) {
                (Ok((value, _, _)), Some(want)) => assert_eq!(value, want),
                (Err("not an object"), None) => {}
                (got, want) => panic!("element {got:?} where serde_json has {want:?}"),
            }
        }
    }
    let (early, early_problem) = split(input, shape, Some(filter), true);
    assert_eq!(
        early_problem, problem,
        "filtering changed the file's problem"
    );
    assert_eq!(
        early.len(),
        elements.len(),
        "filtering changed the element count"
    );
    for (got, whole) in early.iter().zip(&elements) {
        match (got, whole) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err("filtered"), Ok((_, _, kept))) => assert!(!kept, "a kept record refused"),
            // Refused on a member before the record went bad: nothing is read past it.
            (Err("filtered"), Err("unreadable")) => {}
            // Valid, and refused: serde_json cannot read it to say whether it was kept.
            (Err("filtered"), Err("a number beyond f64")) => {}
            (Err(a), Err(b)) => assert_eq!(a, b),
            (got, whole) => panic!("filtered {got:?} where the whole read has {whole:?}"),
        }
    }
}

/// One of a few filters that keep part of the generated records.
fn some_filter(rng: &mut fastrand::Rng) -> EventFilter {
    match rng.u8(0..3) {
        0 => EventFilter {
            sources: Some(vec![
                "s3.amazonaws.com".into(),
                "lambda.amazonaws.com".into(),
            ]),
            ..EventFilter::default()
        },
        1 => EventFilter {
            exclude_names: vec!["GetObject".into(), "AssumeRole".into()],
            exclude_read_only: true,
            ..EventFilter::default()
        },
        _ => EventFilter {
            categories: Some(vec![EventCategory::Data]),
            ..EventFilter::default()
        },
    }
}

#[test]
fn the_splitter_agrees_with_serde_json_on_mutated_trail_files() {
    let shape = Shape::from_schema(&crate::streams::trail_events::schema())
        .reserving(&crate::streams::trail_logs::provenance_names());
    let seeds = seeds();
    let mut rng = fastrand::Rng::with_seed(1);
    for seed in &seeds {
        check(seed, &shape, &some_filter(&mut rng));
    }
    let budget = Duration::from_secs(
        std::env::var("SCANNER_FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10),
    );
    let replay: Option<u64> = std::env::var("SCANNER_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok());
    let started = Instant::now();
    let mut cases = 0u64;
    let mut next = replay.unwrap_or_else(|| fastrand::u64(..));
    while cases == 0 || (replay.is_none() && started.elapsed() < budget) {
        let seed = next;
        next = fastrand::Rng::with_seed(seed).u64(..);
        let mut rng = fastrand::Rng::with_seed(seed);
        let base = &seeds[rng.usize(0..seeds.len())];
        let input = mutate(&mut rng, base);
        let filter = some_filter(&mut rng);
        let outcome = std::panic::catch_unwind(|| check(&input, &shape, &filter));
        if let Err(panic) = outcome {
            let path = corpus_dir().join(format!("found-{seed}.json"));
            let _ = std::fs::write(&path, &input);
            eprintln!(
                "SCANNER_FUZZ_SEED={seed} fails; input saved as {}",
                path.display()
            );
            std::panic::resume_unwind(panic);
        }
        cases += 1;
    }
    eprintln!(
        "scanner fuzz: {cases} mutated files in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

//! The state of a log-folder stream and its compact form. Version 2 groups the folders by
//! their account path (`AWSLogs/[o-…/]<account>/`, written once), writes each key by the part of
//! its name the folder and its time do not give (`<stamp>_<random>`), keeps one listing time for
//! the state with exceptions per folder, and writes a folder whose cursor is its last key alone
//! as that key: an idle folder costs a name and a key. Version 3 adds each folder's late-file
//! sweep watermark (`swept`, one for the state with exceptions per folder, as the listing time)
//! and the sweep a folder is in. The earlier forms (version 1, every path and key whole, and
//! version 2) are still read and continued: their folders are listed as first listings, which
//! read what version 2 would have read and start the sweeps.

use std::collections::{BTreeMap, HashMap};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{json, Map, Value};

use super::cursor::{null_as_default, stamp_of};
use crate::config::TrailLogs;
use crate::emit::{Emitter, LogLevel};
use crate::streams::saved_state::SavedState;
use crate::streams::ReadContext;

/// The version of the state this connector writes.
pub const STATE_VERSION: u64 = 3;

/// A stream's state: a cursor per account-region folder (`F`: what a stream keeps per folder),
/// for one bucket and prefix. Written in the compact form of version 2.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TrailState<F = super::FolderCursor> {
    pub bucket: String,
    pub prefix: String,
    pub folders: BTreeMap<String, F>,
    /// Written by a full refresh: only a full refresh resumes from it.
    pub full_refresh: bool,
}

/// Version 1, as written before the compact form (and the form version 2 is expanded into).
#[derive(Deserialize)]
struct Expanded<F> {
    #[serde(default, deserialize_with = "null_as_default")]
    bucket: String,
    #[serde(default, deserialize_with = "null_as_default")]
    prefix: String,
    #[serde(
        default = "BTreeMap::new",
        deserialize_with = "null_as_default",
        bound(deserialize = "F: Deserialize<'de>")
    )]
    folders: BTreeMap<String, F>,
    #[serde(default)]
    full_refresh: bool,
}

/// The names a folder's path gives its standard keys: `YYYY/MM/DD/<account>_<kind>_<region>_`
/// before the part kept, `.json.gz` after.
struct FolderNames {
    head: Option<String>,
}

impl FolderNames {
    /// `…/<account>/<kind>/<region>/`.
    fn of(path: &str) -> FolderNames {
        let mut parts = path.trim_end_matches('/').rsplit('/');
        let head = match (parts.next(), parts.next(), parts.next()) {
            (Some(region), Some(kind), Some(account)) => {
                Some(format!("{account}_{kind}_{region}_"))
            }
            _ => None,
        };
        FolderNames { head }
    }

    /// A key as kept: the part after the head when the rest follows from it, else the key
    /// itself (which holds a `/`, or is marked with a leading one).
    fn compact(&self, key: &str) -> String {
        let tail = self.head.as_deref().and_then(|head| {
            let name = key.rsplit_once('/')?.1;
            let tail = name.strip_prefix(head)?.strip_suffix(".json.gz")?;
            (self.expand(tail).as_deref() == Some(key)).then_some(tail)
        });
        match tail {
            Some(t) => t.to_string(),
            None if key.contains('/') => key.to_string(),
            None => format!("/{key}"),
        }
    }

    /// The key a kept value stands for; `None` for a tail without a time in it.
    fn expand(&self, kept: &str) -> Option<String> {
        if let Some(whole) = kept.strip_prefix('/') {
            return Some(whole.to_string());
        }
        if kept.contains('/') {
            return Some(kept.to_string());
        }
        let head = self.head.as_deref()?;
        let stamp = stamp_of(kept)?;
        Some(format!(
            "{}/{}/{}/{head}{kept}.json.gz",
            &stamp[..4],
            &stamp[4..6],
            &stamp[6..8]
        ))
    }
}

/// A folder's path split into its group (up to the account) and the rest (`<kind>/<region>/`).
fn split_path(path: &str) -> (&str, &str) {
    let trimmed = path.trim_end_matches('/');
    let cut = trimmed.rmatch_indices('/').nth(1).map_or(0, |(i, _)| i + 1);
    path.split_at(cut)
}

/// The values most folders share of the per-folder times, written once for the state.
#[derive(Debug, Clone, Copy, Default)]
struct Common {
    listed_at: Option<i64>,
    swept: Option<i64>,
    first_to: Option<i64>,
}

/// One folder's cursor (its version 1 JSON) in the compact form; `listed_at` and `swept` are
/// left out when they are the state's.
fn compact_folder(path: &str, cursor: Value, common: Common) -> Value {
    let Value::Object(mut fields) = cursor else {
        return cursor;
    };
    let names = FolderNames::of(path);
    let mut out = Map::new();
    if let Some(Value::String(after)) = fields.remove("after") {
        out.insert("a".into(), Value::String(names.compact(&after)));
    }
    if let Some(Value::Array(done)) = fields.remove("done") {
        if !done.is_empty() {
            let kept = done
                .iter()
                .filter_map(Value::as_str)
                .map(|k| Value::String(names.compact(k)));
            out.insert("d".into(), Value::Array(kept.collect()));
        }
    }
    if let Some(Value::Object(partial)) = fields.remove("partial") {
        if !partial.is_empty() {
            let kept = partial.into_iter().map(|(k, n)| (names.compact(&k), n));
            out.insert("p".into(), Value::Object(kept.collect()));
        }
    }
    let listed = fields.remove("listed_at").and_then(|v| v.as_i64());
    if listed != common.listed_at {
        out.insert("l".into(), json!(listed));
    }
    let swept = fields.remove("swept").and_then(|v| v.as_i64());
    if swept != common.swept {
        out.insert("s".into(), json!(swept));
    }
    let first_to = fields.remove("first_to").and_then(|v| v.as_i64());
    if first_to != common.first_to {
        out.insert("f".into(), json!(first_to));
    }
    out.extend(fields);
    match (out.len(), out.get("a")) {
        (1, Some(after)) => after.clone(),
        _ => Value::Object(out),
    }
}

/// A compact folder back in its version 1 JSON.
fn expand_folder(path: &str, kept: &Value, common: Common) -> Result<Value, String> {
    let names = FolderNames::of(path);
    let key = |v: &Value, field: &str| -> Result<Value, String> {
        v.as_str()
            .and_then(|k| names.expand(k))
            .map(Value::String)
            .ok_or_else(|| format!("folder {path}: {field}: {v} is not a key of the folder"))
    };
    let mut fields = match kept {
        Value::String(_) => Map::new(),
        Value::Object(f) => f.clone(),
        _ => return Err(format!("folder {path}: a folder's cursor is not an object")),
    };
    let mut out = Map::new();
    let after = match kept {
        Value::String(_) => Some(kept.clone()),
        _ => fields.remove("a"),
    };
    if let Some(after) = after.filter(|a| !a.is_null()) {
        out.insert("after".into(), key(&after, "a")?);
    }
    if let Some(done) = fields.remove("d").filter(|d| !d.is_null()) {
        let done = done
            .as_array()
            .ok_or_else(|| format!("folder {path}: d is not a list of keys"))?
            .iter()
            .map(|k| key(k, "d"))
            .collect::<Result<Vec<_>, _>>()?;
        out.insert("done".into(), Value::Array(done));
    }
    if let Some(partial) = fields.remove("p").filter(|p| !p.is_null()) {
        let partial = partial
            .as_object()
            .ok_or_else(|| format!("folder {path}: p is not an object"))?
            .iter()
            .map(|(k, n)| {
                Ok((
                    key(&json!(k), "p")?.as_str().unwrap_or("").to_string(),
                    n.clone(),
                ))
            })
            .collect::<Result<Map<_, _>, String>>()?;
        out.insert("partial".into(), Value::Object(partial));
    }
    let listed = match fields.remove("l") {
        Some(l) => l,
        None => json!(common.listed_at),
    };
    out.insert("listed_at".into(), listed);
    let swept = match fields.remove("s") {
        Some(s) => s,
        None => json!(common.swept),
    };
    out.insert("swept".into(), swept);
    let first_to = match fields.remove("f") {
        Some(f) => f,
        None => json!(common.first_to),
    };
    out.insert("first_to".into(), first_to);
    out.extend(fields);
    Ok(Value::Object(out))
}

/// Version 2 JSON back in version 1.
fn expand(v: &Map<String, Value>) -> Result<Value, String> {
    let time = |field: &str| -> Result<Option<i64>, String> {
        match v.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(l) => {
                Ok(Some(l.as_i64().ok_or_else(|| {
                    format!("at {field}: not a whole number")
                })?))
            }
        }
    };
    let common = Common {
        listed_at: time("listed_at")?,
        swept: time("swept")?,
        first_to: time("first_to")?,
    };
    let mut folders = Map::new();
    match v.get("folders") {
        None | Some(Value::Null) => {}
        Some(Value::Object(groups)) => {
            for (group, members) in groups {
                let members = members
                    .as_object()
                    .ok_or_else(|| format!("folders {group}: not an object of folders"))?;
                for (rest, kept) in members {
                    let path = format!("{group}{rest}");
                    let cursor = expand_folder(&path, kept, common)?;
                    folders.insert(path, cursor);
                }
            }
        }
        Some(_) => return Err("at folders: not an object".into()),
    }
    let mut out = v.clone();
    out.remove("version");
    out.remove("listed_at");
    out.remove("swept");
    out.remove("first_to");
    out.insert("folders".into(), Value::Object(folders));
    Ok(Value::Object(out))
}

impl<F: Serialize> Serialize for TrailState<F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let folders: Vec<(&String, Value)> = self
            .folders
            .iter()
            .map(|(path, f)| serde_json::to_value(f).map(|v| (path, v)))
            .collect::<Result<_, _>>()
            .map_err(serde::ser::Error::custom)?;
        // The listing time and sweep watermark most folders share are written once.
        let most = |field: &str| {
            let mut counts: HashMap<Option<i64>, usize> = HashMap::new();
            for (_, v) in &folders {
                *counts
                    .entry(v.get(field).and_then(Value::as_i64))
                    .or_default() += 1;
            }
            counts
                .into_iter()
                .max_by_key(|(l, n)| (*n, *l))
                .and_then(|(l, _)| l)
        };
        let common = Common {
            listed_at: most("listed_at"),
            swept: most("swept"),
            first_to: most("first_to"),
        };
        let mut groups: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
        for (path, v) in folders {
            let (group, rest) = split_path(path);
            groups
                .entry(group)
                .or_default()
                .insert(rest.to_string(), compact_folder(path, v, common));
        }
        let mut out = Map::new();
        out.insert("version".into(), json!(STATE_VERSION));
        out.insert("bucket".into(), json!(self.bucket));
        out.insert("prefix".into(), json!(self.prefix));
        if let Some(l) = common.listed_at {
            out.insert("listed_at".into(), json!(l));
        }
        if let Some(s) = common.swept {
            out.insert("swept".into(), json!(s));
        }
        if let Some(f) = common.first_to {
            out.insert("first_to".into(), json!(f));
        }
        let groups = groups
            .into_iter()
            .map(|(g, m)| (g.to_string(), Value::Object(m)));
        out.insert("folders".into(), Value::Object(groups.collect()));
        if self.full_refresh {
            out.insert("full_refresh".into(), json!(true));
        }
        Value::Object(out).serialize(s)
    }
}

impl<F: DeserializeOwned> TrailState<F> {
    /// A saved state of either version.
    pub fn from_json(v: &Value) -> Result<TrailState<F>, String> {
        let obj = v.as_object().ok_or("it is not a JSON object")?;
        let expanded = match obj.get("version") {
            None | Some(Value::Null) => v.clone(),
            Some(n) if matches!(n.as_u64(), Some(2..=STATE_VERSION)) => expand(obj)?,
            Some(n) => {
                return Err(format!(
                    "version {n}: this connector reads state versions 1 to {STATE_VERSION} (a newer connector wrote it?)"
                ))
            }
        };
        // Serde would take a JSON array for a cursor's struct.
        if let Some(Value::Object(folders)) = expanded.get("folders") {
            if let Some((path, _)) = folders.iter().find(|(_, c)| !c.is_object()) {
                return Err(format!("folder {path}: a folder's cursor is not an object"));
            }
        }
        let e: Expanded<F> = serde_path_to_error::deserialize(&expanded)
            .map_err(|e| format!("at {}: {}", e.path(), e.inner()))?;
        Ok(TrailState {
            bucket: e.bucket,
            prefix: e.prefix,
            folders: e.folders,
            full_refresh: e.full_refresh,
        })
    }
}

/// A full refresh's cursors are those of the files it read: an incremental sync continues them
/// as they are (late files are the late-file sweep's).
impl<F: DeserializeOwned + Serialize> SavedState for TrailState<F> {
    fn parse(saved: &Value, _: &'static str, _: &ReadContext) -> Result<Self, String> {
        TrailState::from_json(saved)
    }

    fn fresh(full_refresh: bool) -> Self {
        TrailState {
            bucket: String::new(),
            prefix: String::new(),
            folders: BTreeMap::new(),
            full_refresh,
        }
    }

    fn written_by_full_refresh(&self) -> bool {
        self.full_refresh
    }

    fn for_incremental(self, _: &ReadContext) -> Self {
        TrailState {
            full_refresh: false,
            ..self
        }
    }
}

impl<F> TrailState<F> {
    /// Points the state at the configured bucket and prefix; a state of another one is
    /// dropped, with a warning (its cursors mean nothing here).
    pub fn retarget(&mut self, name: &str, logs: &TrailLogs, emitter: &Emitter) {
        if (self.bucket != logs.bucket || self.prefix != logs.prefix) && !self.folders.is_empty() {
            emitter.log(
                LogLevel::Warn,
                &format!(
                    "{name}: the state is of s3://{}/{}, the config reads s3://{}/{}: reading from the start",
                    self.bucket, self.prefix, logs.bucket, logs.prefix
                ),
            );
            self.folders.clear();
        }
        self.bucket = logs.bucket.clone();
        self.prefix = logs.prefix.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::trail_logs::cursor::SweepCursor;
    use crate::streams::trail_logs::FolderCursor;
    use proptest::prelude::*;

    const FOLDER: &str = "AWSLogs/o-a1b2c3/111122223333/CloudTrail/eu-west-1/";

    fn cursor(after: Option<&str>, done: &[&str], listed_at: Option<i64>) -> FolderCursor {
        FolderCursor {
            after: after.map(String::from),
            done: done.iter().map(|k| k.to_string()).collect(),
            listed_at,
            ..Default::default()
        }
    }

    #[test]
    fn an_idle_folder_is_its_path_and_the_tail_of_its_last_key() {
        let key =
            "2025/11/24/111122223333_CloudTrail_eu-west-1_20251124T1600Z_AbCdEf0123456789.json.gz";
        let mut st = TrailState::<FolderCursor> {
            bucket: "b".into(),
            ..Default::default()
        };
        st.folders
            .insert(FOLDER.into(), cursor(Some(key), &[], Some(1_764_000_000)));
        let v = serde_json::to_value(&st).unwrap();
        assert_eq!(
            v,
            json!({"version": 3, "bucket": "b", "prefix": "", "listed_at": 1_764_000_000,
                "folders": {"AWSLogs/o-a1b2c3/111122223333/": {"CloudTrail/eu-west-1/": "20251124T1600Z_AbCdEf0123456789"}}})
        );
        assert_eq!(TrailState::from_json(&v).unwrap(), st);
    }

    #[test]
    fn version_2_states_are_continued_as_first_listings() {
        // As the previous release wrote it: no sweep watermark, so the next sync lists each
        // folder from its key cursor, reads what version 2 would have read, and starts sweeps.
        let v2 = json!({"version": 2, "bucket": "b", "prefix": "", "listed_at": 1_764_000_000,
            "folders": {"AWSLogs/o-a1b2c3/111122223333/": {
                "CloudTrail/eu-west-1/": "20251124T1600Z_AbCdEf0123456789",
                "CloudTrail/us-east-1/": {"a": "20251124T1600Z_AbCdEf0123456789", "d": ["20251124T1610Z_AbCdEf0123456789"], "l": 1_764_000_060}}}});
        let st = TrailState::<FolderCursor>::from_json(&v2).unwrap();
        let eu = &st.folders[FOLDER];
        assert_eq!(eu.listed_at, Some(1_764_000_000));
        assert_eq!(eu.swept, None);
        assert_eq!(eu.first_to, None);
        let us = &st.folders["AWSLogs/o-a1b2c3/111122223333/CloudTrail/us-east-1/"];
        assert_eq!(us.done.len(), 1);
        assert_eq!(us.listed_at, Some(1_764_000_060));
        let again = serde_json::to_value(&st).unwrap();
        assert_eq!(again["version"], 3);
        assert_eq!(TrailState::<FolderCursor>::from_json(&again).unwrap(), st);
    }

    #[test]
    fn version_1_states_are_read_and_other_versions_refused() {
        let v1 = json!({"bucket": "b", "prefix": "", "folders": {FOLDER: {"after": "2025/11/24/x.json.gz", "done": ["2025/11/24/y.json.gz"], "partial": {"2025/11/24/z.json.gz": 3}}}});
        let st = TrailState::<FolderCursor>::from_json(&v1).unwrap();
        assert_eq!(st.folders[FOLDER].partial["2025/11/24/z.json.gz"], 3);
        assert_eq!(st.folders[FOLDER].listed_at, None);
        let again = TrailState::from_json(&serde_json::to_value(&st).unwrap()).unwrap();
        assert_eq!(again, st, "non-standard names are kept whole");
        let err = TrailState::<FolderCursor>::from_json(&json!({"version": 4})).unwrap_err();
        assert!(err.contains("version 4"), "{err}");
        let bad =
            json!({"version": 2, "folders": {"AWSLogs/1/": {"CloudTrail/r/": {"a": "nostamp"}}}});
        let err = TrailState::<FolderCursor>::from_json(&bad).unwrap_err();
        assert!(err.contains("AWSLogs/1/CloudTrail/r/"), "{err}");
    }

    fn key_strategy() -> impl Strategy<Value = String> {
        let standard = (0u32..3, 0u32..60, "[A-Za-z0-9]{16}", prop::sample::select(vec!["CloudTrail", "CloudTrail-Insight"]))
            .prop_map(|(day, minute, rand, token)| {
                format!("2025/11/2{day}/111122223333_{token}_eu-west-1_2025112{day}T10{minute:02}Z_{rand}.json.gz")
            });
        let odd = prop::sample::select(vec![
            "notes.json.gz".to_string(),
            "2025/11/24/other.json.gz".to_string(),
            "2025/11/25/111122223333_CloudTrail_eu-west-1_20251124T1000Z_x.json.gz".to_string(),
            "2025/11/24/111122223333_CloudTrail-Digest_eu-west-1_t_us-east-1_20251124T100000Z.json.gz".to_string(),
        ]);
        prop_oneof![3 => standard, 1 => odd]
    }

    proptest! {
        /// Any state survives its compact form, whatever its keys, folders and listing times.
        #[test]
        fn states_round_trip_through_the_compact_form(
            folders in prop::collection::btree_map(
                prop::sample::select(vec![
                    FOLDER,
                    "AWSLogs/111122223333/CloudTrail/eu-west-1/",
                    "AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/",
                    "p/AWSLogs/o-a1b2c3/111122223333/CloudTrail-Insight/eu-west-1/",
                    "odd/",
                ]),
                (prop::option::of(key_strategy()), prop::collection::btree_set(key_strategy(), 0..3),
                 prop::collection::btree_map(key_strategy(), 1u64..100, 0..2),
                 prop::option::of(prop::sample::select(vec![1_764_000_000i64, 1_764_000_060])),
                 prop::option::of(prop::sample::select(vec![1_764_000_000i64, 1_764_000_120])),
                 prop::option::of((1_764_000_500i64..1_764_000_600, prop::option::of(key_strategy()), prop::collection::btree_set(key_strategy(), 0..2))),
                 prop::option::of(prop::sample::select(vec![1_764_000_000i64, 1_764_000_180]))),
                0..5,
            ),
            full_refresh in any::<bool>(),
        ) {
            let mut st = TrailState::<FolderCursor> { bucket: "b".into(), prefix: "p".into(), full_refresh, ..Default::default() };
            for (path, (after, done, partial, listed_at, swept, sweep, first_to)) in folders {
                let sweep = sweep.map(|(to, after, done)| SweepCursor { to, after, done, ..Default::default() });
                st.folders.insert(path.to_string(), FolderCursor { after, done, partial, listed_at, swept, first_to, sweep });
            }
            let v = serde_json::to_value(&st).unwrap();
            prop_assert_eq!(TrailState::<FolderCursor>::from_json(&v).unwrap(), st);
        }
    }
}

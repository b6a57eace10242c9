//! JSON Schemas from Rust types, in the dialect Airbyte expects: draft-07, every subschema inline
//! (no `$ref`), and a nullable value written as `"type": [T, "null"]` rather than `anyOf`; and the
//! column types every record type shares (any JSON, timestamps).

use std::borrow::Cow;

use schemars::generate::SchemaSettings;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The draft-07 schema of `T`, normalised for Airbyte.
pub fn schema_for<T: JsonSchema>() -> Value {
    let schema = SchemaSettings::draft07()
        .with(|s| s.inline_subschemas = true)
        .into_generator()
        .into_root_schema_for::<T>();
    let mut value = schema.to_value();
    normalise(&mut value);
    if let Some(root) = value.as_object_mut() {
        root.remove("definitions");
    }
    value
}

/// A column kept as the JSON it is, whatever its shape (object, array, string, number, boolean or
/// null): the polymorphic fields. Its schema says so in the three dialects that read it:
/// - JSON Schema: `oneOf` the six JSON types, so every value validates, and the scanner (which
///   reads no `type` here) passes every value through as its bytes;
/// - Airbyte destinations: a `oneOf` is a union, which they store as JSON (jsonb, VARIANT,
///   SUPER, JSON) whatever the value, where the bulk CDK reads a schema without type as an object;
/// - PyAirbyte's SQL caches type a column by `airbyte_type` before `type`: `object` makes it a
///   JSON column (DuckDB JSON, Postgres JSON) that keeps any value, where a column without type
///   is VARCHAR, which psycopg2 cannot fill with an object (`can't adapt type 'dict'`). Airbyte's
///   type system knows no `airbyte_type: object` (the standard tests warn, without failing):
///   it is on top-level columns only, the one place PyAirbyte reads it.
///
/// Not `Option<AnyJson>`: null is one of its values, and schemars would wrap the schema in an
/// `anyOf` with null, which hides `airbyte_type` from PyAirbyte.
#[derive(Debug, Default, Deserialize)]
#[allow(dead_code)]
pub struct AnyJson(serde_json::Value);

impl JsonSchema for AnyJson {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "AnyJson".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut schema = NestedJson::json_schema(generator);
        schema.insert("airbyte_type".into(), "object".into());
        schema
    }
}

/// A member of a typed object kept as the JSON it is: `AnyJson` without the `airbyte_type`
/// (PyAirbyte stores the whole object as one JSON column).
#[derive(Debug, Default, Deserialize)]
#[allow(dead_code)]
pub struct NestedJson(serde_json::Value);

impl JsonSchema for NestedJson {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "NestedJson".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "oneOf": [
                {"type": "object", "additionalProperties": true},
                {"type": "array"},
                {"type": "string"},
                {"type": "number"},
                {"type": "boolean"},
                {"type": "null"}
            ]
        })
    }
}

/// A timestamp as CloudTrail writes it (`2024-05-01T12:00:00Z`).
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub struct Timestamp(String);

impl JsonSchema for Timestamp {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Timestamp".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "format": "date-time", "airbyte_type": "timestamp_with_timezone"})
    }
}

/// Rewrites schemars' output in place: `anyOf [X, null]` becomes X with a nullable type, and
/// Rust-specific `format`s (`uint32`, `double`…) that no JSON Schema validator knows are dropped.
fn normalise(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for v in map.values_mut() {
                normalise(v);
            }
            collapse_nullable_any_of(map);
            // Doc comments wrap lines; descriptions are prose.
            if let Some(Value::String(d)) = map.get_mut("description") {
                *d = d
                    .split("\n\n")
                    .map(|p| p.replace('\n', " "))
                    .collect::<Vec<_>>()
                    .join("\n\n");
            }
            if let Some(Value::String(f)) = map.get("format") {
                if !matches!(f.as_str(), "date" | "date-time" | "uri" | "email") {
                    map.remove("format");
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

fn collapse_nullable_any_of(map: &mut Map<String, Value>) {
    let Some(Value::Array(variants)) = map.get("anyOf") else {
        return;
    };
    let is_null = |v: &Value| v.get("type") == Some(&Value::String("null".into()));
    if variants.len() != 2 || !variants.iter().any(is_null) {
        return;
    }
    let Some(Value::Object(inner)) = variants.iter().find(|v| !is_null(v)).cloned() else {
        return;
    };
    let Some(Value::String(ty)) = inner.get("type").cloned() else {
        return;
    };
    map.remove("anyOf");
    for (k, v) in inner {
        map.entry(k).or_insert(v);
    }
    map.insert(
        "type".into(),
        Value::Array(vec![Value::String(ty), "null".into()]),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[derive(Serialize, JsonSchema)]
    struct Inner {
        a: u32,
    }

    /// Outer doc.
    #[derive(Serialize, JsonSchema)]
    struct Outer {
        /// A nullable nested object.
        inner: Option<Inner>,
        list: Option<Vec<Inner>>,
        n: Option<f64>,
    }

    #[test]
    fn nullable_fields_are_type_arrays_and_nothing_is_a_ref() {
        let s = schema_for::<Outer>();
        let text = s.to_string();
        assert!(
            !text.contains("$ref") && !text.contains("anyOf") && !text.contains("definitions"),
            "{text}"
        );
        assert_eq!(
            s["properties"]["inner"]["type"],
            serde_json::json!(["object", "null"])
        );
        assert_eq!(
            s["properties"]["inner"]["description"],
            "A nullable nested object."
        );
        assert_eq!(
            s["properties"]["list"]["type"],
            serde_json::json!(["array", "null"])
        );
        assert_eq!(
            s["properties"]["n"]["type"],
            serde_json::json!(["number", "null"])
        );
        assert_eq!(s["$schema"], "http://json-schema.org/draft-07/schema#");
    }
}

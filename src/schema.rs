//! JSON Schemas from Rust types, in the dialect Airbyte expects: draft-07, every subschema inline
//! (no `$ref`), and a nullable value written as `"type": [T, "null"]` rather than `anyOf`.

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
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

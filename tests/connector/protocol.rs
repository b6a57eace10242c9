//! spec, discover and the command line: what every Airbyte client relies on.

use serde_json::{json, Value};

use crate::support::*;

fn walk<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(v);
    match v {
        Value::Object(m) => m.values().for_each(|c| walk(c, out)),
        Value::Array(a) => a.iter().for_each(|c| walk(c, out)),
        _ => {}
    }
}

/// CAT's rules: draft-07, no `$ref`/`allOf`/`not`, types only T or [T, "null"].
fn assert_airbyte_schema(schema: &Value) {
    let text = schema.to_string();
    for banned in ["$ref", "allOf", "\"not\"", "anyOf", "oneOf"] {
        assert!(!text.contains(banned), "{banned} in {text}");
    }
    let mut nodes = vec![];
    walk(schema, &mut nodes);
    for n in nodes {
        if let Some(t) = n.get("type") {
            match t {
                Value::String(_) => {}
                Value::Array(a) => assert!(a.len() == 2 && a[1] == "null", "type {t}"),
                _ => panic!("type {t}"),
            }
        }
    }
}

#[test]
fn spec_is_generated_draft07_with_every_secret_flagged() {
    let run = exec(&["spec"], &[]);
    assert_eq!(run.code, Some(0));
    let specs = run.of_type("SPEC");
    assert_eq!(specs.len(), 1);
    let s = &specs[0]["spec"]["connectionSpecification"];
    assert_eq!(s["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(s["additionalProperties"], true);
    assert_airbyte_schema(s);
    let props = s["properties"].as_object().unwrap();
    for field in [
        "aws_key_id",
        "aws_secret_key",
        "aws_session_token",
        "role_external_id",
    ] {
        assert_eq!(props[field]["airbyte_secret"], true, "{field}");
    }
    for field in [
        "aws_region_name",
        "start_date",
        "lookup_attributes_filter",
        "regions",
        "role_arn",
        "role_session_name",
        "endpoint_url",
        "max_event_delay_minutes",
        "requests_per_second",
    ] {
        assert!(props.contains_key(field), "{field}");
        assert!(
            props[field]["description"]
                .as_str()
                .is_some_and(|d| d.len() > 10),
            "{field} is documented"
        );
    }
    // The old spec required these; nothing new may be required.
    let required: Vec<&str> = s["required"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap()).collect())
        .unwrap_or_default();
    assert!(
        required.iter().all(|r| [
            "aws_key_id",
            "aws_secret_key",
            "aws_region_name",
            "start_date"
        ]
        .contains(r)),
        "{required:?}"
    );
    assert_eq!(
        props["start_date"]["pattern"],
        "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
    );
    assert_eq!(props["aws_region_name"]["default"], "us-east-1");
    let filter = &props["lookup_attributes_filter"];
    assert_eq!(filter["properties"]["attribute_key"]["type"], "string");
    assert!(
        filter["properties"]["attribute_key"].get("enum").is_none(),
        "no enum: old configs must still validate"
    );
}

#[test]
fn discover_offers_management_events_with_keys_in_the_schema() {
    let env = Env::new(Default::default());
    let config = env.config(json!({}));
    let run = exec(&["discover", "--config", &path(&config)], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    let catalogs = run.of_type("CATALOG");
    assert_eq!(catalogs.len(), 1);
    let streams = catalogs[0]["catalog"]["streams"].as_array().unwrap();
    let s = streams.iter().find(|s| s["name"] == STREAM).unwrap();
    assert_eq!(s["source_defined_primary_key"], json!([["EventId"]]));
    assert_eq!(s["default_cursor_field"], json!(["EventTime"]));
    assert_eq!(
        s["supported_sync_modes"],
        json!(["full_refresh", "incremental"])
    );
    let schema = &s["json_schema"];
    assert_airbyte_schema(schema);
    let props = schema["properties"].as_object().unwrap();
    let old = [
        ("AccessKeyId", "string"),
        ("CloudTrailEvent", "string"),
        ("EventId", "string"),
        ("EventName", "string"),
        ("EventSource", "string"),
        ("EventTime", "number"),
        ("ReadOnly", "string"),
        ("Resources", "array"),
        ("Username", "string"),
    ];
    for (name, ty) in old {
        assert_eq!(props[name]["type"], json!([ty, "null"]), "{name}");
    }
    for name in [
        "AwsRegion",
        "SourceIpAddress",
        "UserAgent",
        "ErrorCode",
        "ErrorMessage",
        "EventType",
        "EventCategory",
        "EventVersion",
        "RecipientAccountId",
        "RequestId",
        "UserIdentityType",
        "UserIdentityArn",
        "UserIdentityAccountId",
        "UserIdentityPrincipalId",
        "SessionIssuerArn",
    ] {
        assert!(props.contains_key(name), "{name}");
    }
    let mut lower: Vec<String> = props.keys().map(|k| k.to_lowercase()).collect();
    let n = lower.len();
    lower.sort();
    lower.dedup();
    assert_eq!(lower.len(), n, "two columns differ only by case");
}

#[test]
fn a_bad_config_is_a_config_error_naming_the_field() {
    let env = Env::new(Default::default());
    let config = env.file(
        "c.json",
        r#"{"aws_region_name": "us-east-1", "max_event_delay_minutes": "soon"}"#,
    );
    let run = exec(&["discover", "--config", &path(&config)], &[]);
    assert_eq!(run.code, Some(1));
    let errors = run.errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["failure_type"], "config_error");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("max_event_delay_minutes"),
        "{}",
        errors[0]
    );
    for bad in ["", "not json", "[]", "{\"regions\": 5}"] {
        let config = env.file("c.json", bad);
        let run = exec(&["discover", "--config", &path(&config)], &[]);
        assert_eq!(run.code, Some(1), "{bad}");
        assert_eq!(run.errors()[0]["failure_type"], "config_error", "{bad}");
    }
    let run = exec(&["discover", "--config", "/nonexistent/config.json"], &[]);
    assert!(run.errors()[0]["message"]
        .as_str()
        .unwrap()
        .contains("/nonexistent/config.json"));
}

#[test]
fn a_bad_command_line_is_reported_on_stdout_too() {
    let run = exec(&["read", "--config"], &[]);
    assert_eq!(run.code, Some(2));
    assert_eq!(run.errors()[0]["failure_type"], "config_error");
    let out = command(&["--version"], &[]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("source-aws-cloudtrail "));
}

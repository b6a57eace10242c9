//! `TryFrom<RawConfig> for Config`: every check of the top-level fields.

use super::endpoint::endpoint_url;
use super::fields::{credential_source, is_region_name, present, role};
use super::raw::{
    RawConfig, DEFAULT_REQUESTS_PER_SECOND, MAX_EVENT_DELAY, MIN_REQUESTS_PER_SECOND,
};
use super::{organization, trail_logs, Config, CredentialSource, LookupFilter, LOOKUP_KEYS};
use crate::error::Error;
use crate::time;

/// A wait of `secs` seconds, longer than a day, as a person says it.
fn wait_in_words(secs: f64) -> String {
    let days = secs / 86_400.0;
    if days >= 730.0 {
        format!("{:.0} years", days / 365.25)
    } else {
        format!("{days:.1} days")
    }
}

impl TryFrom<RawConfig> for Config {
    type Error = Error;

    fn try_from(raw: RawConfig) -> Result<Config, Error> {
        let credentials = credential_source(
            "",
            raw.aws_key_id,
            raw.aws_secret_key,
            raw.aws_session_token,
        )?
        .unwrap_or(CredentialSource::DefaultChain);
        let role = role(
            "",
            raw.role_arn,
            raw.role_external_id,
            raw.role_session_name,
        )?;

        let mut regions = Vec::new();
        let listed = raw.regions.unwrap_or_default();
        let wanted: Vec<String> = if listed.iter().any(|r| !r.trim().is_empty()) {
            listed
        } else {
            vec![raw.aws_region_name]
        };
        for r in wanted {
            let r = r.trim().to_string();
            if r.is_empty() {
                continue;
            }
            if !is_region_name(&r) {
                return Err(Error::config(format!(
                    "'{r}' is not an AWS region name (like us-east-1): check aws_region_name and regions"
                )));
            }
            if !regions.contains(&r) {
                regions.push(r);
            }
        }
        if regions.is_empty() {
            return Err(Error::config(
                "aws_region_name is empty: set a region such as us-east-1",
            ));
        }

        let start_date = match present(raw.start_date) {
            Some(d) => Some(time::parse_date(&d).ok_or_else(|| {
                Error::config(format!(
                    "start_date must be a real date written YYYY-MM-DD, got '{d}'"
                ))
            })?),
            None => None,
        };

        let lookup_filter = match raw.lookup_attributes_filter {
            None => None,
            Some(f) => {
                let key = LOOKUP_KEYS.iter().find(|k| **k == f.attribute_key.trim()).ok_or_else(|| {
                    Error::config(format!(
                        "lookup_attributes_filter.attribute_key '{}' is not a LookupEvents attribute: use one of {}",
                        f.attribute_key,
                        LOOKUP_KEYS.join(", ")
                    ))
                })?;
                if f.attribute_value.is_empty() {
                    return Err(Error::config(
                        "lookup_attributes_filter.attribute_value is empty",
                    ));
                }
                Some(LookupFilter {
                    key,
                    value: f.attribute_value,
                })
            }
        };

        let endpoint_url = endpoint_url("endpoint_url", raw.endpoint_url)?;
        let max_event_delay_secs = MAX_EVENT_DELAY.seconds(raw.max_event_delay_minutes)?;
        let requests_per_second = raw
            .requests_per_second
            .unwrap_or(f64::from(DEFAULT_REQUESTS_PER_SECOND));
        if !(requests_per_second.is_finite() && requests_per_second > 0.0) {
            return Err(Error::config(format!(
                "requests_per_second must be a positive number, got {requests_per_second}"
            )));
        }
        if requests_per_second < MIN_REQUESTS_PER_SECOND {
            return Err(Error::config(format!(
                "requests_per_second {requests_per_second} would wait {} between two LookupEvents calls: it must be at least {MIN_REQUESTS_PER_SECOND:.7} (one call a day); AWS allows {DEFAULT_REQUESTS_PER_SECOND}",
                wait_in_words(1.0 / requests_per_second)
            )));
        }

        let trail_logs = match raw.trail_logs {
            Some(t) => Some(trail_logs::validate(t, &regions[0], role.as_ref())?),
            None => None,
        };

        let organization = raw.organization.map(organization::validate).transpose()?;

        Ok(Config {
            organization,
            trail_logs,
            credentials,
            role,
            regions,
            start_date,
            lookup_filter,
            endpoint_url,
            max_event_delay_secs,
            requests_per_second,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_json as parse, Config, CredentialSource, LookupFilter};

    #[test]
    fn accepts_the_existing_connectors_configs() {
        let c = parse(serde_json::json!({
            "aws_key_id": "AKIA1", "aws_secret_key": "s", "aws_region_name": "eu-west-1",
            "start_date": "2021-06-10", "records_limit": 100, "something_else": true,
            "lookup_attributes_filter": {"attribute_key": "EventName", "attribute_value": "ConsoleLogin"}
        }))
        .unwrap();
        assert_eq!(c.regions, vec!["eu-west-1"]);
        assert_eq!(c.start_date, Some(1_623_283_200));
        assert_eq!(
            c.lookup_filter,
            Some(LookupFilter {
                key: "EventName",
                value: "ConsoleLogin".into()
            })
        );
        assert_eq!(c.max_event_delay_secs, 900);
        assert_eq!(c.requests_per_second, 2.0);
        assert!(matches!(c.credentials, CredentialSource::Static { .. }));
    }

    #[test]
    fn rejects_what_cannot_work_naming_the_field() {
        let cases = [
            (serde_json::json!({"aws_key_id": "A"}), "aws_secret_key"),
            (
                serde_json::json!({"lookup_attributes_filter": {"attribute_key": "Nope", "attribute_value": "x"}}),
                "attribute_key",
            ),
            (
                serde_json::json!({"start_date": "2021-02-30"}),
                "start_date",
            ),
            (serde_json::json!({"regions": ["us-east1"]}), "us-east1"),
            (
                serde_json::json!({"max_event_delay_minutes": -1}),
                "max_event_delay_minutes",
            ),
            (
                serde_json::json!({"requests_per_second": 0}),
                "requests_per_second",
            ),
            (
                serde_json::json!({"requests_per_second": "fast"}),
                "requests_per_second",
            ),
            (
                serde_json::json!({"requests_per_second": 1e-9}),
                "requests_per_second",
            ),
            (
                serde_json::json!({"endpoint_url": "localhost:4566"}),
                "endpoint_url",
            ),
            (
                serde_json::json!({"role_arn": "cloudtrail-reader"}),
                "role_arn",
            ),
            (serde_json::json!({"organization": {}}), "member_role_name"),
            (
                serde_json::json!({"organization": {"member_role_name": " "}}),
                "organization.member_role_name",
            ),
            (
                serde_json::json!({"organization": {"member_role_name": "arn:aws:iam::111122223333:role/r"}}),
                "organization.member_role_name",
            ),
            (
                serde_json::json!({"organization": {"member_role_name": "a b"}}),
                "organization.member_role_name",
            ),
            (
                serde_json::json!({"organization": {"member_role_name": "r", "accounts": ["12345"]}}),
                "organization.accounts",
            ),
            (
                serde_json::json!({"organization": {"member_role_name": "r", "exclude_accounts": ["x11122223333"]}}),
                "organization.exclude_accounts",
            ),
            (
                serde_json::json!({"organization": {"member_role_name": "r", "accounts": ["111122223333"], "exclude_accounts": ["111122223333"]}}),
                "excludes every account",
            ),
            (
                serde_json::json!({"organization": {"member_role_name": "r", "member_role_external_id": "a\nb"}}),
                "organization.member_role_external_id",
            ),
        ];
        for (config, field) in cases {
            let message = parse(config.clone()).unwrap_err().to_string();
            assert!(message.contains(field), "{config} -> {message}");
        }
        assert!(Config::parse("[1,2]")
            .unwrap_err()
            .to_string()
            .contains("not a valid JSON object"));
    }

    proptest::proptest! {
        /// Any text, or any object of known keys with values of any type, is a config or a
        /// config error naming a field: never a panic.
        #[test]
        fn any_config_is_accepted_or_rejected(text in "\\PC{0,60}", values in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just(serde_json::json!(null)), proptest::strategy::Just(serde_json::json!(-1)),
                proptest::strategy::Just(serde_json::json!(1e300)), proptest::strategy::Just(serde_json::json!("")),
                proptest::strategy::Just(serde_json::json!("us-east-1")), proptest::strategy::Just(serde_json::json!("2024-02-30")),
                proptest::strategy::Just(serde_json::json!([])), proptest::strategy::Just(serde_json::json!({})),
                proptest::strategy::Just(serde_json::json!(["eu-west-1", 3])), proptest::strategy::Just(serde_json::json!(true)),
            ], 13)) {
            let _ = Config::parse(&text);
            let keys = ["aws_key_id", "aws_secret_key", "aws_session_token", "aws_region_name", "regions", "start_date",
                "lookup_attributes_filter", "role_arn", "role_external_id", "role_session_name", "endpoint_url",
                "max_event_delay_minutes", "requests_per_second"];
            let config: serde_json::Map<String, serde_json::Value> = keys.iter().map(|k| k.to_string()).zip(values).collect();
            if let Ok(c) = Config::parse(&serde_json::Value::Object(config).to_string()) {
                proptest::prop_assert!(!c.regions.is_empty() && c.requests_per_second > 0.0 && c.max_event_delay_secs >= 0);
            }
        }
    }

    #[test]
    fn organization_accounts_are_checked_deduplicated_and_excluded() {
        let c = parse(serde_json::json!({"organization": {
            "member_role_name": " cloudtrail-reader ", "member_role_external_id": "ext",
            "accounts": ["111122223333", " 444455556666", "111122223333", "", "777788889999"],
            "exclude_accounts": ["777788889999"]
        }}))
        .unwrap();
        let org = c.organization.unwrap();
        assert_eq!(org.member_role_name, "cloudtrail-reader");
        assert_eq!(org.external_id.unwrap().expose(), "ext");
        assert_eq!(
            org.accounts.as_deref(),
            Some(&["111122223333".to_string(), "444455556666".to_string()][..])
        );
        // Without a list (or with an empty one, as the UI sends), the organization is listed.
        let c = parse(serde_json::json!({"organization": {"member_role_name": "r", "accounts": [], "exclude_accounts": ["111122223333"]}})).unwrap();
        let org = c.organization.unwrap();
        assert!(org.accounts.is_none());
        let listed = ["111122223333", "444455556666", "444455556666"].map(String::from);
        assert_eq!(org.select(listed), vec!["444455556666"]);
        assert!(parse(serde_json::json!({})).unwrap().organization.is_none());
    }

    #[test]
    fn regions_default_to_aws_region_name_and_are_deduplicated() {
        let c =
            parse(serde_json::json!({"regions": ["us-east-1", "eu-west-1", "us-east-1"]})).unwrap();
        assert_eq!(c.regions, vec!["us-east-1", "eu-west-1"]);
        let c = parse(serde_json::json!({})).unwrap();
        assert_eq!(c.regions, vec!["us-east-1"]);
        assert!(matches!(c.credentials, CredentialSource::DefaultChain));
    }
}

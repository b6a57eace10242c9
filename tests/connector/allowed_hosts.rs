//! metadata.yaml's `allowedHosts` against every host the AWS SDK would send the connector's calls
//! to: each SDK crate's own endpoint resolver (no endpoint override), for every service the
//! connector calls, in several regions of each partition, with and without FIPS and dual-stack
//! (both reachable through `AWS_USE_FIPS_ENDPOINT` / `AWS_USE_DUALSTACK_ENDPOINT`, which the
//! connector's `aws_config::defaults` honours). Where the platform enforces the list, a host it
//! misses is a blocked sync; a pattern that no host needs is a hole.

use std::collections::BTreeSet;

/// Several regions of each partition: old and new ones, opt-in ones, every continent.
const PARTITIONS: &[(&str, &str, &[&str])] = &[
    (
        "aws",
        ".amazonaws.com",
        &[
            "us-east-1",
            "us-east-2",
            "us-west-2",
            "ca-central-1",
            "sa-east-1",
            "eu-west-1",
            "eu-central-2",
            "eu-south-1",
            "me-central-1",
            "il-central-1",
            "af-south-1",
            "ap-southeast-2",
            "ap-northeast-1",
            "ap-south-2",
        ],
    ),
    ("aws-cn", ".cn", &["cn-north-1", "cn-northwest-1"]),
    ("aws-us-gov", "", &["us-gov-west-1", "us-gov-east-1"]),
];

/// (FIPS, dual-stack).
const VARIANTS: [(bool, bool); 4] = [(false, false), (true, false), (false, true), (true, true)];

/// A trail bucket of each addressing style: virtual-hosted, and a name with dots, which the SDK
/// addresses path-style (a dotted subdomain does not match the certificate).
const BUCKETS: [&str; 2] = [
    "aws-cloudtrail-logs-111122223333-0a1b2c3d",
    "trail.logs.example.com",
];

/// metadata.yaml's `data.allowedHosts.hosts`, read by hand: the list's lines, quotes and
/// comments taken off.
fn allowed_hosts() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/metadata.yaml");
    let text = std::fs::read_to_string(path).expect("metadata.yaml");
    let mut lines = text.lines();
    lines
        .by_ref()
        .find(|l| l.trim() == "allowedHosts:")
        .expect("allowedHosts in metadata.yaml");
    lines
        .by_ref()
        .find(|l| l.trim() == "hosts:")
        .expect("allowedHosts.hosts in metadata.yaml");
    let mut hosts = Vec::new();
    for line in lines {
        let item = line.trim();
        if item.is_empty() || item.starts_with('#') {
            continue;
        }
        let Some(value) = item.strip_prefix("- ") else {
            break;
        };
        let value = value.split(" #").next().unwrap().trim();
        hosts.push(value.trim_matches(|c| c == '"' || c == '\'').to_string());
    }
    assert!(!hosts.is_empty(), "allowedHosts.hosts is empty");
    hosts
}

/// A host name against an allowedHosts pattern. `*` stands for any run of characters within one
/// DNS label: the narrowest reading of Airbyte's wildcard, so a list that passes here passes
/// where `*` also spans dots.
fn allows(pattern: &str, host: &str) -> bool {
    fn label(p: &[u8], h: &[u8]) -> bool {
        match p.split_first() {
            None => h.is_empty(),
            Some((b'*', rest)) => (1..=h.len()).any(|n| label(rest, &h[n..])),
            Some((c, rest)) => h.first() == Some(c) && label(rest, &h[1..]),
        }
    }
    let (p, h): (Vec<_>, Vec<_>) = (pattern.split('.').collect(), host.split('.').collect());
    p.len() == h.len()
        && p.iter()
            .zip(&h)
            .all(|(p, h)| label(p.as_bytes(), h.as_bytes()))
}

fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap();
    authority.split(':').next().unwrap().to_string()
}

/// (service, partition, region, fips, dual-stack) -> the host the SDK resolves, or its refusal.
struct Resolved {
    what: String,
    host: Result<String, String>,
}

async fn resolve_all() -> Vec<Resolved> {
    let mut out = Vec::new();
    let mut push = |what: String, r: Result<aws_smithy_types::endpoint::Endpoint, String>| {
        out.push(Resolved {
            what,
            host: r.map(|e| host_of(e.url())),
        })
    };
    for (partition, _, regions) in PARTITIONS {
        for region in *regions {
            for (fips, dual) in VARIANTS {
                let at = format!("{partition} {region} fips={fips} dual-stack={dual}");
                {
                    use aws_sdk_cloudtrail::config::endpoint::{
                        DefaultResolver, Params, ResolveEndpoint,
                    };
                    let p = Params::builder()
                        .region(*region)
                        .use_fips(fips)
                        .use_dual_stack(dual)
                        .build()
                        .unwrap();
                    let r = DefaultResolver::new().resolve_endpoint(&p).await;
                    push(format!("cloudtrail {at}"), r.map_err(|e| e.to_string()));
                }
                {
                    use aws_sdk_organizations::config::endpoint::{
                        DefaultResolver, Params, ResolveEndpoint,
                    };
                    let p = Params::builder()
                        .region(*region)
                        .use_fips(fips)
                        .use_dual_stack(dual)
                        .build()
                        .unwrap();
                    let r = DefaultResolver::new().resolve_endpoint(&p).await;
                    push(format!("organizations {at}"), r.map_err(|e| e.to_string()));
                }
                for global in [false, true] {
                    use aws_sdk_sts::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
                    let p = Params::builder()
                        .region(*region)
                        .use_fips(fips)
                        .use_dual_stack(dual)
                        .use_global_endpoint(global)
                        .build()
                        .unwrap();
                    let r = DefaultResolver::new().resolve_endpoint(&p).await;
                    push(
                        format!("sts {at} global={global}"),
                        r.map_err(|e| e.to_string()),
                    );
                }
                for bucket in BUCKETS {
                    for global in [false, true] {
                        use aws_sdk_s3::config::endpoint::{
                            DefaultResolver, Params, ResolveEndpoint,
                        };
                        let p = Params::builder()
                            .bucket(bucket)
                            .region(*region)
                            .use_fips(fips)
                            .use_dual_stack(dual)
                            .use_global_endpoint(global)
                            .build()
                            .unwrap();
                        let r = DefaultResolver::new().resolve_endpoint(&p).await;
                        push(
                            format!("s3 bucket {bucket} {at} global={global}"),
                            r.map_err(|e| e.to_string()),
                        );
                    }
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn every_host_the_sdk_resolves_is_allowed_and_every_pattern_is_needed() {
    let patterns = allowed_hosts();
    let resolved = resolve_all().await;

    // The resolvers answer for the plain endpoints of every region, in its partition's domain.
    for (partition, suffix, regions) in PARTITIONS {
        for region in *regions {
            let plain = format!("{partition} {region} fips=false dual-stack=false");
            for r in resolved.iter().filter(|r| r.what.contains(&plain)) {
                let host = r
                    .host
                    .as_ref()
                    .unwrap_or_else(|e| panic!("{}: {e}", r.what));
                assert!(host.ends_with(suffix), "{} resolved to {host}", r.what);
            }
        }
    }
    let hosts: BTreeSet<(&str, &str)> = resolved
        .iter()
        .filter_map(|r| r.host.as_ref().ok().map(|h| (h.as_str(), r.what.as_str())))
        .collect();
    for (service, variant) in [
        ("cloudtrail", "fips=true"),
        ("cloudtrail", "dual-stack=true"),
        ("organizations", "aws-cn"),
        ("organizations", "fips=true"),
        ("sts", "fips=true"),
        ("s3", "fips=true"),
        ("s3", "dual-stack=true"),
    ] {
        assert!(
            hosts
                .iter()
                .any(|(_, what)| what.starts_with(service) && what.contains(variant)),
            "no {service} endpoint resolved with {variant}"
        );
    }

    let blocked: Vec<String> = hosts
        .iter()
        .filter(|(host, _)| !patterns.iter().any(|p| allows(p, host)))
        .map(|(host, what)| format!("{host}  ({what})"))
        .collect();
    assert!(
        blocked.is_empty(),
        "metadata.yaml allowedHosts misses {} hosts:\n{}",
        blocked.len(),
        blocked.join("\n")
    );
    let unused: Vec<&String> = patterns
        .iter()
        .filter(|p| !hosts.iter().any(|(host, _)| allows(p, host)))
        .collect();
    assert!(
        unused.is_empty(),
        "allowedHosts patterns no call needs: {unused:?}"
    );
}

#[test]
fn the_wildcard_stands_for_part_of_one_label_only() {
    assert!(allows(
        "cloudtrail.*.amazonaws.com",
        "cloudtrail.us-east-1.amazonaws.com"
    ));
    assert!(allows(
        "*.s3.*.amazonaws.com",
        "my-bucket.s3.eu-west-1.amazonaws.com"
    ));
    assert!(allows("s3-*.amazonaws.com", "s3-fips.amazonaws.com"));
    assert!(!allows(
        "cloudtrail.*.amazonaws.com",
        "cloudtrail.amazonaws.com"
    ));
    assert!(!allows(
        "cloudtrail.*.amazonaws.com",
        "cloudtrail.a.b.amazonaws.com"
    ));
    assert!(!allows(
        "cloudtrail.*.amazonaws.com",
        "cloudtrail.us-east-1.amazonaws.com.cn"
    ));
    assert!(!allows("*.s3.amazonaws.com", "evil.example.com"));
    assert!(allows("sts.amazonaws.com", "sts.amazonaws.com"));
    assert!(!allows("sts.amazonaws.com", "xsts.amazonaws.com"));
    assert_eq!(
        host_of("https://bucket.s3.us-east-1.amazonaws.com/key?x=1"),
        "bucket.s3.us-east-1.amazonaws.com"
    );
    assert_eq!(
        host_of("https://sts.amazonaws.com:443"),
        "sts.amazonaws.com"
    );
}

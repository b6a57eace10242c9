//! A CloudTrail client of any region, derived from a connected one: the same credentials,
//! endpoint settings, timeouts and body limits, for the calls made wherever the data says
//! (a digest's region, a trail's home region).

use std::sync::Arc;

use aws_config::Region;

use super::pacer::Pacer;
use super::{endpoint_for, RegionClient, CONTROL_REQUESTS_PER_SECOND};
use crate::config::Config;

impl RegionClient {
    /// A client of `region` with the same credentials (call it on `Connection::base` for the
    /// base credentials) and pacers of its own.
    pub fn in_region(&self, region: &str, config: &Config) -> RegionClient {
        let conf = self
            .client
            .config()
            .to_builder()
            .region(Region::new(region.to_string()))
            .build();
        RegionClient {
            account: self.account.clone(),
            member: self.member.clone(),
            region: region.to_string(),
            client: aws_sdk_cloudtrail::Client::from_conf(conf),
            pacer: Arc::new(Pacer::new(config.requests_per_second)),
            control_pacer: Arc::new(Pacer::new(CONTROL_REQUESTS_PER_SECOND)),
            endpoint: endpoint_for(config, region),
            stop: self.stop.clone(),
        }
    }
}

//! A local AWS CloudTrail endpoint for tests, benchmarks and the demo: LookupEvents over AWS JSON
//! 1.1 with SigV4, STS AssumeRole, realistic generated records and fault knobs.
#![forbid(unsafe_code)]

mod cloudtrail;
mod control;
pub mod digests;
mod emulator;
mod faults;
mod http;
pub mod kinds;
mod organizations;
pub mod records;
mod requests;
pub mod s3;
pub mod sigv4;
pub mod store;
mod sts;
pub mod trail_logs;
pub mod trails;

pub use cloudtrail::RegionStats;
pub use control::{ListedEvent, NewEvent, NewEvents};
pub use emulator::{
    member_role_arn, now, scope_key, Emulator, EmulatorConfig, DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ROLE_ARN, DEFAULT_SECRET_ACCESS_KEY,
};
pub use faults::Faults;
pub use records::ACCOUNT;
pub use requests::{RequestSeen, REQUEST_LOG_CAPACITY};

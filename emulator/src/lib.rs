//! A local AWS CloudTrail endpoint for tests, benchmarks and the demo: LookupEvents over AWS JSON
//! 1.1 with SigV4, STS AssumeRole, realistic generated records and fault knobs.
#![forbid(unsafe_code)]

pub mod records;
mod server;
pub mod sigv4;
pub mod store;
pub mod trail_logs;
pub mod trails;

pub use server::{
    now, Emulator, EmulatorConfig, Faults, ListedEvent, NewEvent, NewEvents, RegionStats,
    DEFAULT_ACCESS_KEY_ID, DEFAULT_ROLE_ARN, DEFAULT_SECRET_ACCESS_KEY,
};

//! Integration tests: the real binary against the in-process CloudTrail emulator.

mod allowed_hosts;
mod check;
mod faults;
mod folder_access;
mod hostile;
mod hostile_digests;
mod hostile_org;
mod incremental;
mod insights;
mod late_files;
mod org_scale;
mod organization;
mod protocol;
mod read;
mod s3;
mod secrets;
mod stop;
mod support;
mod trail_digests;
mod trail_events;
mod trail_kinds;
mod trails;

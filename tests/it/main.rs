//! kcc's integration tests: one test crate (one link of kcc and its dependencies), a
//! module per area. They run the kcc binary on the fixture fleets under tests/fixtures/,
//! never on the live fleet.

mod architecture;
mod bad_inputs;
mod check_rules;
mod cli;
mod commands;
mod common;
mod deploy;
mod diff;
mod diff_review;
mod errors;
mod field_patch;
mod fuzz_corpus;
mod golden;
mod helm_values;
mod hostile;
mod network_rules;
mod parity;
mod partial;
mod policy_conformance;
mod report_formats;
mod secret_taint;
mod secrets;
mod since;
mod validate;
mod values_files;
mod values_reads;
mod versions;

//! The gRPC API: thin handlers over the store.
//!
//! Generated types stay in [`pb`] and never leave this module: [`convert`] turns them into
//! domain types and back, [`status`] is the one place where errors become `tonic::Status`,
//! and [`service`] names the RPCs, whose handlers live by theme in
//! [`teachers`], [`certificates`], [`titles`], [`changes`] and [`import`] (extract, convert, call, convert back).
//! [`cases`] and [`credentials`] serve their own services over the same store and gate.
//! [`verification`] is the public VerificationService, limited per address by [`address_limit`];
//! every other caller's refusals are limited per principal by [`refusals`].
//! Their store reads run through [`reads`], off the runtime's workers.
//! [`json`] writes and reads messages as the JSON lines of backups and exports.

pub mod pb {
    //! Code generated from `proto/teacher_registry/v1` by tonic-prost-build.
    #![allow(unreachable_pub, clippy::all, clippy::pedantic, missing_docs)]
    tonic::include_proto!("teacher_registry.v1");

    /// The encoded descriptors of the registry's proto files, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/teacher_registry_descriptor.bin"));
}

mod address_limit;
mod audit;
mod audit_entries;
mod backup;
mod case_convert;
mod case_report;
mod case_rpcs;
mod case_steps;
mod cases;
mod certificate_convert;
mod certificates;
mod change_convert;
mod changes;
mod convert;
mod credentials;
mod duplicates;
mod evaluation;
mod evaluation_batch;
mod evaluation_convert;
mod evaluation_rpcs;
mod former_convert;
mod gate;
mod history;
mod identity;
mod identity_rpcs;
mod import;
pub mod json;
mod merges;
mod principal_rate;
mod reads;
mod refusals;
mod registry_rpcs;
mod requests;
mod service;
mod status;
mod stored_convert;
mod teachers;
mod titles;
mod transfers;
mod verification;
mod wire;

pub use address_limit::{RateLimit, DEFAULT_MAX_ADDRESSES};
pub(crate) use case_convert::{backup_case, stored_case};
pub(crate) use case_report::{consultation_message, stored_consultation};
pub use case_rpcs::CaseService;
pub use convert::LEGACY_TITLES;
pub use credentials::CredentialService;
pub use duplicates::DuplicateService;
pub use evaluation_rpcs::EvaluationService;
pub use gate::{Gate, DEFAULT_MAX_IN_FLIGHT};
pub use identity_rpcs::IdentityService;
pub use principal_rate::{default_rates, RoleRate};
pub use reads::MAX_CONCURRENT_READS;
pub use refusals::{DEFAULT_AUDIT_BUDGET, DEFAULT_REFUSAL_LIMIT};
pub use service::{RegistryService, DEFAULT_PROGRESS_INTERVAL};
pub use status::code_name;
pub(crate) use stored_convert::{stored_change, stored_teacher};
pub use verification::VerificationService;

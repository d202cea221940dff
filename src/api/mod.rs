//! The gRPC API: thin handlers over the store.
//!
//! Generated types stay in [`pb`] and never leave this module: [`convert`] turns them into
//! domain types and back, [`status`] is the one place where errors become `tonic::Status`,
//! and [`service`] holds the handlers (extract, convert, call, convert back).

pub mod pb {
    //! Code generated from `proto/teacher_registry/v1` by tonic-prost-build.
    #![allow(unreachable_pub, clippy::all, clippy::pedantic, missing_docs)]
    tonic::include_proto!("teacher_registry.v1");

    /// The encoded descriptors of the registry's proto files, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/teacher_registry_descriptor.bin"));
}

mod convert;
mod service;
mod status;

pub use service::RegistryService;

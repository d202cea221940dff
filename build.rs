//! Compiles the proto files with protox (pure Rust), so the build needs no system protoc,
//! and writes the descriptor set that server reflection serves.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/teacher_registry/v1/teacher.proto",
        "proto/teacher_registry/v1/case.proto",
        "proto/teacher_registry/v1/case_service.proto",
        "proto/teacher_registry/v1/evaluation.proto",
        "proto/teacher_registry/v1/evaluation_service.proto",
        "proto/teacher_registry/v1/registry_service.proto",
        "proto/teacher_registry/v1/credential_service.proto",
        "proto/teacher_registry/v1/verification_service.proto",
        "proto/teacher_registry/v1/identity_service.proto",
        "proto/teacher_registry/v1/duplicate_service.proto",
    ];
    println!("cargo:rerun-if-changed=proto/google/rpc/status.proto");
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(protos, ["proto"])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("teacher_registry_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    // google.rpc.Status (a rejected import row's answer) is tonic-types' own type, so a row's
    // status and a call's status are one Rust type; its proto file is vendored under
    // `proto/google/rpc/` only so that the descriptor set (and reflection) can name it.
    tonic_prost_build::configure()
        .extern_path(".google.rpc", "::tonic_types::pb")
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}

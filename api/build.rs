//! Compiles the fleet protobuf with `protox` (a pure-Rust protobuf compiler), so
//! building Omnibus never needs a `protoc` on the PATH.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/omnibus/fleet/v1/fleet.proto";
    println!("cargo:rerun-if-changed={proto}");
    let descriptors = protox::compile([proto], ["proto"])?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(descriptors)?;
    Ok(())
}

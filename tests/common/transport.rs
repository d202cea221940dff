//! What the channel under a generated client must be for a helper that calls over any of
//! them: a plain channel, or one with an interceptor that adds a token. The benches'
//! `common` includes this file by path, as tests and benches cannot share a module.

use tonic::codegen::{Body, Bytes, StdError};

/// A channel a generated client can call over.
pub trait Transport:
    tonic::client::GrpcService<
    tonic::body::Body,
    Error: Into<StdError>,
    ResponseBody: Body<Data = Bytes, Error: Into<StdError> + Send> + Send + 'static,
>
{
}

impl<T> Transport for T where
    T: tonic::client::GrpcService<
        tonic::body::Body,
        Error: Into<StdError>,
        ResponseBody: Body<Data = Bytes, Error: Into<StdError> + Send> + Send + 'static,
    >
{
}

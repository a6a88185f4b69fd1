//! The `ssh` transport: one openssh native-mux master per host. (Being built.)

use super::{ConnectionSpec, ExecOutput, ExecRequest, TransportError};

pub struct SshConnection {
    _private: (),
}

impl SshConnection {
    pub async fn open(spec: &ConnectionSpec) -> Result<SshConnection, TransportError> {
        Err(TransportError::Other(format!(
            "{}: the ssh transport is not built yet",
            spec.host_name
        )))
    }

    pub async fn exec(&self, _request: &ExecRequest) -> Result<ExecOutput, TransportError> {
        Err(TransportError::Other(
            "the ssh transport is not built yet".into(),
        ))
    }

    pub async fn close(self) {}
}

//! The `net_` and `web3_` namespaces.

use std::sync::Arc;

use alloy_primitives::{B256, Bytes, U64, keccak256};

use crate::{
    api::{NetApiServer, Web3ApiServer},
    error::Result,
    state::EthState,
};

/// Implements [`NetApiServer`] and [`Web3ApiServer`].
#[derive(Debug, Clone)]
pub(crate) struct NetWeb3 {
    state: Arc<EthState>,
}

impl NetWeb3 {
    pub(crate) const fn new(state: Arc<EthState>) -> Self {
        Self { state }
    }
}

impl NetApiServer for NetWeb3 {
    fn version(&self) -> Result<String> {
        Ok(self.state.backend.chain_id().to_string())
    }

    fn listening(&self) -> Result<bool> {
        Ok(true)
    }

    fn peer_count(&self) -> Result<U64> {
        Ok(U64::ZERO)
    }
}

impl Web3ApiServer for NetWeb3 {
    fn client_version(&self) -> Result<String> {
        Ok(self.state.backend.client_version())
    }

    fn sha3(&self, input: Bytes) -> Result<B256> {
        Ok(keccak256(&input))
    }
}

//! The rustls side of the tunnel: building a server configuration fit for EAP-TTLS from a
//! certificate and key, and driving a `ServerConnection` over in-memory buffers. It must not
//! read files, generate certificates or choose whose certificate to use: the server layer
//! supplies each tenant's, as the directory keeps it (`tenant_tls`).

use std::io::Read;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::NoServerSessionStorage;
use rustls::{ServerConfig, ServerConnection};
use zeroize::Zeroizing;

use super::EapError;

/// A server configuration for EAP-TTLS: TLS 1.2 and 1.3 (ring), no client certificates, no
/// ALPN, and no resumption — no session cache, no tickets — so that every conversation runs a
/// full handshake and the inner PAP (resumption would let a peer skip phase 2).
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, EapError> {
    if chain.is_empty() {
        return Err(EapError::Config("no certificate".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| EapError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| EapError::Config(e.to_string()))?;
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// [`server_config`] from PEM: a certificate chain (leaf first) and a private key (PKCS#8,
/// PKCS#1 or SEC1).
pub fn server_config_from_pem(
    chain_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<ServerConfig>, EapError> {
    let chain = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| EapError::Config(format!("certificate PEM: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| EapError::Config(format!("private key PEM: {e}")))?;
    server_config(chain, key)
}

/// Feeds a whole peer message into the connection and processes it.
pub(crate) fn feed(tls: &mut ServerConnection, message: &[u8]) -> Result<(), EapError> {
    let mut rest = message;
    while !rest.is_empty() {
        let n = tls
            .read_tls(&mut rest)
            .map_err(|e| EapError::Tls(e.to_string()))?;
        tls.process_new_packets()
            .map_err(|e| EapError::Tls(e.to_string()))?;
        if n == 0 {
            break;
        }
    }
    Ok(())
}

/// Everything the connection wants to send.
pub(crate) fn drain(tls: &mut ServerConnection) -> Result<Vec<u8>, EapError> {
    let mut out = Vec::new();
    while tls.wants_write() {
        tls.write_tls(&mut out)
            .map_err(|e| EapError::Tls(e.to_string()))?;
    }
    Ok(out)
}

/// The application data received so far (the inner AVPs), at most `max` bytes; a peer that
/// closed the tunnel is an error.
pub(crate) fn plaintext(
    tls: &mut ServerConnection,
    max: usize,
) -> Result<Zeroizing<Vec<u8>>, EapError> {
    let mut out = Zeroizing::new(Vec::new());
    let mut buf = Zeroizing::new([0u8; 4096]);
    loop {
        match tls.reader().read(buf.as_mut_slice()) {
            Ok(0) => return Err(EapError::Tls("the peer closed the tunnel".into())),
            Ok(n) => {
                out.extend_from_slice(buf.get(..n).unwrap_or_default());
                if out.len() > max {
                    return Err(EapError::TooLarge { limit: max });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(out),
            Err(e) => return Err(EapError::Tls(e.to_string())),
        }
    }
}

//! The EAP-TTLS server configuration of each tenant, so that a supplicant is only ever shown the
//! certificate of the tenant whose NAS client it came through: built with [`eap::tls`] from the
//! tenant's certificate and key as the core keeps them (generated there on first use, or
//! installed by an administrator), and cached per tenant for a bounded number of tenants (the one
//! used longest ago leaves first). The request that begins a conversation has the entry checked
//! against the core (one read, no TLS work) and rebuilt when the certificate changed, so an
//! installation or removal — on this node or another — reaches the next conversation; the
//! requests that continue one use the entry as it is. It decides nothing about packets and
//! never opens the store.

use crate::eap::{self, EapError};
use parking_lot::Mutex;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use std::collections::HashMap;
use std::sync::Arc;
use tessera_directory::model::{EapCertificateSource, EapKey, EapKeyFormat, TenantId};
use tessera_directory::policy::Timestamp;
use tessera_directory::{Actor, Directory};

/// Tenants whose configuration is kept at once.
pub(crate) const MAX_TENANTS: usize = 1024;

/// Why there is no configuration for a tenant.
#[derive(Debug)]
pub(crate) enum Unavailable {
    /// The core could not give the tenant's key (gone, or the server's own trouble).
    Directory(tessera_directory::Error),
    /// rustls refused the stored certificate or key.
    Tls(EapError),
}

/// Which certificate a configuration was built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    source: EapCertificateSource,
    created_at: Timestamp,
    sha256: [u8; 32],
}

impl Stamp {
    fn of(k: &EapKey) -> Stamp {
        Stamp {
            source: k.certificate.source,
            created_at: k.certificate.created_at,
            sha256: k.certificate.sha256,
        }
    }
}

#[derive(Debug)]
struct Entry {
    stamp: Stamp,
    config: Arc<ServerConfig>,
    used: Timestamp,
}

/// The per-tenant configurations of a server.
#[derive(Debug)]
pub(crate) struct TenantTls {
    dir: Directory,
    max: usize,
    entries: Mutex<HashMap<TenantId, Entry>>,
}

impl TenantTls {
    pub(crate) fn new(dir: Directory, max: usize) -> TenantTls {
        TenantTls {
            dir,
            max: max.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration for a conversation through a client of `tenant`, at `now`; `begins`:
    /// the request begins a conversation, so the certificate is checked against the core.
    pub(crate) fn config(
        &self,
        tenant: TenantId,
        now: Timestamp,
        begins: bool,
    ) -> Result<Arc<ServerConfig>, Unavailable> {
        if let Some(e) = self.entries.lock().get_mut(&tenant) {
            e.used = now;
            if !begins {
                return Ok(Arc::clone(&e.config));
            }
        }
        // The core's read (and, the first time, its key generation) runs outside the lock.
        let key = self
            .dir
            .radius()
            .eap_key(&Actor::system(), tenant)
            .map_err(Unavailable::Directory)?;
        let stamp = Stamp::of(&key);
        if let Some(e) = self.entries.lock().get_mut(&tenant) {
            if e.stamp == stamp {
                return Ok(Arc::clone(&e.config));
            }
        }
        if key.certificate.not_after < now {
            tracing::warn!(
                tenant = %tenant,
                subject = %key.certificate.subject,
                "the installed EAP-TTLS certificate has expired: supplicants will refuse it"
            );
        }
        let config = build(&key).map_err(Unavailable::Tls)?;
        let mut entries = self.entries.lock();
        if entries.len() >= self.max && !entries.contains_key(&tenant) {
            let oldest = entries.iter().min_by_key(|(_, e)| e.used).map(|(t, _)| *t);
            if let Some(t) = oldest {
                entries.remove(&t);
            }
        }
        entries.insert(
            tenant,
            Entry {
                stamp,
                config: Arc::clone(&config),
                used: now,
            },
        );
        Ok(config)
    }

    /// Tenants with a configuration kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().len()
    }
}

/// The rustls configuration for a tenant's key.
fn build(key: &EapKey) -> Result<Arc<ServerConfig>, EapError> {
    let chain: Vec<CertificateDer<'static>> = key
        .certificate
        .chain_der
        .iter()
        .map(|d| CertificateDer::from(d.clone()))
        .collect();
    let der = key.private_key.der.expose().to_vec();
    let private = match key.private_key.format {
        EapKeyFormat::Pkcs8 => PrivateKeyDer::Pkcs8(der.into()),
        EapKeyFormat::Pkcs1 => PrivateKeyDer::Pkcs1(der.into()),
        EapKeyFormat::Sec1 => PrivateKeyDer::Sec1(der.into()),
    };
    eap::tls::server_config(chain, private)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_directory::model::{NewEapCertificate, SecretBytes};
    use tessera_directory::policy::TenantKind;
    use tessera_directory::testkit::{new_tenant, TestDirectory};

    #[test]
    fn one_configuration_per_tenant_rebuilt_when_its_certificate_changes_and_bounded() {
        let (td, root) = TestDirectory::with_root().unwrap();
        let d = &td.dir;
        let sys = Actor::system();
        let t: Vec<TenantId> = ["contoso", "fabrikam", "globex"]
            .into_iter()
            .map(|s| {
                d.tenants()
                    .create(&sys, root.id, new_tenant(s, TenantKind::Msp))
                    .unwrap()
                    .id
            })
            .collect();
        let tls = TenantTls::new(d.clone(), 2);
        let get = |t: TenantId, begins: bool| tls.config(t, d.now(), begins).unwrap();
        let contoso = get(t[0], true);
        let fabrikam = get(t[1], true);
        assert!(!Arc::ptr_eq(&contoso, &fabrikam));
        // Checked again as a conversation begins: unchanged, the same configuration.
        assert!(Arc::ptr_eq(&contoso, &get(t[0], true)));
        // An installed certificate is picked up by the next conversation, not by one going on.
        let own = rcgen::generate_simple_self_signed(vec!["radius.contoso.com".into()]).unwrap();
        d.radius()
            .install_eap_certificate(
                &sys,
                t[0],
                NewEapCertificate {
                    chain_pem: own.cert.pem(),
                    private_key_pem: SecretBytes::new(own.signing_key.serialize_pem().into()),
                },
            )
            .unwrap();
        assert!(Arc::ptr_eq(&contoso, &get(t[0], false)));
        let installed = get(t[0], true);
        assert!(!Arc::ptr_eq(&contoso, &installed));
        assert!(Arc::ptr_eq(&installed, &get(t[0], false)));
        // A third tenant evicts the one used longest ago (fabrikam), not contoso.
        td.clock.advance_secs(1);
        get(t[2], false);
        assert_eq!(tls.len(), 2);
        assert!(Arc::ptr_eq(&installed, &get(t[0], false)));
        assert!(!Arc::ptr_eq(&fabrikam, &get(t[1], false)));
        // A deleted tenant has none.
        d.tenants().delete(&sys, t[2]).unwrap();
        assert!(matches!(
            tls.config(t[2], d.now(), true),
            Err(Unavailable::Directory(tessera_directory::Error::NotFound))
        ));
    }
}

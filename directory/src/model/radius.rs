//! What the RADIUS frontend reads from and reports to the core: a NAS client as the frontend
//! matches packets against it (with its secret opened), accounting reports and the sessions
//! they build, and a tenant's EAP-TTLS certificate (what administrators see and install, and
//! the key the frontend alone opens). It owns shapes and field limits; it must not touch the
//! store, decide authorisation or know anything of the RADIUS wire.

use super::{AppId, GroupId, ReplyAttribute, SecretBytes, SharedSecret, TenantId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::net::IpAddr;
use tessera_policy::Timestamp;

/// A RADIUS client (NAS) of some tenant, as the frontend needs it: where its packets come from
/// and the secret that proves them. Only the installation reads it
/// ([`crate::Radius::clients`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NasClient {
    /// The tenant the client belongs to.
    pub tenant: TenantId,
    /// That tenant's slug (for logs).
    pub tenant_slug: String,
    /// The application record.
    pub app: AppId,
    /// Its name.
    pub name: String,
    /// Source addresses or networks.
    pub addresses: Vec<ipnet::IpNet>,
    /// The shared secret, opened.
    pub secret: SharedSecret,
    /// Whether Access-Requests must carry Message-Authenticator.
    pub require_message_authenticator: bool,
    /// Reply attributes for every user of this client.
    pub reply: Vec<ReplyAttribute>,
    /// The groups whose members may use it.
    pub bound_groups: BTreeSet<GroupId>,
}

/// What an Accounting-Request reports (RFC 2866 Acct-Status-Type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountingStatus {
    /// A session began.
    Start,
    /// A session is still going (counters so far).
    Interim,
    /// A session ended.
    Stop,
    /// The NAS (re)started: its open sessions are over.
    AccountingOn,
    /// The NAS is stopping: its open sessions are over.
    AccountingOff,
}

impl AccountingStatus {
    /// The stable name, as in audit actions.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountingStatus::Start => "start",
            AccountingStatus::Interim => "interim",
            AccountingStatus::Stop => "stop",
            AccountingStatus::AccountingOn => "accounting_on",
            AccountingStatus::AccountingOff => "accounting_off",
        }
    }
}

/// One Accounting-Request, decoded by the frontend, from a client it verified.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccountingReport {
    /// Acct-Session-Id (may be empty for Accounting-On/Off).
    pub session_id: String,
    /// User-Name.
    pub username: Option<String>,
    /// NAS-IP-Address or NAS-IPv6-Address.
    pub nas_address: Option<IpAddr>,
    /// NAS-Identifier.
    pub nas_identifier: Option<String>,
    /// NAS-Port.
    pub nas_port: Option<u32>,
    /// Framed-IP-Address.
    pub framed_address: Option<IpAddr>,
    /// Calling-Station-Id (a client's MAC address on Wi-Fi).
    pub calling_station: Option<String>,
    /// Called-Station-Id.
    pub called_station: Option<String>,
    /// Acct-Session-Time, seconds.
    pub session_time: Option<u32>,
    /// Octets received from the user (Acct-Input-Octets with Acct-Input-Gigawords).
    pub input_octets: Option<u64>,
    /// Octets sent to the user.
    pub output_octets: Option<u64>,
    /// Acct-Terminate-Cause, as its number.
    pub terminate_cause: Option<u32>,
}

impl AccountingReport {
    /// A later report's fields replace these; what it leaves out is kept.
    pub(crate) fn merge(&mut self, later: AccountingReport) {
        let keep = std::mem::take(self);
        *self = AccountingReport {
            session_id: if later.session_id.is_empty() {
                keep.session_id
            } else {
                later.session_id
            },
            username: later.username.or(keep.username),
            nas_address: later.nas_address.or(keep.nas_address),
            nas_identifier: later.nas_identifier.or(keep.nas_identifier),
            nas_port: later.nas_port.or(keep.nas_port),
            framed_address: later.framed_address.or(keep.framed_address),
            calling_station: later.calling_station.or(keep.calling_station),
            called_station: later.called_station.or(keep.called_station),
            session_time: later.session_time.or(keep.session_time),
            input_octets: later.input_octets.or(keep.input_octets),
            output_octets: later.output_octets.or(keep.output_octets),
            terminate_cause: later.terminate_cause.or(keep.terminate_cause),
        };
    }

    /// Cuts text fields to what is kept (a NAS may send up to 253 bytes each).
    pub(crate) fn bounded(mut self) -> Self {
        fn cut(s: &mut String) {
            if s.len() > 253 {
                let mut end = 253;
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                s.truncate(end);
            }
        }
        cut(&mut self.session_id);
        for s in [
            &mut self.username,
            &mut self.nas_identifier,
            &mut self.calling_station,
            &mut self.called_station,
        ]
        .into_iter()
        .flatten()
        {
            cut(s);
        }
        self
    }
}

/// An accounting session of a tenant, as its NASes reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RadiusSession {
    /// The RADIUS client (application) that reported it.
    pub application: AppId,
    /// That client's name.
    pub client: String,
    /// Where the NAS's packets came from.
    pub source: IpAddr,
    /// When the first report arrived.
    pub started_at: Timestamp,
    /// When the last report arrived.
    pub updated_at: Timestamp,
    /// When it stopped; `None` while active.
    pub stopped_at: Option<Timestamp>,
    /// What the reports said, each field as last reported.
    #[serde(flatten)]
    pub details: AccountingReport,
}

impl RadiusSession {
    /// Whether the session is still going.
    pub fn is_active(&self) -> bool {
        self.stopped_at.is_none()
    }
}

/// Where the EAP-TTLS certificate a tenant's supplicants are shown comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EapCertificateSource {
    /// Made for the tenant by the core on first use: ECDSA P-256, self-signed, named
    /// `radius.<slug>.tessera`; renewed once it has expired.
    Generated,
    /// An administrator's own chain and key (e.g. from a CA the tenant's devices already trust);
    /// removing it goes back to the generated one.
    Installed,
}

impl EapCertificateSource {
    /// The stable name, as in the API and audit.
    pub fn as_str(self) -> &'static str {
        match self {
            EapCertificateSource::Generated => "generated",
            EapCertificateSource::Installed => "installed",
        }
    }
}

/// How an EAP-TTLS private key is encoded (DER), as rustls and PEM name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EapKeyFormat {
    /// PKCS#8 `PrivateKeyInfo` (`BEGIN PRIVATE KEY`): any algorithm.
    Pkcs8,
    /// PKCS#1 `RSAPrivateKey` (`BEGIN RSA PRIVATE KEY`).
    Pkcs1,
    /// SEC1 `ECPrivateKey` (`BEGIN EC PRIVATE KEY`).
    Sec1,
}

/// A tenant's EAP-TTLS certificate as an administrator sees it (no private key): what to give
/// supplicants as their CA certificate, or to pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EapCertificate {
    /// The tenant.
    pub tenant: TenantId,
    /// Generated or installed.
    pub source: EapCertificateSource,
    /// The chain the tunnel presents, leaf first, DER (a generated one is its one self-signed
    /// certificate).
    pub chain_der: Vec<Vec<u8>>,
    /// The leaf's subject, its attributes in certificate order (e.g. `CN=radius.contoso.tessera`).
    pub subject: String,
    /// The leaf's issuer (the subject again when self-signed).
    pub issuer: String,
    /// The leaf is valid from…
    pub not_before: Timestamp,
    /// …until.
    pub not_after: Timestamp,
    /// SHA-256 of the leaf's DER: what a supplicant pins.
    pub sha256: [u8; 32],
    /// When it was made or installed.
    pub created_at: Timestamp,
}

/// A tenant's EAP-TTLS private key, opened: for the RADIUS frontend only.
#[derive(Debug, Clone)]
pub struct EapPrivateKey {
    /// Its encoding.
    pub format: EapKeyFormat,
    /// The DER bytes.
    pub der: SecretBytes,
}

/// What the RADIUS frontend serves a tenant's EAP-TTLS tunnel with
/// ([`crate::Radius::eap_key`]).
#[derive(Debug, Clone)]
pub struct EapKey {
    /// The certificate (and which one it is).
    pub certificate: EapCertificate,
    /// Its private key.
    pub private_key: EapPrivateKey,
}

/// A certificate chain and private key an administrator installs for a tenant's EAP-TTLS
/// tunnel ([`crate::Radius::install_eap_certificate`]). The core checks them: PEM, the leaf
/// first then the certificates that issued it, each inside its validity period, the leaf fit
/// for a TLS server (serverAuth and digitalSignature when it names its usages), the key (RSA,
/// ECDSA P-256/P-384 or Ed25519, unencrypted) the leaf's.
#[derive(Debug, Clone)]
pub struct NewEapCertificate {
    /// The chain, PEM: the server certificate, then any intermediates (a root may follow).
    pub chain_pem: String,
    /// The private key of the server certificate, PEM (PKCS#8, PKCS#1 or SEC1).
    pub private_key_pem: SecretBytes,
}

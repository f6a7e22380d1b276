//! The test supplicant: a rustls `ClientConnection` wrapped in its own EAP-TTLS framing
//! (written apart from the server's, so that the two check each other), the certificates, and
//! a driver that runs a conversation against `EapSessions` until it needs a verdict.

use std::io::Read;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{
    ClientConfig, ClientConnection, RootCertStore, ServerConfig, SupportedProtocolVersion,
};
use tessera_directory::model::AppId;
use tessera_directory::policy::Timestamp;
use tessera_radius::eap::{self, EapInput, EapSessions, EapStep};

pub const SERVER_NAME: &str = "radius.test";

/// The NAS client the conversations come through.
pub fn client() -> AppId {
    "00000000-0000-4000-8000-00000000c001".parse().unwrap()
}
pub const T0: Timestamp = Timestamp(1_800_000_000_000_000);

/// A CA, a server certificate for [`SERVER_NAME`] signed by it, the server configuration
/// (through the PEM helper) and a client root store that trusts the CA.
pub struct Pki {
    pub server: Arc<ServerConfig>,
    pub roots: Arc<RootCertStore>,
    /// The CA certificate, for supplicants that read a file.
    pub ca_pem: String,
    /// The server's chain and key, for configurations built another way.
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

pub fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Tessera test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params = CertificateParams::new(vec![SERVER_NAME.to_string()]).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, SERVER_NAME);
    let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
    let chain_pem = format!("{}{}", leaf.pem(), ca.pem());
    let server =
        eap::tls::server_config_from_pem(chain_pem.as_bytes(), leaf_key.serialize_pem().as_bytes())
            .unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    Pki {
        server,
        roots: Arc::new(roots),
        ca_pem: ca.pem(),
        chain: vec![leaf.der().clone(), ca.der().clone()],
        key: PrivatePkcs8KeyDer::from(leaf_key.serialize_der()).into(),
    }
}

pub fn client_config(pki: &Pki, version: &'static SupportedProtocolVersion) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[version])
            .unwrap()
            .with_root_certificates(Arc::clone(&pki.roots))
            .with_no_client_auth(),
    )
}

/// EAP-Response/Identity.
pub fn identity_response(id: u8, identity: &[u8]) -> Vec<u8> {
    let len = 5 + identity.len();
    let mut v = vec![2, id, (len >> 8) as u8, len as u8, 1];
    v.extend_from_slice(identity);
    v
}

/// An EAP-Response of type 21 with the given type-data (flags first).
pub fn ttls_response(id: u8, type_data: &[u8]) -> Vec<u8> {
    let len = 5 + type_data.len();
    let mut v = vec![2, id, (len >> 8) as u8, len as u8, 21];
    v.extend_from_slice(type_data);
    v
}

/// One Diameter AVP (RFC 5281 §10.1), vendor-less, padded.
pub fn avp(code: u32, mandatory: bool, data: &[u8]) -> Vec<u8> {
    let mut v = code.to_be_bytes().to_vec();
    let len = 8 + data.len();
    v.push(if mandatory { 0x40 } else { 0 });
    v.extend_from_slice(&[(len >> 16) as u8, (len >> 8) as u8, len as u8]);
    v.extend_from_slice(data);
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
    v
}

/// User-Name and User-Password AVPs, the password NUL-padded to 16 as wpa_supplicant does.
pub fn pap_avps(username: &str, password: &str) -> Vec<u8> {
    let mut pw = password.as_bytes().to_vec();
    while pw.is_empty() || !pw.len().is_multiple_of(16) {
        pw.push(0);
    }
    let mut v = avp(1, true, username.as_bytes());
    v.extend(avp(2, true, &pw));
    v
}

/// When the supplicant sends its inner AVPs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum InnerTiming {
    /// As soon as the client's side of the handshake is done (with its TLS 1.3 Finished).
    Eager,
    /// Only in answer to the server's next request, as wpa_supplicant does.
    NextRound,
}

/// The supplicant.
pub struct Peer {
    pub tls: ClientConnection,
    /// TLS bytes per response we send.
    pub fragment: usize,
    pub inner: Vec<u8>,
    pub timing: InnerTiming,
    /// The Framed-MTU of the Access-Requests that carry our responses (none by default).
    pub framed_mtu: Option<u32>,
    inner_sent: bool,
    /// Our fragmented message being sent: data and how much went.
    outgoing: Option<(Vec<u8>, usize)>,
    /// The server's fragmented message being received.
    incoming: Vec<u8>,
    /// Counters for the tests.
    pub server_fragments_with_length: usize,
    pub acks_sent: usize,
    pub requests_seen: usize,
}

impl Peer {
    pub fn new(config: Arc<ClientConfig>, inner: Vec<u8>) -> Peer {
        let name = ServerName::try_from(SERVER_NAME).unwrap();
        Peer {
            tls: ClientConnection::new(config, name).unwrap(),
            fragment: 1000,
            inner,
            timing: InnerTiming::NextRound,
            framed_mtu: None,
            inner_sent: false,
            outgoing: None,
            incoming: Vec::new(),
            server_fragments_with_length: 0,
            acks_sent: 0,
            requests_seen: 0,
        }
    }

    /// The response to one EAP-Request/TTLS from the server.
    pub fn respond(&mut self, request: &[u8]) -> Vec<u8> {
        self.requests_seen += 1;
        assert!(request.len() >= 6, "short request {request:?}");
        assert_eq!(request[0], 1, "not a request: {request:?}");
        let id = request[1];
        let len = u16::from_be_bytes([request[2], request[3]]) as usize;
        assert_eq!(len, request.len(), "EAP Length field");
        assert_eq!(request[4], 21, "not TTLS");
        let flags = request[5];
        assert_eq!(flags & 0x07, 0, "TTLS version 0");
        let mut data = &request[6..];
        if flags & 0x80 != 0 {
            self.server_fragments_with_length += 1;
            data = &data[4..];
        }
        if flags & 0x20 != 0 {
            // Start: our ClientHello.
            let out = self.drain_tls();
            return self.send(id, out);
        }
        if let Some((pending, sent)) = self.outgoing.take() {
            assert!(data.is_empty() && flags & 0x40 == 0, "expected an ACK");
            return self.send_from(id, pending, sent);
        }
        self.incoming.extend_from_slice(data);
        if flags & 0x40 != 0 {
            self.acks_sent += 1;
            return ttls_response(id, &[0]);
        }
        let message = std::mem::take(&mut self.incoming);
        let mut rd = &message[..];
        while !rd.is_empty() {
            self.tls.read_tls(&mut rd).unwrap();
            self.tls.process_new_packets().unwrap();
        }
        let mut plain = Vec::new();
        let _ = self.tls.reader().read_to_end(&mut plain);
        assert!(plain.is_empty(), "PAP has no tunnelled server messages");
        let mut out = self.drain_tls();
        let ready = !self.tls.is_handshaking() && !self.inner_sent;
        let now = match self.timing {
            InnerTiming::Eager => true,
            InnerTiming::NextRound => out.is_empty(),
        };
        if ready && now {
            use std::io::Write;
            self.tls.writer().write_all(&self.inner).unwrap();
            self.inner_sent = true;
            out.extend(self.drain_tls());
        }
        self.send(id, out)
    }

    fn drain_tls(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while self.tls.wants_write() {
            self.tls.write_tls(&mut out).unwrap();
        }
        out
    }

    fn send(&mut self, id: u8, out: Vec<u8>) -> Vec<u8> {
        if out.is_empty() {
            return ttls_response(id, &[0]);
        }
        self.send_from(id, out, 0)
    }

    fn send_from(&mut self, id: u8, out: Vec<u8>, sent: usize) -> Vec<u8> {
        let rest = &out[sent..];
        if rest.len() <= self.fragment {
            return ttls_response(id, &[&[0u8][..], rest].concat());
        }
        let piece = &rest[..self.fragment];
        let mut type_data = Vec::new();
        if sent == 0 {
            type_data.push(0xc0);
            type_data.extend_from_slice(&(out.len() as u32).to_be_bytes());
        } else {
            type_data.push(0x40);
        }
        type_data.extend_from_slice(piece);
        let next = sent + self.fragment;
        self.outgoing = Some((out, next));
        ttls_response(id, &type_data)
    }

    /// The client's view of the EAP key material, by the rule of the negotiated version.
    pub fn key_material(&self) -> [u8; 128] {
        match self.tls.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => self
                .tls
                .export_keying_material([0u8; 128], b"EXPORTER_EAP_TLS_Key_Material", Some(&[21]))
                .unwrap(),
            Some(rustls::ProtocolVersion::TLSv1_2) => self
                .tls
                .export_keying_material([0u8; 128], b"ttls keying material", None)
                .unwrap(),
            other => panic!("unexpected version {other:?}"),
        }
    }
}

/// Where a driven conversation stopped.
pub struct Run {
    /// The last step (InnerPap or Reject).
    pub step: EapStep,
    /// How many Access-Challenges it took.
    pub challenges: usize,
    /// The largest EAP request the server sent.
    pub largest_request: usize,
}

/// Drives a conversation from the identity response until the server wants a verdict or
/// rejects.
pub fn drive(
    sessions: &EapSessions,
    server: &Arc<ServerConfig>,
    peer: &mut Peer,
    now: Timestamp,
) -> Run {
    let identity = identity_response(1, b"anonymous@contoso");
    let first = sessions
        .handle(EapInput {
            eap_message: &identity,
            state: None,
            client: crate::peer::client(),
            tls: server,
            now,
            framed_mtu: peer.framed_mtu,
        })
        .unwrap();
    drive_from(sessions, server, peer, now, first)
}

/// Drives a conversation from the server's `step` (the TTLS Start) on.
pub fn drive_from(
    sessions: &EapSessions,
    server: &Arc<ServerConfig>,
    peer: &mut Peer,
    now: Timestamp,
    mut step: EapStep,
) -> Run {
    let mut challenges = 0;
    let mut largest_request = 0;
    loop {
        match step {
            EapStep::Challenge { eap, state } => {
                challenges += 1;
                largest_request = largest_request.max(eap.len());
                assert!(challenges < 100, "runaway conversation");
                let response = peer.respond(&eap);
                step = sessions
                    .handle(EapInput {
                        eap_message: &response,
                        state: Some(&state),
                        client: crate::peer::client(),
                        tls: server,
                        now,
                        framed_mtu: peer.framed_mtu,
                    })
                    .unwrap();
            }
            other => {
                return Run {
                    step: other,
                    challenges,
                    largest_request,
                };
            }
        }
    }
}

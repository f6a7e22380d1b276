//! X.509 for the tenants' EAP-TTLS certificates: making the generated one (ECDSA P-256,
//! self-signed, with rcgen), checking a chain and key an administrator installs (PEM that
//! parses, the server certificate first and then the ones that issued it, each inside its
//! validity period, the server certificate fit for a TLS server, a key rustls can use that is
//! the server certificate's), and reading what an administrator is shown of it. It never
//! stores, seals or authorises — the RADIUS service does — and never runs TLS: that is the
//! RADIUS frontend's.

use crate::error::Error;
use crate::model::validate::invalid;
use crate::model::{EapKeyFormat, NewEapCertificate};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tessera_policy::Timestamp;
use zeroize::Zeroizing;

/// How long a generated certificate is valid: 825 days, the longest Apple devices accept for a
/// TLS server certificate (iOS 13, macOS 10.15 and later).
const GENERATED_VALIDITY_SECS: i64 = 825 * 86_400;
/// A generated certificate is valid from this long before it is made, for supplicants whose
/// clocks run behind.
const BACKDATE_SECS: i64 = 3600;
/// An installed certificate may become valid this much after now (its CA's clock ahead of ours).
const SKEW_SECS: i64 = 300;
/// The most certificates an installed chain may hold.
const MAX_CHAIN: usize = 10;
/// The largest PEM accepted for the chain, and for the key.
const MAX_PEM_BYTES: usize = 64 * 1024;

/// What is shown of the server certificate, read once when it is made or installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Leaf {
    pub(super) subject: String,
    pub(super) issuer: String,
    pub(super) not_before: Timestamp,
    pub(super) not_after: Timestamp,
    pub(super) sha256: [u8; 32],
}

/// A chain and its key, checked, ready to be sealed and stored.
pub(super) struct Material {
    pub(super) chain_der: Vec<Vec<u8>>,
    pub(super) key_format: EapKeyFormat,
    pub(super) key_der: Zeroizing<Vec<u8>>,
    pub(super) leaf: Leaf,
}

/// The name a generated certificate carries, as its CN and its one DNS name alike (eduroam's
/// advice: a name that parses as a host name, the same in both places, which a supplicant's
/// "domain" setting can match).
fn generated_name(slug: &str) -> String {
    format!("radius.{slug}.tessera")
}

/// A fresh ECDSA P-256 key and a self-signed server certificate for the tenant `slug`, valid
/// for [`GENERATED_VALIDITY_SECS`] from an hour before `now`, with the random `serial`.
pub(super) fn generate(slug: &str, now: Timestamp, serial: [u8; 16]) -> Result<Material, Error> {
    // Key generation or signing failing is the server's own trouble (as for the SAML key).
    let fail = |e: rcgen::Error| Error::Corrupt(format!("making an EAP-TTLS certificate: {e}"));
    let name = generated_name(slug);
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(fail)?;
    let mut params = rcgen::CertificateParams::new(vec![name.clone()]).map_err(fail)?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, name);
    params.distinguished_name = dn;
    let mut serial = serial.to_vec();
    if let Some(first) = serial.first_mut() {
        *first &= 0x7f;
    }
    params.serial_number = Some(serial.into());
    let from = now.as_secs().saturating_sub(BACKDATE_SECS);
    params.not_before = datetime(from)?;
    params.not_after = datetime(from.saturating_add(GENERATED_VALIDITY_SECS))?;
    // What Apple and Windows require of a TLS server certificate.
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.self_signed(&key).map_err(fail)?;
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    // Read back as an installed one is: the same checks, the same details.
    check(vec![cert.der().to_vec()], key_der, now)
}

fn datetime(secs: i64) -> Result<time::OffsetDateTime, Error> {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|e| Error::Corrupt(format!("a certificate date out of range: {e}")))
}

/// Checks a chain and key an administrator gives (PEM), as of `now`.
pub(super) fn check_pem(new: &NewEapCertificate, now: Timestamp) -> Result<Material, Error> {
    let key_pem = new.private_key_pem.expose();
    if new.chain_pem.len() > MAX_PEM_BYTES {
        return Err(invalid(
            "certificate",
            format!("the chain is larger than {MAX_PEM_BYTES} bytes"),
        ));
    }
    if key_pem.len() > MAX_PEM_BYTES {
        return Err(invalid(
            "private_key",
            format!("the key is larger than {MAX_PEM_BYTES} bytes"),
        ));
    }
    let chain = CertificateDer::pem_slice_iter(new.chain_pem.as_bytes())
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("certificate", format!("not readable as PEM: {e}")))?;
    if chain.is_empty() {
        return Err(invalid(
            "certificate",
            "no certificate found: give the server certificate in PEM \
             (-----BEGIN CERTIFICATE-----), then the certificates that issued it",
        ));
    }
    if contains(key_pem, b"ENCRYPTED PRIVATE KEY") || contains(key_pem, b"Proc-Type: 4,ENCRYPTED") {
        return Err(invalid(
            "private_key",
            "the key is encrypted: give it unencrypted (e.g. `openssl pkey -in key.pem`)",
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| {
        invalid(
            "private_key",
            match e {
                rustls::pki_types::pem::Error::NoItemsFound => "no private key found: give it in \
                    PEM (BEGIN PRIVATE KEY, BEGIN RSA PRIVATE KEY or BEGIN EC PRIVATE KEY)"
                    .to_string(),
                other => format!("not readable as PEM: {other}"),
            },
        )
    })?;
    check(chain, key, now)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A certificate's date as a person reads it (whole seconds).
fn day(secs: i64) -> String {
    let t = Timestamp::from_secs(secs).to_rfc3339();
    t.strip_suffix(".000000Z")
        .map_or(t.clone(), |s| format!("{s}Z"))
}

/// "the server certificate" or "certificate 3 of the chain", with its subject.
fn nth(i: usize, subject: &str) -> String {
    if i == 0 {
        format!("the server certificate ({subject})")
    } else {
        format!("certificate {} of the chain ({subject})", i + 1)
    }
}

/// Checks a chain (DER, leaf first) and key as of `now` and reads the leaf.
fn check(
    chain: Vec<Vec<u8>>,
    key: PrivateKeyDer<'static>,
    now: Timestamp,
) -> Result<Material, Error> {
    if chain.len() > MAX_CHAIN {
        return Err(invalid(
            "certificate",
            format!("the chain holds more than {MAX_CHAIN} certificates"),
        ));
    }
    let mut parsed = Vec::with_capacity(chain.len());
    for (i, der) in chain.iter().enumerate() {
        let which = if i == 0 {
            "the server certificate".to_string()
        } else {
            format!("certificate {} of the chain", i + 1)
        };
        match x509_parser::parse_x509_certificate(der) {
            Ok(([], c)) => parsed.push(c),
            Ok(_) => {
                return Err(invalid(
                    "certificate",
                    format!("{which} has bytes after its end"),
                ))
            }
            Err(e) => {
                return Err(invalid(
                    "certificate",
                    format!("{which} is not a readable X.509 certificate: {e}"),
                ))
            }
        }
    }
    for (i, c) in parsed.iter().enumerate() {
        let subject = c.subject().to_string();
        let v = c.validity();
        let (from, until) = (v.not_before.timestamp(), v.not_after.timestamp());
        if until < now.as_secs() {
            return Err(invalid(
                "certificate",
                format!("{} expired on {}", nth(i, &subject), day(until)),
            ));
        }
        if from > now.as_secs().saturating_add(SKEW_SECS) {
            return Err(invalid(
                "certificate",
                format!("{} is not valid before {}", nth(i, &subject), day(from)),
            ));
        }
    }
    for (i, pair) in parsed.windows(2).enumerate() {
        if let [issued, issuer] = pair {
            if issued.issuer().as_raw() != issuer.subject().as_raw() {
                return Err(invalid(
                    "certificate",
                    format!(
                        "{} did not issue {}: give the server certificate first, then the \
                         certificate that issued it, and so on",
                        nth(i + 1, &issuer.subject().to_string()),
                        nth(i, &issued.subject().to_string()),
                    ),
                ));
            }
        }
    }
    let Some(leaf) = parsed.first() else {
        return Err(invalid("certificate", "no certificate found"));
    };
    // What supplicants (OpenSSL, Windows, Apple) hold a TLS server certificate to; rustls does
    // not check its own.
    let subject = leaf.subject().to_string();
    let unreadable = |what: &str, e: x509_parser::error::X509Error| {
        invalid(
            "certificate",
            format!("the server certificate's {what} cannot be read: {e}"),
        )
    };
    if let Some(eku) = leaf
        .extended_key_usage()
        .map_err(|e| unreadable("extended key usage", e))?
    {
        if !eku.value.server_auth && !eku.value.any {
            return Err(invalid(
                "certificate",
                format!(
                    "{} is not for TLS servers: its extended key usage lacks serverAuth",
                    nth(0, &subject)
                ),
            ));
        }
    }
    if let Some(ku) = leaf.key_usage().map_err(|e| unreadable("key usage", e))? {
        if !ku.value.digital_signature() {
            return Err(invalid(
                "certificate",
                format!(
                    "{} cannot sign a TLS handshake: its key usage lacks digitalSignature",
                    nth(0, &subject)
                ),
            ));
        }
    }
    let key_format = match &key {
        PrivateKeyDer::Pkcs8(_) => EapKeyFormat::Pkcs8,
        PrivateKeyDer::Pkcs1(_) => EapKeyFormat::Pkcs1,
        PrivateKeyDer::Sec1(_) => EapKeyFormat::Sec1,
        _ => return Err(invalid("private_key", "an unknown kind of key")),
    };
    let signing = rustls::crypto::ring::sign::any_supported_type(&key).map_err(|_| {
        invalid(
            "private_key",
            "not a key the TLS tunnel can use: RSA (2048 bits or more), ECDSA P-256 or P-384, \
             or Ed25519",
        )
    })?;
    let certs: Vec<CertificateDer<'static>> = chain
        .iter()
        .map(|d| CertificateDer::from(d.clone()))
        .collect();
    match rustls::sign::CertifiedKey::new(certs, signing).keys_match() {
        Ok(()) => {}
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            return Err(invalid(
                "private_key",
                "the key does not belong to the server certificate (the first of the chain)",
            ))
        }
        Err(e) => {
            return Err(invalid(
                "private_key",
                format!("the key cannot be checked against the server certificate: {e}"),
            ))
        }
    }
    let details = Leaf {
        subject: leaf.subject().to_string(),
        issuer: leaf.issuer().to_string(),
        not_before: Timestamp::from_secs(leaf.validity().not_before.timestamp()),
        not_after: Timestamp::from_secs(leaf.validity().not_after.timestamp()),
        sha256: chain
            .first()
            .map(|d| Sha256::digest(d).into())
            .unwrap_or_default(),
    };
    let key_der = Zeroizing::new(key.secret_der().to_vec());
    Ok(Material {
        chain_der: chain,
        key_format,
        key_der,
        leaf: details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SecretBytes;

    const NOW: i64 = 1_767_225_600; // 2026-01-01

    fn pem(label: &str, der: &[u8]) -> String {
        use base64::Engine;
        let b = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    fn reason(e: Error) -> (&'static str, String) {
        match e {
            Error::Invalid { field, reason } => (field, reason),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn a_generated_certificate_is_a_p256_server_certificate_named_for_the_tenant() {
        let m = generate("contoso", Timestamp::from_secs(NOW), [0xff; 16]).unwrap();
        assert_eq!(m.chain_der.len(), 1);
        assert_eq!(m.key_format, EapKeyFormat::Pkcs8);
        assert_eq!(m.leaf.subject, "CN=radius.contoso.tessera");
        assert_eq!(m.leaf.issuer, m.leaf.subject);
        assert_eq!(m.leaf.not_before.as_secs(), NOW - 3600);
        assert_eq!(
            m.leaf.not_after.as_secs() - m.leaf.not_before.as_secs(),
            825 * 86_400
        );
        let (_, c) = x509_parser::parse_x509_certificate(&m.chain_der[0]).unwrap();
        let eku = c.extended_key_usage().unwrap().unwrap();
        assert!(eku.value.server_auth);
        let san = c.subject_alternative_name().unwrap().unwrap();
        assert_eq!(
            format!("{:?}", san.value.general_names),
            "[DNSName(\"radius.contoso.tessera\")]"
        );
        assert_eq!(c.raw_serial()[0] & 0x80, 0, "a positive serial");
        assert_eq!(
            m.leaf.sha256,
            <[u8; 32]>::from(Sha256::digest(&m.chain_der[0]))
        );
    }

    fn new_cert(chain: &str, key: &str) -> NewEapCertificate {
        NewEapCertificate {
            chain_pem: chain.into(),
            private_key_pem: SecretBytes::new(key.as_bytes().to_vec()),
        }
    }

    /// A CA and a server certificate for radius.contoso.com it issued: (leaf, CA, key), PEM.
    fn issued(not_before: (i32, u8, u8), not_after: (i32, u8, u8)) -> (String, String, String) {
        let c = crate::testkit::issued_chain("radius.contoso.com", not_before, not_after).unwrap();
        (c.leaf, c.ca, c.key)
    }

    #[test]
    fn an_issued_chain_with_its_key_is_accepted_and_read() {
        let (leaf, ca, key) = issued((2025, 6, 1), (2027, 6, 1));
        let now = Timestamp::from_secs(NOW);
        let m = check_pem(&new_cert(&format!("{leaf}{ca}"), &key), now).unwrap();
        assert_eq!(m.chain_der.len(), 2);
        assert_eq!(m.leaf.subject, "CN=radius.contoso.com");
        assert_eq!(m.leaf.issuer, "CN=Contoso Root CA");
        assert_eq!(day(m.leaf.not_after.as_secs()), "2027-06-01T00:00:00Z");
        assert_eq!(m.key_format, EapKeyFormat::Pkcs8);
        // The server certificate alone is fine too (its CA is on the devices already).
        assert_eq!(
            check_pem(&new_cert(&leaf, &key), now)
                .unwrap()
                .chain_der
                .len(),
            1
        );
    }

    #[test]
    fn install_refusals_say_what_is_wrong() {
        let now = Timestamp::from_secs(NOW);
        let (leaf, ca, key) = issued((2025, 6, 1), (2027, 6, 1));
        let cases: Vec<(NewEapCertificate, &str, &str)> = vec![
            (new_cert("", &key), "certificate", "no certificate found"),
            (
                new_cert(
                    "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
                    &key,
                ),
                "certificate",
                "not readable as PEM",
            ),
            (
                new_cert(&pem("CERTIFICATE", b"\x30\x03\x02\x01\x01"), &key),
                "certificate",
                "not a readable X.509 certificate",
            ),
            (new_cert(&leaf, ""), "private_key", "no private key found"),
            (
                new_cert(&leaf, &pem("ENCRYPTED PRIVATE KEY", b"\x30\x00")),
                "private_key",
                "encrypted",
            ),
            (
                new_cert(&leaf, &rcgen::KeyPair::generate().unwrap().serialize_pem()),
                "private_key",
                "does not belong to the server certificate",
            ),
            (
                new_cert(&format!("{ca}{leaf}"), &key),
                "certificate",
                "did not issue",
            ),
            (
                new_cert(&leaf.repeat(11), &key),
                "certificate",
                "more than 10",
            ),
        ];
        for (new, field, words) in cases {
            let (f, r) = reason(check_pem(&new, now).map(|_| ()).unwrap_err());
            assert_eq!(f, field, "{r}");
            assert!(r.contains(words), "{words:?} not in {r:?}");
        }
        // A client certificate, or one whose key may not sign, is no server certificate.
        let mut client = rcgen::CertificateParams::new(vec!["radius.contoso.com".into()]).unwrap();
        client.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let mut no_sign = rcgen::CertificateParams::new(vec!["radius.contoso.com".into()]).unwrap();
        no_sign.key_usages = vec![rcgen::KeyUsagePurpose::KeyEncipherment];
        for (params, words) in [
            (client, "lacks serverAuth"),
            (no_sign, "lacks digitalSignature"),
        ] {
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = params.self_signed(&key).unwrap().pem();
            let refused = check_pem(&new_cert(&cert, &key.serialize_pem()), now);
            let (f, r) = reason(refused.map(|_| ()).unwrap_err());
            assert_eq!(f, "certificate");
            assert!(r.contains(words), "{r}");
        }
        let (old, _, old_key) = issued((2020, 1, 1), (2025, 1, 1));
        let (_, r) = reason(
            check_pem(&new_cert(&old, &old_key), now)
                .map(|_| ())
                .unwrap_err(),
        );
        assert_eq!(
            r,
            "the server certificate (CN=radius.contoso.com) expired on 2025-01-01T00:00:00Z"
        );
        let (early, _, early_key) = issued((2026, 3, 1), (2027, 1, 1));
        let (_, r) = reason(
            check_pem(&new_cert(&early, &early_key), now)
                .map(|_| ())
                .unwrap_err(),
        );
        assert!(r.contains("is not valid before 2026-03-01"), "{r}");
    }
}

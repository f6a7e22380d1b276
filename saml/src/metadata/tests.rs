//! The metadata corpus: a document as pysaml2's `create_metadata_string` writes it, a minimal
//! one in the default namespace, and malformed and hostile ones that must each be refused with
//! the error naming what is wrong — and never a panic, whatever the bytes.

use super::*;

/// pysaml2 7's `create_metadata_string` for an SP with signed requests, two HTTP-POST ACS and an
/// Artifact one, both SLO bindings, signing and encryption keys, organisation and contact.
const PYSAML2: &str = include_str!("../../tests/metadata/pysaml2-sp.xml");

const POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// A minimal SP document in the default namespace with the given SPSSODescriptor content.
fn doc(sp_attrs: &str, inner: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.example/md">
  <SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"{sp_attrs}>
    {inner}
  </SPSSODescriptor>
</EntityDescriptor>"#
    )
}

fn acs(index: &str, url: &str, extra: &str) -> String {
    format!(
        r#"<AssertionConsumerService Binding="{POST}" Location="{url}" index="{index}"{extra}/>"#
    )
}

/// The certificate in the pysaml2 document, as base64.
fn pysaml2_cert_b64() -> String {
    let start = PYSAML2.find("X509Certificate>").unwrap() + "X509Certificate>".len();
    let end = start + PYSAML2[start..].find('<').unwrap();
    PYSAML2[start..end].to_string()
}

#[test]
fn pysaml2_metadata_gives_the_whole_sp() {
    let m = parse_sp_metadata(PYSAML2).unwrap();
    assert_eq!(m.entity_id, "https://sp.example.org/saml2/metadata");
    assert_eq!(
        m.acs_urls,
        [
            AcsUrl {
                index: 1,
                url: "https://sp.example.org/acs/post".into(),
                default: false
            },
            AcsUrl {
                index: 3,
                url: "https://sp.example.org/acs/post2".into(),
                default: false
            },
        ]
    );
    assert_eq!(
        m.slo_url.as_deref(),
        Some("https://sp.example.org/slo/redirect")
    );
    assert!(m.authn_requests_signed);
    assert_eq!(m.want_assertions_signed, Some(true));
    assert_eq!(m.name_id_format, Some(NameIdFormat::Persistent));
    let pem_text = m.certificate.clone().unwrap();
    assert!(pem_text.starts_with("-----BEGIN CERTIFICATE-----"));
    let der = X509::from_pem(pem_text.as_bytes())
        .unwrap()
        .to_der()
        .unwrap();
    let published: String = pysaml2_cert_b64()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert_eq!(
        base64::engine::general_purpose::STANDARD.encode(der),
        published
    );
    // The Artifact ACS is named in a note; the same key for both uses needs none.
    assert_eq!(m.notes.len(), 1, "{:?}", m.notes);
    assert!(m.notes[0].contains("index 2") && m.notes[0].contains("HTTP-Artifact"));

    let sp = m.service_provider();
    assert_eq!(sp.entity_id, m.entity_id);
    assert!(sp.options.require_signed_requests && sp.options.sign_assertion);
    assert!(sp.options.sign_response, "the response stays signed");
    assert!(
        !sp.options.encrypt_assertion,
        "metadata does not ask for it"
    );
    assert_eq!(sp.options.certificate, m.certificate);
}

#[test]
fn a_minimal_document_in_the_default_namespace() {
    let xml = doc(
        r#" WantAssertionsSigned="false""#,
        &format!(
            "<NameIDFormat>urn:example:custom</NameIDFormat>\
             <NameIDFormat> urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress </NameIDFormat>\
             {}{}",
            acs("0", "https://sp.example/a", ""),
            acs("5", "https://sp.example/b", r#" isDefault="true""#)
        ),
    );
    let m = parse_sp_metadata(&xml).unwrap();
    assert_eq!(m.name_id_format, Some(NameIdFormat::Email));
    assert_eq!(m.acs_urls.len(), 2);
    assert!(m.acs_urls[1].default && !m.acs_urls[0].default);
    assert_eq!(m.slo_url, None);
    assert_eq!(m.certificate, None);
    assert!(!m.authn_requests_signed);
    assert_eq!(m.want_assertions_signed, Some(false));
    assert!(m.notes.is_empty(), "{:?}", m.notes);
    let o = m.apply(SpOptions::default());
    assert!(!o.sign_assertion && o.sign_response);
}

#[test]
fn unusable_parts_are_named_in_notes() {
    let enc = format!(
        r#"<KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>"#,
        pysaml2_cert_b64()
    );
    let xml = doc(
        "",
        &format!(
            r#"{enc}<SingleLogoutService Binding="{POST}" Location="https://sp.example/slo"/>
            <NameIDFormat>urn:example:only-this</NameIDFormat>{}"#,
            acs("0", "https://sp.example/a", "")
        ),
    );
    let m = parse_sp_metadata(&xml).unwrap();
    // The encryption key is the only one: it is registered.
    assert!(m.certificate.is_some());
    assert_eq!(m.slo_url, None);
    assert_eq!(m.name_id_format, None);
    let notes = m.notes.join("\n");
    assert!(notes.contains("SingleLogoutService ignored"), "{notes}");
    assert!(notes.contains("urn:example:only-this"), "{notes}");
}

#[test]
fn malformed_and_hostile_metadata_is_refused_with_the_reason() {
    let post_only_artifact = doc(
        "",
        r#"<AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="https://sp.example/a" index="0"/>"#,
    );
    let idp = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#;
    let saml1 = doc("", &acs("0", "https://sp.example/a", "")).replace(
        "urn:oasis:names:tc:SAML:2.0:protocol\"",
        "urn:oasis:names:tc:SAML:1.1:protocol\"",
    );
    let no_entity = doc("", &acs("0", "https://sp.example/a", ""))
        .replace(r#" entityID="https://sp.example/md""#, "");
    let blank_entity =
        doc("", &acs("0", "https://sp.example/a", "")).replace("https://sp.example/md", "  ");
    let bad_cert = |b64: &str| {
        doc(
            "",
            &format!(
                r#"<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>{b64}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>{}"#,
                acs("0", "https://sp.example/a", "")
            ),
        )
    };
    let deep = format!(
        "<md:EntityDescriptor xmlns:md=\"{METADATA_NS}\" entityID=\"x\"><md:Extensions>{}",
        "<a>".repeat(60_000)
    );
    let cases: Vec<(&str, String, MetadataError)> = vec![
        (
            "empty",
            String::new(),
            MetadataError::NotEntityDescriptor(String::new()),
        ),
        (
            "not XML",
            "garbage".into(),
            MetadataError::NotEntityDescriptor(String::new()),
        ),
        (
            "too large",
            format!("{}{}", PYSAML2, " ".repeat(MAX_METADATA)),
            MetadataError::TooLarge,
        ),
        (
            "external entity",
            format!(
                "<!DOCTYPE md [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
                PYSAML2.replace("https://sp.example.org/acs/post\"", "&x;\"")
            ),
            MetadataError::Doctype,
        ),
        (
            "billion laughs",
            "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \
             \"&lol;&lol;&lol;&lol;\">]><EntityDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\" \
             entityID=\"&lol2;\"/>"
                .into(),
            MetadataError::Doctype,
        ),
        (
            "CDATA",
            PYSAML2.replace(
                "https://sp.example.org/acs/post\"",
                "<![CDATA[x]]>\"",
            ),
            MetadataError::Doctype,
        ),
        (
            "an aggregate",
            format!("<md:EntitiesDescriptor xmlns:md=\"{METADATA_NS}\">{PYSAML2}</md:EntitiesDescriptor>")
                .replace("<?xml version=\"1.0\"?>", ""),
            MetadataError::NotEntityDescriptor(String::new()),
        ),
        (
            "another namespace",
            PYSAML2.replace(METADATA_NS, "urn:evil"),
            MetadataError::NotEntityDescriptor(String::new()),
        ),
        (
            "an IdP's metadata",
            idp.into(),
            MetadataError::NoSpDescriptor,
        ),
        ("SAML 1.1 only", saml1, MetadataError::NoSpDescriptor),
        ("no entityID", no_entity, MetadataError::NoEntityId),
        ("blank entityID", blank_entity, MetadataError::NoEntityId),
        (
            "no HTTP-POST ACS",
            post_only_artifact,
            MetadataError::NoPostAcs(String::new()),
        ),
        (
            "no ACS at all",
            doc("", ""),
            MetadataError::Malformed(String::new()),
        ),
        (
            "an index beyond u16",
            doc("", &acs("70000", "https://sp.example/a", "")),
            MetadataError::BadAcs(String::new()),
        ),
        (
            "a negative index",
            doc("", &acs("-1", "https://sp.example/a", "")),
            MetadataError::Malformed(String::new()),
        ),
        (
            "an index that is not a number",
            doc("", &acs("first", "https://sp.example/a", "")),
            MetadataError::Malformed(String::new()),
        ),
        (
            "an index twice",
            doc(
                "",
                &format!(
                    "{}{}",
                    acs("1", "https://sp.example/a", ""),
                    acs("1", "https://sp.example/b", "")
                ),
            ),
            MetadataError::BadAcs(String::new()),
        ),
        (
            "two defaults",
            doc(
                "",
                &format!(
                    "{}{}",
                    acs("1", "https://sp.example/a", r#" isDefault="true""#),
                    acs("2", "https://sp.example/b", r#" isDefault="true""#)
                ),
            ),
            MetadataError::BadAcs(String::new()),
        ),
        (
            "AuthnRequestsSigned not a boolean",
            doc(
                r#" AuthnRequestsSigned="maybe""#,
                &acs("1", "https://sp.example/a", ""),
            ),
            MetadataError::Malformed(String::new()),
        ),
        (
            "a certificate that is not base64",
            bad_cert("not base64 !!"),
            MetadataError::BadCertificate("signing"),
        ),
        (
            "base64 that is not a certificate",
            bad_cert("aGVsbG8gd29ybGQ="),
            MetadataError::BadCertificate("signing"),
        ),
        (
            "truncated",
            PYSAML2[..PYSAML2.len() / 2].to_string(),
            MetadataError::Malformed(String::new()),
        ),
        (
            "an unknown entity reference",
            PYSAML2.replace("https://sp.example.org/acs/post\"", "&x;\""),
            MetadataError::Malformed(String::new()),
        ),
        (
            "deeply nested extensions, never closed",
            deep,
            MetadataError::Malformed(String::new()),
        ),
    ];
    for (what, xml, expected) in cases {
        let got = parse_sp_metadata(&xml);
        let Err(e) = got else {
            panic!("{what}: accepted: {got:?}");
        };
        assert_eq!(
            std::mem::discriminant(&e),
            std::mem::discriminant(&expected),
            "{what}: {e}"
        );
        let text = e.to_string();
        assert!(!text.is_empty() && text.len() < 600, "{what}: {text}");
    }
}

#[test]
fn no_input_panics() {
    // Every prefix and a few thousand byte-level mutations of a real document: an answer each
    // time, never a panic (a small deterministic generator, so a failure replays).
    let bytes = PYSAML2.as_bytes();
    for cut in (0..bytes.len()).step_by(7) {
        if let Ok(s) = std::str::from_utf8(&bytes[..cut]) {
            let _ = parse_sp_metadata(s);
        }
    }
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let specials = b"<>/\"'&=: \n!?-x0";
    let mut accepted = 0;
    for _ in 0..3000 {
        let mut m = bytes.to_vec();
        for _ in 0..(1 + next() % 4) {
            let at = (next() as usize) % m.len();
            let b = specials[(next() as usize) % specials.len()];
            match next() % 3 {
                0 => m[at] = b,
                1 => m.insert(at, b),
                _ => {
                    m.remove(at);
                }
            }
        }
        if let Ok(s) = std::str::from_utf8(&m) {
            if parse_sp_metadata(s).is_ok() {
                accepted += 1;
            }
        }
    }
    // Mutations inside certificates or text mostly break the document; some land harmlessly.
    assert!(accepted < 3000, "every mutation was accepted");
}

//! XML helpers: escaping for pages and metadata, SAML time and id formats, the writer of what
//! the IdP signs (already in exclusive C14N form, so the RSA-SHA256 / SHA-256 enveloped
//! signature is computed over the bytes as written, with each signing key parsed once), and the
//! guard that refuses DTDs and entities before any parser runs. It must not decide who may log
//! in.

use crate::error::Error;
use base64::Engine;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use tessera_directory::policy::Timestamp;

/// Escapes text for element content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// xs:dateTime in UTC, whole seconds (what every SP parses).
pub(crate) fn time(t: Timestamp) -> String {
    let full = Timestamp::from_secs(t.as_secs()).to_rfc3339();
    match full.split_once('.') {
        Some((head, _)) => format!("{head}Z"),
        None => full,
    }
}

/// A fresh random SAML id (an NCName: starts with `_`).
pub(crate) fn new_id() -> String {
    let b: [u8; 20] = rand::random();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("_{hex}")
}

/// Base64 of a certificate for `<ds:X509Certificate>` and metadata.
pub(crate) fn cert_b64(der: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(der)
}

/// A namespace the IdP writes, always under the same prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ns {
    prefix: &'static str,
    uri: &'static str,
}

/// SAML protocol messages.
pub(crate) const SAMLP: Ns = Ns {
    prefix: "samlp",
    uri: "urn:oasis:names:tc:SAML:2.0:protocol",
};
/// SAML assertions.
pub(crate) const SAML: Ns = Ns {
    prefix: "saml",
    uri: "urn:oasis:names:tc:SAML:2.0:assertion",
};
/// XML Signature.
pub(crate) const DS: Ns = Ns {
    prefix: "ds",
    uri: "http://www.w3.org/2000/09/xmldsig#",
};
/// XML Encryption.
pub(crate) const XENC: Ns = Ns {
    prefix: "xenc",
    uri: "http://www.w3.org/2001/04/xmlenc#",
};

const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const DIGEST_SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

/// Whether XML 1.0 can carry `c` at all.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Text content as C14N writes it: `&`, `<`, `>` and CR as references. A character XML cannot
/// carry becomes U+FFFD (before, such a value made the signer's parser fail).
fn push_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c if !xml_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// An attribute value as C14N writes it: `&`, `<`, `"`, TAB, LF and CR as references (a parser
/// would turn literal whitespace into spaces); `>` and `'` as themselves.
fn push_attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c if !xml_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

#[derive(Debug)]
struct Open {
    ns: Ns,
    local: &'static str,
    declares: bool,
}

/// Writes XML already in its Exclusive XML Canonicalization 1.0 form (no comments, no
/// InclusiveNamespaces): a namespace declared on the outermost element that uses its prefix and
/// not again inside it, attributes (all unprefixed) in order of name, `<a></a>` for an empty
/// element, the references C14N prescribes, no whitespace of its own. A verifier canonicalizes
/// the bytes to themselves, so the signature is computed over the bytes as written: no parser
/// and no second serialisation in the signing path. Misuse (an unclosed element, an embedded
/// fragment whose declarations would not survive canonicalization here, a signature anywhere but
/// under the root) makes `finish` fail; it never emits a signature that would not verify.
#[derive(Debug, Default)]
pub(crate) struct Canon {
    out: String,
    open: Vec<Open>,
    /// Every namespace declared anywhere in `out`.
    declared: Vec<Ns>,
    /// Whether the root was opened, and its ID.
    root: Option<Option<String>>,
    signature_at: Option<usize>,
    misuse: Option<&'static str>,
}

/// Where the signature goes, and the ID its Reference names.
#[derive(Debug)]
struct Place {
    at: usize,
    root_id: Option<String>,
}

/// Canonical XML with a single root element, ready to send or to embed in another [`Canon`].
#[derive(Debug, Clone)]
pub(crate) struct Fragment {
    xml: String,
    declared: Vec<Ns>,
}

impl Fragment {
    /// The XML text.
    pub(crate) fn xml(&self) -> &str {
        &self.xml
    }

    /// The XML text, owned.
    pub(crate) fn into_xml(self) -> String {
        self.xml
    }
}

impl Canon {
    fn wrong(&mut self, what: &'static str) {
        self.misuse.get_or_insert(what);
    }

    /// Whether an open element has `ns` declared (same prefix, same URI) for its content.
    fn in_scope(&self, ns: Ns) -> bool {
        self.open
            .iter()
            .rev()
            .find(|o| o.declares && o.ns.prefix == ns.prefix)
            .is_some_and(|o| o.ns.uri == ns.uri)
    }

    fn note_declared(&mut self, ns: Ns) {
        if !self.declared.contains(&ns) {
            self.declared.push(ns);
        }
    }

    /// Opens `<prefix:local ...>`; attribute values are given unescaped.
    pub(crate) fn open(&mut self, ns: Ns, local: &'static str, attrs: &[(&'static str, &str)]) {
        if self.open.is_empty() {
            if self.root.is_some() {
                self.wrong("a second root element");
            }
            let id = attrs
                .iter()
                .find(|(n, _)| *n == "ID")
                .map(|(_, v)| v.to_string());
            self.root = Some(id);
        }
        let declares = !self.in_scope(ns);
        self.out.push('<');
        self.out.push_str(ns.prefix);
        self.out.push(':');
        self.out.push_str(local);
        if declares {
            self.out.push_str(" xmlns:");
            self.out.push_str(ns.prefix);
            self.out.push_str("=\"");
            push_attr(&mut self.out, ns.uri);
            self.out.push('"');
            self.note_declared(ns);
        }
        let mut sorted: Vec<&(&str, &str)> = attrs.iter().collect();
        sorted.sort_unstable_by_key(|(n, _)| *n);
        if sorted.windows(2).any(|w| matches!(w, [a, b] if a.0 == b.0)) {
            self.wrong("an attribute given twice");
        }
        for (name, value) in sorted {
            self.out.push(' ');
            self.out.push_str(name);
            self.out.push_str("=\"");
            push_attr(&mut self.out, value);
            self.out.push('"');
        }
        self.out.push('>');
        self.open.push(Open {
            ns,
            local,
            declares,
        });
    }

    /// Text content of the innermost open element.
    pub(crate) fn text(&mut self, s: &str) {
        if self.open.is_empty() {
            self.wrong("text outside the root");
        }
        push_text(&mut self.out, s);
    }

    /// Closes the innermost open element.
    pub(crate) fn close(&mut self) {
        match self.open.pop() {
            Some(o) => {
                self.out.push_str("</");
                self.out.push_str(o.ns.prefix);
                self.out.push(':');
                self.out.push_str(o.local);
                self.out.push('>');
            }
            None => self.wrong("a close without an open element"),
        }
    }

    /// An element with only text (or nothing) inside.
    pub(crate) fn leaf(
        &mut self,
        ns: Ns,
        local: &'static str,
        attrs: &[(&'static str, &str)],
        text: &str,
    ) {
        self.open(ns, local, attrs);
        self.text(text);
        self.close();
    }

    /// Where the enveloped signature goes: here, as a child of the root (SAML: right after the
    /// Issuer). [`Canon::finish_signed`] fills it in.
    pub(crate) fn signature_here(&mut self) {
        let under_root = matches!(self.open.as_slice(), [root] if root.ns != DS);
        if !under_root || self.signature_at.is_some() {
            self.wrong("a signature not directly under the root, or two");
        }
        self.signature_at = Some(self.out.len());
    }

    /// Embeds a canonical fragment (a signed or encrypted assertion) here. Its namespace
    /// declarations were made with no context: if one of them is already declared by an open
    /// element here, canonicalization would drop it and the fragment's bytes would change.
    pub(crate) fn embed(&mut self, f: &Fragment) {
        if self.open.is_empty() || f.declared.iter().any(|ns| self.in_scope(*ns)) {
            self.wrong("a fragment whose namespace declarations do not hold here");
        }
        self.out.push_str(&f.xml);
        for ns in &f.declared {
            self.note_declared(*ns);
        }
    }

    fn done(self) -> Result<(Fragment, Option<Place>), Error> {
        let misuse = match (self.misuse, self.open.is_empty(), &self.root) {
            (Some(m), _, _) => Some(m),
            (None, false, _) => Some("an element left open"),
            (None, true, None) => Some("no root element"),
            (None, true, Some(_)) => None,
        };
        if let Some(m) = misuse {
            return Err(Error::Crypto(format!("XML writer misused: {m}")));
        }
        let place = self.signature_at.map(|at| Place {
            at,
            root_id: self.root.flatten(),
        });
        let f = Fragment {
            xml: self.out,
            declared: self.declared,
        };
        Ok((f, place))
    }

    /// The finished, unsigned XML.
    pub(crate) fn finish(self) -> Result<Fragment, Error> {
        match self.done()? {
            (f, None) => Ok(f),
            (_, Some(_)) => Err(Error::Crypto(
                "XML writer misused: a signature place left unsigned".into(),
            )),
        }
    }

    /// The finished XML with its enveloped signature: RSA-SHA256 by `private_key_der` over the
    /// exclusive C14N of SignedInfo, whose one Reference is the root by its ID with the
    /// enveloped-signature and exclusive C14N transforms and a SHA-256 digest; the certificate in
    /// KeyInfo.
    pub(crate) fn finish_signed(
        self,
        private_key_der: &[u8],
        cert_der: &[u8],
    ) -> Result<Fragment, Error> {
        let (mut f, place) = self.done()?;
        let Some(Place {
            at,
            root_id: Some(id),
        }) = place
        else {
            return Err(Error::Crypto(
                "XML writer misused: no signature place, or a root without an ID".into(),
            ));
        };
        // Enveloped: the digest is over the root without the signature, i.e. as written so far.
        let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&f.xml));
        let mut si = Canon::default();
        signed_info(&mut si, &id, &digest);
        let si = si.finish()?;
        let value = rsa_sha256(private_key_der, si.xml.as_bytes())?;
        let mut s = Canon::default();
        s.open(DS, "Signature", &[]);
        signed_info(&mut s, &id, &digest);
        s.leaf(DS, "SignatureValue", &[], &value);
        s.open(DS, "KeyInfo", &[]);
        s.open(DS, "X509Data", &[]);
        s.leaf(DS, "X509Certificate", &[], &cert_b64(cert_der));
        s.close();
        s.close();
        s.close();
        let s = s.finish()?;
        let (head, tail) = (f.xml.get(..at), f.xml.get(at..));
        let (Some(head), Some(tail)) = (head, tail) else {
            return Err(Error::Crypto(
                "XML writer: the signature place moved".into(),
            ));
        };
        f.xml = [head, &s.xml, tail].concat();
        if !f.declared.contains(&DS) {
            f.declared.push(DS);
        }
        Ok(f)
    }
}

/// SignedInfo: written once on its own (declaring `ds`: what is signed) and once inside the
/// Signature (where `ds` is already declared); the writer makes both canonical.
fn signed_info(w: &mut Canon, id: &str, digest_b64: &str) {
    let uri = format!("#{id}");
    w.open(DS, "SignedInfo", &[]);
    w.leaf(DS, "CanonicalizationMethod", &[("Algorithm", EXC_C14N)], "");
    w.leaf(DS, "SignatureMethod", &[("Algorithm", RSA_SHA256)], "");
    w.open(DS, "Reference", &[("URI", &uri)]);
    w.open(DS, "Transforms", &[]);
    w.leaf(DS, "Transform", &[("Algorithm", ENVELOPED)], "");
    w.leaf(DS, "Transform", &[("Algorithm", EXC_C14N)], "");
    w.close();
    w.leaf(DS, "DigestMethod", &[("Algorithm", DIGEST_SHA256)], "");
    w.leaf(DS, "DigestValue", &[], digest_b64);
    w.close();
    w.close();
}

/// How many parsed signing keys are kept. Beyond it (more tenants signing than this) the
/// oldest is dropped and parsed again when next used: slower, never wrong.
const KEY_CACHE_SIZE: usize = 256;

/// Parsed private keys by the SHA-256 of their DER. Parsing an RSA key (OpenSSL 3's decoders)
/// and setting it up for its first signature (Montgomery contexts, blinding) cost more than the
/// signature itself; the cache makes that once per key. Keyed by the key's own bytes, not by
/// tenant: a rotated key is different bytes, so it can never be answered with the old one.
struct KeyCache {
    keys: BTreeMap<[u8; 32], PKey<Private>>,
    order: VecDeque<[u8; 32]>,
}

static KEYS: Mutex<KeyCache> = Mutex::new(KeyCache {
    keys: BTreeMap::new(),
    order: VecDeque::new(),
});

fn signing_key(private_key_der: &[u8]) -> Result<PKey<Private>, Error> {
    let id: [u8; 32] = Sha256::digest(private_key_der).into();
    if let Some(k) = KEYS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .keys
        .get(&id)
    {
        return Ok(k.clone());
    }
    let key = PKey::private_key_from_der(private_key_der)
        .map_err(|e| Error::Crypto(format!("the IdP key does not parse: {e}")))?;
    let mut cache = KEYS.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.keys.insert(id, key.clone()).is_none() {
        cache.order.push_back(id);
    }
    while cache.order.len() > KEY_CACHE_SIZE {
        if let Some(old) = cache.order.pop_front() {
            cache.keys.remove(&old);
        }
    }
    Ok(key)
}

/// Base64 of the RSA-SHA256 (PKCS #1 v1.5) signature of `data`.
fn rsa_sha256(private_key_der: &[u8], data: &[u8]) -> Result<String, Error> {
    let key = signing_key(private_key_der)?;
    let crypto = |e: openssl::error::ErrorStack| Error::Crypto(format!("RSA-SHA256: {e}"));
    let mut signer = Signer::new(MessageDigest::sha256(), &key).map_err(crypto)?;
    let sig = signer.sign_oneshot_to_vec(data).map_err(crypto)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(sig))
}

/// Refuses XML that declares a DTD or entities (or any `<!` construct but a comment) before
/// anything parses it: no XXE, no entity expansion.
pub(crate) fn refuse_dtd(xml: &str) -> Result<(), Error> {
    let mut rest = xml;
    while let Some(i) = rest.find("<!") {
        let after = rest.get(i + 2..).unwrap_or("");
        if !after.starts_with("--") {
            return Err(Error::Doctype);
        }
        rest = after;
    }
    Ok(())
}

/// The root element's local name and namespace (declared on the root itself); `None` when the
/// root cannot be read that way.
pub(crate) fn root_name(xml: &str) -> Option<(String, String)> {
    let mut rest = xml;
    // Skip the declaration, processing instructions and comments.
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("<?") {
            rest = r.split_once("?>")?.1;
        } else if let Some(r) = rest.strip_prefix("<!--") {
            rest = r.split_once("-->")?.1;
        } else {
            break;
        }
    }
    let tag = rest.strip_prefix('<')?;
    let end = tag.find('>')?;
    let tag = tag.get(..end)?;
    let name_end = tag
        .find(|c: char| c.is_whitespace() || c == '/')
        .unwrap_or(tag.len());
    let qname = tag.get(..name_end)?;
    let (prefix, local) = match qname.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, qname),
    };
    let attr = match prefix {
        Some(p) => format!("xmlns:{p}="),
        None => "xmlns=".to_string(),
    };
    let attrs = tag.get(name_end..)?;
    let mut ns = None;
    let mut search = attrs;
    while let Some(i) = search.find(&attr) {
        let before_ok = search
            .get(..i)
            .is_some_and(|b| b.ends_with(char::is_whitespace));
        let value = search.get(i + attr.len()..)?;
        let quote = value.chars().next()?;
        if before_ok && (quote == '"' || quote == '\'') {
            let v = value.get(1..)?;
            ns = Some(v.get(..v.find(quote)?)?.to_string());
            break;
        }
        search = value;
    }
    Some((local.to_string(), ns?))
}

#[cfg(test)]
mod tests {
    use super::*;

    use openssl::asn1::Asn1Time;
    use openssl::rsa::Rsa;
    use openssl::x509::{X509Builder, X509NameBuilder};
    use samael::crypto::{CertificateDer, Crypto, CryptoProvider};

    /// Everything C14N treats specially, and what XML cannot carry at all.
    const AWKWARD: &str = "a&b<c>d\"e'f\tg\nh\r\ni ]]> é 𝄞 \u{1}x\u{FFFE}";

    /// A throwaway RSA key (DER) and a self-signed certificate for it (DER).
    fn key_pair() -> (Vec<u8>, Vec<u8>) {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "xml test").unwrap();
        let name = name.build();
        let mut b = X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        (
            key.private_key_to_der().unwrap(),
            b.build().to_der().unwrap(),
        )
    }

    /// An assertion-shaped element with `v` in attributes and text; signed when `signed`.
    fn assertion(id: &str, v: &str, signed: Option<(&[u8], &[u8])>) -> Fragment {
        let mut w = Canon::default();
        w.open(
            SAML,
            "Assertion",
            &[("Version", "2.0"), ("ID", id), ("IssueInstant", v)],
        );
        w.leaf(SAML, "Issuer", &[], "https://idp.example/saml/t");
        if signed.is_some() {
            w.signature_here();
        }
        w.open(SAML, "Subject", &[]);
        w.leaf(
            SAML,
            "NameID",
            &[("SPNameQualifier", v), ("Format", "f")],
            v,
        );
        w.leaf(SAML, "SubjectConfirmationData", &[("Recipient", v)], "");
        w.close();
        w.open(SAML, "AttributeStatement", &[]);
        w.open(SAML, "Attribute", &[("Name", v)]);
        w.leaf(SAML, "AttributeValue", &[], v);
        w.leaf(SAML, "AttributeValue", &[], "");
        w.close();
        w.close();
        w.close();
        match signed {
            Some((key, cert)) => w.finish_signed(key, cert).unwrap(),
            None => w.finish().unwrap(),
        }
    }

    /// A response-shaped element around `inner`.
    fn response(id: &str, v: &str, inner: &Fragment, signed: Option<(&[u8], &[u8])>) -> Fragment {
        let mut w = Canon::default();
        w.open(
            SAMLP,
            "Response",
            &[("ID", id), ("Destination", v), ("Version", "2.0")],
        );
        w.leaf(SAML, "Issuer", &[], "https://idp.example/saml/t");
        if signed.is_some() {
            w.signature_here();
        }
        w.open(SAMLP, "Status", &[]);
        w.leaf(SAMLP, "StatusCode", &[("Value", "ok")], "");
        w.close();
        w.embed(inner);
        w.close();
        match signed {
            Some((key, cert)) => w.finish_signed(key, cert).unwrap(),
            None => w.finish().unwrap(),
        }
    }

    /// The signature template xmlsec used to be given (self-closing, empty values).
    fn xmlsec_template(id: &str) -> String {
        format!(
            concat!(
                r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>"#,
                r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
                r#"<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>"#,
                r##"<ds:Reference URI="#{id}"><ds:Transforms>"##,
                r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#,
                r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
                r#"</ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>"#,
                r#"<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>"#,
                r#"<ds:SignatureValue></ds:SignatureValue></ds:Signature>"#
            ),
            id = id
        )
    }

    /// The text of the first `<ds:{tag}>`, whitespace removed (xmlsec wraps base64).
    fn value_of(xml: &str, tag: &str) -> String {
        let open = format!("<ds:{tag}>");
        let start = xml.find(&open).unwrap() + open.len();
        let end = start + xml[start..].find("</ds:").unwrap();
        xml[start..end].split_whitespace().collect()
    }

    /// libxmlsec1 (what xmlsec1 and pysaml2 verify with) signs the same template in the same
    /// document with the same key: RSA PKCS #1 v1.5 is deterministic, so equal digests and
    /// signature values mean our canonical bytes are exactly what it canonicalizes.
    fn xmlsec_values(unsigned: &str, id: &str, key: &[u8]) -> (String, String) {
        let at = unsigned.find("</saml:Issuer>").unwrap() + "</saml:Issuer>".len();
        let template = format!(
            "{}{}{}",
            &unsigned[..at],
            xmlsec_template(id),
            &unsigned[at..]
        );
        let signed = Crypto::sign_xml(template.as_bytes(), key).unwrap();
        (
            value_of(&signed, "DigestValue"),
            value_of(&signed, "SignatureValue"),
        )
    }

    #[test]
    fn signatures_are_the_ones_libxmlsec1_computes_over_the_same_document() {
        let (key, cert) = key_pair();
        for v in [AWKWARD, "plain", ""] {
            let signed = assertion("_a1", v, Some((&key, &cert)));
            let unsigned = assertion("_a1", v, None);
            let ours = (
                value_of(signed.xml(), "DigestValue"),
                value_of(signed.xml(), "SignatureValue"),
            );
            assert_eq!(ours, xmlsec_values(unsigned.xml(), "_a1", &key), "{v:?}");

            // The response over a signed assertion: its digest covers that signature too.
            let outer = response("_r1", v, &signed, Some((&key, &cert)));
            let outer_unsigned = response("_r1", v, &signed, None);
            let ours = (
                value_of(outer.xml(), "DigestValue"),
                value_of(outer.xml(), "SignatureValue"),
            );
            assert_eq!(ours, xmlsec_values(outer_unsigned.xml(), "_r1", &key));
        }
    }

    #[test]
    fn libxmlsec1_verifies_both_signatures_and_refuses_tampering_and_other_keys() {
        let (key, cert) = key_pair();
        let (other_key, other_cert) = key_pair();
        let cert = CertificateDer::from(cert);
        let a = assertion("_a2", AWKWARD, Some((&key, cert.der_data())));
        let r = response("_r2", AWKWARD, &a, Some((&key, cert.der_data())));
        // The first Signature in document order is the Response's.
        assert!(Crypto::verify_signed_xml(r.xml(), &cert, Some("ID")).is_ok());
        assert!(Crypto::verify_signed_xml(a.xml(), &cert, Some("ID")).is_ok());
        let tampered = r.xml().replacen("f\tg", "f g", 1);
        assert_ne!(tampered, r.xml());
        assert!(Crypto::verify_signed_xml(&tampered, &cert, Some("ID")).is_err());

        // Keys are cached by their own bytes: the next key signs as itself, never as the last.
        let b = assertion("_a3", "x", Some((&other_key, &other_cert)));
        let other_cert = CertificateDer::from(other_cert);
        assert!(Crypto::verify_signed_xml(b.xml(), &other_cert, Some("ID")).is_ok());
        assert!(Crypto::verify_signed_xml(b.xml(), &cert, Some("ID")).is_err());
        let again = assertion("_a4", "x", Some((&key, cert.der_data())));
        assert!(Crypto::verify_signed_xml(again.xml(), &cert, Some("ID")).is_ok());
    }

    #[test]
    fn the_writer_writes_canonical_form() {
        let a = assertion("_a5", AWKWARD, None);
        let esc_attr = "a&amp;b&lt;c>d&quot;e'f&#x9;g&#xA;h&#xD;&#xA;i ]]> é 𝄞 \u{FFFD}x\u{FFFD}";
        let esc_text = "a&amp;b&lt;c&gt;d\"e'f\tg\nh&#xD;\ni ]]&gt; é 𝄞 \u{FFFD}x\u{FFFD}";
        assert_eq!(
            a.xml(),
            format!(
                concat!(
                    r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" "#,
                    r#"ID="_a5" IssueInstant="{a}" Version="2.0">"#,
                    r#"<saml:Issuer>https://idp.example/saml/t</saml:Issuer><saml:Subject>"#,
                    r#"<saml:NameID Format="f" SPNameQualifier="{a}">{t}</saml:NameID>"#,
                    r#"<saml:SubjectConfirmationData Recipient="{a}"></saml:SubjectConfirmationData>"#,
                    r#"</saml:Subject><saml:AttributeStatement><saml:Attribute Name="{a}">"#,
                    r#"<saml:AttributeValue>{t}</saml:AttributeValue>"#,
                    r#"<saml:AttributeValue></saml:AttributeValue></saml:Attribute>"#,
                    r#"</saml:AttributeStatement></saml:Assertion>"#
                ),
                a = esc_attr,
                t = esc_text
            )
        );
        // Each namespace is declared where it is first used: saml on the Response's Issuer
        // (samlp:Response does not use it) and again on the Assertion, its sibling.
        let r = response("_r5", "d", &a, None);
        assert!(r.xml().starts_with(concat!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"Destination="d" ID="_r5" Version="2.0"><saml:Issuer "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">"#
        )));
        assert_eq!(r.xml().matches("xmlns:saml=").count(), 2);
    }

    #[test]
    fn misuse_fails_instead_of_signing_something_else() {
        let (key, cert) = key_pair();
        let inner = assertion("_a6", "v", None);
        // Embedded where its saml declaration would be dropped by C14N.
        let mut w = Canon::default();
        w.open(SAML, "Assertion", &[("ID", "_x")]);
        w.embed(&inner);
        w.close();
        assert!(w.finish().is_err());
        // Left open.
        let mut w = Canon::default();
        w.open(SAMLP, "Response", &[("ID", "_x")]);
        assert!(w.finish().is_err());
        // A signature deeper than under the root.
        let mut w = Canon::default();
        w.open(SAMLP, "Response", &[("ID", "_x")]);
        w.open(SAMLP, "Status", &[]);
        w.signature_here();
        w.close();
        w.close();
        assert!(w.finish_signed(&key, &cert).is_err());
        // A signature place left unsigned, and a root without an ID to refer to.
        let mut w = Canon::default();
        w.open(SAMLP, "Response", &[("ID", "_x")]);
        w.signature_here();
        w.close();
        assert!(w.finish().is_err());
        let mut w = Canon::default();
        w.open(SAMLP, "Response", &[]);
        w.signature_here();
        w.close();
        assert!(w.finish_signed(&key, &cert).is_err());
        // An attribute twice, and a second root.
        let mut w = Canon::default();
        w.leaf(SAMLP, "Response", &[("ID", "_x"), ("ID", "_y")], "");
        assert!(w.finish().is_err());
        let mut w = Canon::default();
        w.leaf(SAMLP, "Response", &[], "");
        w.leaf(SAMLP, "Response", &[], "");
        assert!(w.finish().is_err());
        // A key that is not one.
        let mut w = Canon::default();
        w.open(SAMLP, "Response", &[("ID", "_x")]);
        w.signature_here();
        w.close();
        assert!(w.finish_signed(b"not a key", &cert).is_err());
    }

    #[test]
    fn escaping_and_times() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(
            time(Timestamp::from_secs(1_767_225_600)),
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(
            time(Timestamp(1_767_225_600_123_456)),
            "2026-01-01T00:00:00Z"
        );
        let (a, b) = (new_id(), new_id());
        assert_ne!(a, b);
        assert!(a.starts_with('_') && a.len() == 41);
    }

    #[test]
    fn dtds_and_entities_are_refused() {
        assert!(refuse_dtd("<a><!-- fine --></a>").is_ok());
        for bad in [
            "<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>",
            "<a><!ENTITY x \"y\"></a>",
            "<a><![CDATA[x]]></a>",
            "<!doctype a><a/>",
        ] {
            assert_eq!(refuse_dtd(bad), Err(Error::Doctype), "{bad}");
        }
    }

    #[test]
    fn the_root_element_and_its_namespace() {
        let p = "urn:oasis:names:tc:SAML:2.0:protocol";
        assert_eq!(
            root_name(&format!(
                "<?xml version=\"1.0\"?>\n<!-- c --><samlp:AuthnRequest xmlns:samlp='{p}' ID=\"x\">"
            )),
            Some(("AuthnRequest".into(), p.into()))
        );
        assert_eq!(
            root_name(&format!("<AuthnRequest xmlns=\"{p}\"/>")),
            Some(("AuthnRequest".into(), p.into()))
        );
        // The namespace must be declared on the root for the root's own prefix.
        assert_eq!(
            root_name(&format!("<x:AuthnRequest xmlns:y=\"{p}\">")),
            None
        );
        assert_eq!(
            root_name("<x:AuthnRequest xmlns:x=\"urn:evil\">")
                .unwrap()
                .1,
            "urn:evil"
        );
        assert_eq!(root_name("garbage"), None);
        assert_eq!(root_name("<unterminated"), None);
    }
}

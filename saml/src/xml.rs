//! XML helpers the IdP writes with: escaping, SAML time and id formats, the RSA-SHA256 /
//! SHA-256 enveloped-signature template and signing through samael's xmlsec binding (whose own
//! template is SHA-1), and the guard that refuses DTDs and entities before any parser runs. It
//! must not decide who may log in.

use crate::error::Error;
use base64::Engine;
use samael::crypto::{Crypto, CryptoProvider};
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

/// The enveloped signature template for the element with id `id`: exclusive C14N, RSA-SHA256
/// over SHA-256 digests, the IdP certificate in KeyInfo. xmlsec fills in the values.
pub(crate) fn signature_template(id: &str, cert_der: &[u8]) -> String {
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
            r#"<ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data>"#,
            r#"<ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"#,
            r#"</ds:Signature>"#
        ),
        id = esc(id),
        cert = cert_b64(cert_der),
    )
}

/// Signs the one signature template in `xml` with the DER private key; returns the document
/// without its XML declaration (so a signed assertion can be embedded in a response).
pub(crate) fn sign(xml: &str, private_key_der: &[u8]) -> Result<String, Error> {
    let signed = Crypto::sign_xml(xml.as_bytes(), private_key_der)
        .map_err(|e| Error::Crypto(format!("xmlsec signing failed: {e}")))?;
    let body = match signed.strip_prefix("<?xml") {
        Some(rest) => rest
            .split_once("?>")
            .map_or(signed.as_str(), |(_, b)| b)
            .trim_start(),
        None => signed.as_str(),
    };
    Ok(body.trim_end().to_string())
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

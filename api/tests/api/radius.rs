//! Each tenant's EAP-TTLS certificate over HTTP: read as PEM with its details (the generated one
//! made on first read, different per tenant), the tenant's own chain installed and checked, and
//! back to the same generated one; Applications:Read to read, Applications:Write to change, and
//! another tenant's answering exactly like a missing one.

use crate::support::{sys, Api};
use base64::Engine;
use serde_json::{json, Value};
use tessera_directory::testkit::issued_chain;

const PATH: &str = "/api/v1/tenants/contoso/radius/eap-certificate";

/// The DER certificates of a PEM chain.
fn ders(pem: &str) -> Vec<Vec<u8>> {
    pem.split("-----END CERTIFICATE-----")
        .filter_map(|block| block.split_once("-----BEGIN CERTIFICATE-----"))
        .map(|(_, b64)| {
            let b64: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap()
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_eap_certificate_is_read_installed_and_removed_back_to_the_generated_one() {
    let api = Api::new();
    let apps = api.admin(
        &api.contoso,
        "apps",
        "Application Administrator",
        &api.contoso,
    );
    let t = api.session(&apps);

    // The generated certificate, made on first read: what the RADIUS frontend presents.
    let generated = api.get(PATH, &t).await.ok(200);
    assert_eq!(generated["source"], "generated");
    assert_eq!(generated["subject"], "CN=radius.contoso.tessera");
    assert_eq!(generated["issuer"], generated["subject"]);
    let chain = ders(generated["pem"].as_str().unwrap());
    assert_eq!(chain.len(), 1);
    let served = api.dir().radius().eap_key(&sys(), api.contoso.id).unwrap();
    assert_eq!(chain, served.certificate.chain_der);
    assert_eq!(
        generated["fingerprint_sha256"],
        hex(&served.certificate.sha256)
    );
    assert_eq!(
        generated["not_after"],
        served.certificate.not_after.to_rfc3339()
    );
    assert!(generated.get("private_key").is_none());
    assert_eq!(api.get(PATH, &t).await.ok(200), generated, "made once");
    // Another tenant has its own.
    let fabrikam = api
        .dir()
        .radius()
        .eap_certificate(&sys(), api.fabrikam.id)
        .unwrap();
    assert_ne!(hex(&fabrikam.sha256), generated["fingerprint_sha256"]);

    // The tenant's own chain: checked, then served.
    let issued = issued_chain("radius.contoso.com", (2025, 1, 1), (2035, 1, 1)).unwrap();
    let (chain_pem, key_pem) = (issued.chain(), issued.key);
    let stranger_key = issued_chain("radius.contoso.com", (2025, 1, 1), (2035, 1, 1))
        .unwrap()
        .key;
    let refused = api
        .call(
            "PUT",
            PATH,
            Some(&t),
            Some(json!({"certificate": chain_pem, "private_key": stranger_key})),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(refused["field"], "private_key");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("does not belong to the server certificate"),
        "{refused}"
    );
    let refused = api
        .call(
            "PUT",
            PATH,
            Some(&t),
            Some(json!({"certificate": "no PEM here", "private_key": key_pem})),
        )
        .await
        .problem(422, "invalid");
    assert_eq!(refused["field"], "certificate");
    api.call(
        "PUT",
        PATH,
        Some(&t),
        Some(json!({"certificate": chain_pem, "private_key": key_pem, "extra": 1})),
    )
    .await
    .problem(422, "invalid-body");
    assert_eq!(
        api.get(PATH, &t).await.ok(200),
        generated,
        "nothing changed"
    );

    let installed = api
        .call(
            "PUT",
            PATH,
            Some(&t),
            Some(json!({"certificate": chain_pem, "private_key": key_pem})),
        )
        .await
        .ok(200);
    assert_eq!(installed["source"], "installed");
    assert_eq!(installed["subject"], "CN=radius.contoso.com");
    assert_eq!(installed["issuer"], "CN=Contoso Root CA");
    assert_eq!(ders(installed["pem"].as_str().unwrap()), ders(&chain_pem));
    assert_eq!(api.get(PATH, &t).await.ok(200), installed);
    let served = api.dir().radius().eap_key(&sys(), api.contoso.id).unwrap();
    assert_eq!(
        hex(&served.certificate.sha256),
        installed["fingerprint_sha256"]
    );

    // Removed: the same generated certificate as before; removing again changes nothing.
    for _ in 0..2 {
        let back = api.call("DELETE", PATH, Some(&t), None).await.ok(200);
        assert_eq!(back, generated);
    }
    assert_eq!(api.get(PATH, &t).await.ok(200), generated);
}

#[tokio::test(flavor = "multi_thread")]
async fn reading_and_changing_the_eap_certificate_follow_the_applications_rights() {
    let api = Api::new();
    let apps = api.admin(
        &api.contoso,
        "apps",
        "Application Administrator",
        &api.contoso,
    );
    let sup = api.admin(&api.contoso, "watcher", "Supervisor", &api.contoso);
    let help = api.admin(&api.contoso, "help", "Helpdesk Operator", &api.contoso);
    let (t, st, ht) = (api.session(&apps), api.session(&sup), api.session(&help));
    let issued = issued_chain("radius.contoso.com", (2025, 1, 1), (2035, 1, 1)).unwrap();
    let (chain_pem, key_pem) = (issued.chain(), issued.key);
    let body = || json!({"certificate": chain_pem, "private_key": key_pem});

    // Applications:Read reads; without it the certificate is not there at all.
    api.get(PATH, &st).await.ok(200);
    api.get(PATH, &ht).await.problem(404, "not-found");
    // Applications:Write changes it; a reader is forbidden, anyone else sees nothing.
    for (method, b) in [("PUT", Some(body())), ("DELETE", None)] {
        api.call(method, PATH, Some(&st), b.clone())
            .await
            .problem(403, "forbidden");
        api.call(method, PATH, Some(&ht), b)
            .await
            .problem(404, "not-found");
    }
    api.call("GET", PATH, None, None)
        .await
        .problem(401, "unauthenticated");

    // Another tenant's certificate answers exactly like a missing tenant's, for every method.
    let hidden = "/api/v1/tenants/fabrikam/radius/eap-certificate";
    let missing = "/api/v1/tenants/nowhere/radius/eap-certificate";
    for (method, b) in [("GET", None), ("PUT", Some(body())), ("DELETE", None)] {
        let h: Value = api
            .call(method, hidden, Some(&t), b.clone())
            .await
            .problem(404, "not-found");
        let m: Value = api
            .call(method, missing, Some(&t), b)
            .await
            .problem(404, "not-found");
        assert_eq!(h, m, "{method}");
    }
    // Nothing of fabrikam was made or changed by those calls.
    let events = api
        .dir()
        .audit()
        .query(
            &sys(),
            &tessera_directory::model::AuditQuery::tenant(api.fabrikam.id),
        )
        .unwrap()
        .events;
    assert!(events.iter().all(|e| !e.action.starts_with("radius.")));
    // The root's administrator reaches it (and gets fabrikam's own).
    let (_, root) = api.root_admin();
    let f = api.get(hidden, &root).await.ok(200);
    assert_eq!(f["subject"], "CN=radius.fabrikam.tessera");
}

//! The fixture every SAML test runs against: a small MSP tree on a temporary store (on the real
//! clock: pysaml2 judges times by it), the SAML router served by axum on 127.0.0.1:0, SP key
//! pairs made for the test, and the pysaml2 SP (`sp.py`, run by the Debian python3 that has
//! `saml2`: a missing python3-pysaml2 fails the tests, it never skips them).
//!
//! The tree: root → acme (msp) → contoso, fabrikam, initech. contoso: alice (staff; e-mail,
//! given name), bob (not in staff), dave (staff, must change his password); SPs `wiki` (persistent NameID, mail/givenName/groups,
//! unsigned requests) and `crm` (requires requests signed with the registered SP certificate;
//! groups filtered to `staff`), both with an SLO URL, and `vault` (assertions encrypted to crm's certificate), all
//! bound to staff. fabrikam: alice (staff) and its own `wiki`.
//! initech: carol (staff) with TOTP, MFA required for SAML, and a `wiki`.

use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509Builder, X509NameBuilder};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use tessera_directory::clock::{Clock, SystemClock};
use tessera_directory::model::{
    AcsUrl, AppKind, Member, NameIdFormat, NewApplication, NewUser, SamlServiceProvider, SpOptions,
    Tenant, User,
};
use tessera_directory::policy::settings::Setting;
use tessera_directory::policy::{Protocol, TenantKind};
use tessera_directory::testkit::{new_group, new_tenant, totp_code, TestDirectory};
use tessera_directory::{Actor, Directory};
use tessera_saml::{SamlConfig, SamlState};

pub const PW: &str = "Tessera-Saml-Test-2026!";
pub const WIKI: &str = "https://wiki.contoso.test/sp";
pub const WIKI_ACS: &str = "http://localhost/wiki/acs";
pub const CRM: &str = "https://crm.contoso.test/sp";
pub const CRM_ACS: &str = "http://localhost/crm/acs";
pub const WIKI_SLO: &str = "http://localhost/wiki/slo";
pub const CRM_SLO: &str = "http://localhost/crm/slo";
pub const VAULT: &str = "https://vault.contoso.test/sp";
pub const VAULT_ACS: &str = "http://localhost/vault/acs";
pub const FWIKI: &str = "https://wiki.fabrikam.test/sp";
pub const FWIKI_ACS: &str = "http://localhost/fwiki/acs";
pub const IWIKI: &str = "https://wiki.initech.test/sp";
pub const IWIKI_ACS: &str = "http://localhost/iwiki/acs";

fn sys() -> Actor {
    Actor::system()
}

/// An RSA key and self-signed certificate, as PEM files in `dir`.
pub struct KeyPair {
    pub key_file: PathBuf,
    pub cert_file: PathBuf,
    pub cert_pem: String,
}

pub fn key_pair(dir: &Path, name: &str) -> KeyPair {
    let pkey = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut n = X509NameBuilder::new().unwrap();
    n.append_entry_by_nid(Nid::COMMONNAME, name).unwrap();
    let n = n.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&n).unwrap();
    b.set_issuer_name(&n).unwrap();
    b.set_pubkey(&pkey).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    b.sign(&pkey, MessageDigest::sha256()).unwrap();
    let cert_pem = String::from_utf8(b.build().to_pem().unwrap()).unwrap();
    let key_file = dir.join(format!("{name}.key.pem"));
    let cert_file = dir.join(format!("{name}.cert.pem"));
    std::fs::write(&key_file, pkey.private_key_to_pem_pkcs8().unwrap()).unwrap();
    std::fs::write(&cert_file, &cert_pem).unwrap();
    KeyPair {
        key_file,
        cert_file,
        cert_pem,
    }
}

pub struct Idp {
    pub td: TestDirectory,
    pub base: String,
    pub carol_totp: String,
    pub crm_key: KeyPair,
    pub rogue_key: KeyPair,
    pub files: tempfile::TempDir,
    pub http: reqwest::blocking::Client,
    /// Serves the IdP for as long as the fixture lives.
    _rt: tokio::runtime::Runtime,
}

fn sp(entity: &str, acs: &str, options: SpOptions) -> AppKind {
    AppKind::Saml(SamlServiceProvider {
        entity_id: entity.into(),
        acs_urls: vec![AcsUrl {
            index: 0,
            url: acs.into(),
            default: true,
        }],
        name_id_format: NameIdFormat::Persistent,
        attribute_mapping: [
            ("mail", "email"),
            ("givenName", "given_name"),
            ("groups", "groups"),
        ]
        .into_iter()
        .map(|(a, f)| (a.to_string(), f.to_string()))
        .collect::<BTreeMap<_, _>>(),
        options,
    })
}

fn user(
    d: &Directory,
    t: &Tenant,
    name: &str,
    staff: Option<&tessera_directory::model::Group>,
) -> User {
    let u = d
        .users()
        .create(
            &sys(),
            t.id,
            NewUser {
                username: name.into(),
                email: Some(format!("{name}@{}.example", t.slug)),
                given_name: Some(format!("{}{}", name[..1].to_uppercase(), &name[1..])),
                ..NewUser::default()
            },
        )
        .unwrap();
    d.credentials()
        .set_password(&sys(), t.id, u.id, PW, false)
        .unwrap();
    if let Some(g) = staff {
        d.groups()
            .add_member(&sys(), t.id, g.id, Member::User(u.id))
            .unwrap();
    }
    u
}

impl Idp {
    pub fn start() -> Idp {
        let files = tempfile::tempdir().unwrap();
        let td = TestDirectory::new().unwrap();
        // pysaml2 judges NotBefore/NotOnOrAfter by the real clock.
        td.clock.set(SystemClock.now());
        let d = td.dir.clone();
        let root = d
            .tenants()
            .bootstrap(&sys(), new_tenant("root", TenantKind::Distributor))
            .unwrap();
        let acme = d
            .tenants()
            .create(&sys(), root.id, new_tenant("acme", TenantKind::Msp))
            .unwrap();
        let mk = |slug: &str| {
            d.tenants()
                .create(&sys(), acme.id, new_tenant(slug, TenantKind::Customer))
                .unwrap()
        };
        let (contoso, fabrikam, initech) = (mk("contoso"), mk("fabrikam"), mk("initech"));
        let staff_of = |t: &Tenant| d.groups().create(&sys(), t.id, new_group("staff")).unwrap();
        let crm_key = key_pair(files.path(), "crm");
        let rogue_key = key_pair(files.path(), "rogue");

        let staff = staff_of(&contoso);
        user(&d, &contoso, "alice", Some(&staff));
        user(&d, &contoso, "bob", None);
        let dave = d
            .users()
            .create(
                &sys(),
                contoso.id,
                NewUser {
                    username: "dave".into(),
                    email: Some("dave@contoso.example".into()),
                    ..NewUser::default()
                },
            )
            .unwrap();
        d.credentials()
            .set_password(&sys(), contoso.id, dave.id, PW, true)
            .unwrap();
        d.groups()
            .add_member(&sys(), contoso.id, staff.id, Member::User(dave.id))
            .unwrap();
        let app = |t: &Tenant, name: &str, kind: AppKind, g: &tessera_directory::model::Group| {
            d.applications()
                .create(
                    &sys(),
                    t.id,
                    NewApplication {
                        name: name.into(),
                        kind,
                        bound_groups: BTreeSet::from([g.id]),
                    },
                )
                .unwrap()
        };
        let wiki = SpOptions {
            slo_url: Some(WIKI_SLO.into()),
            ..SpOptions::default()
        };
        app(&contoso, "wiki", sp(WIKI, WIKI_ACS, wiki), &staff);
        let crm = SpOptions {
            certificate: Some(crm_key.cert_pem.clone()),
            require_signed_requests: true,
            groups_filter: vec!["staff".into()],
            slo_url: Some(CRM_SLO.into()),
            ..SpOptions::default()
        };
        app(&contoso, "crm", sp(CRM, CRM_ACS, crm), &staff);
        let vault = SpOptions {
            certificate: Some(crm_key.cert_pem.clone()),
            encrypt_assertion: true,
            ..SpOptions::default()
        };
        app(&contoso, "vault", sp(VAULT, VAULT_ACS, vault), &staff);

        let fstaff = staff_of(&fabrikam);
        user(&d, &fabrikam, "alice", Some(&fstaff));
        app(
            &fabrikam,
            "wiki",
            sp(FWIKI, FWIKI_ACS, SpOptions::default()),
            &fstaff,
        );

        let istaff = staff_of(&initech);
        let carol = user(&d, &initech, "carol", Some(&istaff));
        app(
            &initech,
            "wiki",
            sp(IWIKI, IWIKI_ACS, SpOptions::default()),
            &istaff,
        );
        let mut p = d.policies().get(&sys(), initech.id).unwrap().local;
        p.settings.mfa.protocols = Setting::set(BTreeSet::from([Protocol::Saml]));
        d.policies().set(&sys(), initech.id, p).unwrap();
        let me = Actor::user(initech.id, carol.id, None, Protocol::Admin);
        let e = d
            .credentials()
            .enroll_totp(&me, initech.id, carol.id)
            .unwrap();
        let prev = totp_code(&e.url, td.clock.now().plus_secs(-30));
        d.credentials()
            .confirm_totp(&me, initech.id, carol.id, &prev)
            .unwrap();

        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let state = SamlState::new(
            d.clone(),
            SamlConfig {
                base_url: base.clone(),
                session: Default::default(),
            },
        );
        let app = tessera_saml::router(state).into_make_service_with_connect_info::<SocketAddr>();
        rt.spawn(async move { axum::serve(listener, app).await });
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Idp {
            td,
            base,
            carol_totp: e.url,
            crm_key,
            rogue_key,
            files,
            http,
            _rt: rt,
        }
    }

    pub fn dir(&self) -> &Directory {
        &self.td.dir
    }

    pub fn entity(&self, slug: &str) -> String {
        format!("{}/saml/{slug}", self.base)
    }

    pub fn sso(&self, slug: &str) -> String {
        format!("{}/saml/{slug}/sso", self.base)
    }

    /// The tenant's metadata, fetched over HTTP and saved for pysaml2.
    pub fn metadata(&self, slug: &str) -> (String, PathBuf) {
        let r = self
            .http
            .get(format!("{}/saml/{slug}/metadata", self.base))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        let text = r.text().unwrap();
        let path = self.files.path().join(format!("{slug}-metadata.xml"));
        std::fs::write(&path, &text).unwrap();
        (text, path)
    }

    /// The IdP certificate of a tenant as PEM (from its metadata).
    pub fn idp_cert_pem(&self, slug: &str) -> String {
        let (md, _) = self.metadata(slug);
        let b64 = md
            .split("<ds:X509Certificate>")
            .nth(1)
            .and_then(|r| r.split("</ds:X509Certificate>").next())
            .unwrap();
        let lines: Vec<String> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    }

    /// A TOTP code for carol, for a time step not used yet.
    pub fn carol_code(&self) -> String {
        totp_code(&self.carol_totp, self.td.clock.now().plus_secs(30))
    }

    /// Runs the pysaml2 SP with `action` and extra settings; its JSON answer.
    pub fn sp(
        &self,
        slug: &str,
        sp: serde_json::Value,
        extra: serde_json::Value,
    ) -> serde_json::Value {
        let (_, md) = self.metadata(slug);
        let mut cfg = serde_json::json!({
            "base": self.base,
            "tenant": slug,
            "idp_entity_id": self.entity(slug),
            "metadata_file": md,
            "sp": sp,
            "user": "alice",
            "password": PW,
        });
        for (k, v) in extra.as_object().unwrap() {
            cfg[k] = v.clone();
        }
        let path = self.files.path().join("sp-config.json");
        std::fs::write(&path, serde_json::to_vec(&cfg).unwrap()).unwrap();
        let out = Command::new(python())
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/saml/sp.py"))
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pysaml2 SP failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The settings of the SP `wiki` of contoso for sp.py.
    pub fn wiki(&self) -> serde_json::Value {
        serde_json::json!({"entity_id": WIKI, "acs": WIKI_ACS, "slo": WIKI_SLO})
    }

    pub fn crm(&self, key: &KeyPair) -> serde_json::Value {
        serde_json::json!({
            "entity_id": CRM, "acs": CRM_ACS, "slo": CRM_SLO, "sign": true,
            "key_file": key.key_file, "cert_file": key.cert_file,
        })
    }
}

/// The first `python3` on PATH that has pysaml2 (Debian's python3-pysaml2); none is a failure.
pub fn python() -> PathBuf {
    static FOUND: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FOUND
        .get_or_init(|| {
            let path = std::env::var_os("PATH").unwrap_or_default();
            std::env::split_paths(&path)
                .map(|d| d.join("python3"))
                .filter(|p| p.is_file())
                .find(|p| {
                    Command::new(p)
                        .args(["-c", "import saml2, requests"])
                        .output()
                        .is_ok_and(|o| o.status.success())
                })
                .expect("no python3 with pysaml2 on PATH: install python3-pysaml2 (make deps)")
        })
        .clone()
}

/// Runs xmlsec1 and says whether it succeeded (its output on failure, for the message).
pub fn xmlsec1(args: &[&str]) -> (bool, String) {
    let out = Command::new("xmlsec1")
        .args(args)
        .output()
        .expect("xmlsec1 is not installed (make deps installs it)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

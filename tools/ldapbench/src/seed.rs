//! Tessera's half of the dataset: a new store holding root → `bench-msp` → the bench customer
//! tenant with the same users, groups, memberships and passwords as slapd's LDIF, a service
//! account with the "Directory Reader" role, and `ldap-users` bound to the tenant's LDAP
//! service (and, when a RADIUS secret is given, a RADIUS client for 127.0.0.1 bound to the same
//! group, for `make bench-radius`, with the tenant's EAP-TTLS certificate when one is given).
//! Everything goes through `tessera_directory`'s public services as the system actor; it writes
//! the master key file `tessera serve` then opens the store with.

use crate::clock::Stopwatch;
use crate::data::{Dataset, BIG_GROUPS, BINDERS_GROUP, SERVICE_PASSWORD, SERVICE_USER};
use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeSet;
use std::path::Path;
use tessera_directory::clock::ChaChaSource;
use tessera_directory::model::{
    AppKind, GroupId, NewApplication, NewAssignment, NewEapCertificate, NewGroup, NewPosix,
    NewTenant, NewUser, RadiusClient, SecretBytes, SharedSecret, Subject, TenantId, UserId,
    UserKind,
};
use tessera_directory::policy::TenantKind;
use tessera_directory::secrets::MasterKey;
use tessera_directory::{Actor, Directory, Users};

fn tenant(slug: &str, kind: TenantKind) -> NewTenant {
    NewTenant {
        slug: slug.into(),
        name: slug.into(),
        kind,
    }
}

fn group(name: &str, gid: u32) -> NewGroup {
    NewGroup {
        name: name.into(),
        gid_number: Some(gid),
        ..NewGroup::default()
    }
}

/// The address of the RADIUS client registered for `make bench-radius` (the bench's radclient
/// and eapol_test send from loopback).
pub const RADIUS_NAS: &str = "127.0.0.1/32";
/// The RADIUS client application's name.
pub const RADIUS_APP: &str = "bench-nas";

/// Creates the store in `data` (which must not hold one yet) and the key file `key`; with
/// `radius_secret`, also a RADIUS client for [`RADIUS_NAS`] with that shared secret, bound to
/// the group of the users with passwords; with `eap` (chain and key PEM files), the tenant's
/// EAP-TTLS certificate.
pub fn seed(
    d: &Dataset,
    data: &Path,
    key: &Path,
    radius_secret: Option<&str>,
    eap: Option<(&Path, &Path)>,
) -> Result<()> {
    if let Some(s) = radius_secret {
        if s.chars().count() < SharedSecret::MIN_LEN {
            bail!(
                "--radius-secret must have at least {} characters",
                SharedSecret::MIN_LEN
            );
        }
    }
    if std::fs::read_dir(data).is_ok_and(|mut e| e.next().is_some()) {
        bail!(
            "{} is not empty: seed-tessera builds a new store",
            data.display()
        );
    }
    let master = MasterKey::generate(&ChaChaSource::from_os());
    master
        .create_file(key)
        .with_context(|| format!("writing the master key {}", key.display()))?;
    let dir = Directory::options()
        .open(data, master)
        .with_context(|| format!("opening a new store in {}", data.display()))?;
    let sys = Actor::system();
    let total = Stopwatch::start();

    let root = dir.tenants().bootstrap(
        &sys,
        NewTenant {
            slug: "root".into(),
            name: "Root".into(),
            kind: TenantKind::Distributor,
        },
    )?;
    let msp = dir
        .tenants()
        .create(&sys, root.id, tenant("bench-msp", TenantKind::Msp))?;
    let t = dir
        .tenants()
        .create(&sys, msp.id, tenant(&d.slug, TenantKind::Customer))?
        .id;

    let sw = Stopwatch::start();
    let g = dir.groups();
    let ordinary: Vec<GroupId> = (0..d.group_count())
        .map(|i| {
            g.create(
                &sys,
                t,
                group(&Dataset::group_name(i), Dataset::group_gid(i)),
            )
            .map(|x| x.id)
        })
        .collect::<Result<_, _>>()?;
    let big: Vec<GroupId> = (0..BIG_GROUPS)
        .map(|k| {
            g.create(&sys, t, group(&Dataset::big_name(k), d.big_gid(k)))
                .map(|x| x.id)
        })
        .collect::<Result<_, _>>()?;
    let binders = g.create(&sys, t, group(BINDERS_GROUP, d.binders_gid()))?.id;
    println!(
        "tessera seed: {} groups in {:.1} s",
        ordinary.len() + big.len() + 1,
        sw.elapsed().as_secs_f64()
    );

    let sw = Stopwatch::start();
    let mut ids: Vec<UserId> = Vec::with_capacity(d.users);
    let mut next = 0;
    while next < d.users {
        let end = (next + Users::MAX_BATCH).min(d.users);
        let batch: Vec<NewUser> = (next..end)
            .map(|i| new_user(d, i, &ordinary, &big, binders))
            .collect();
        ids.extend(
            dir.users()
                .create_many(&sys, t, batch)?
                .into_iter()
                .map(|u| u.id),
        );
        next = end;
    }
    println!(
        "tessera seed: {} users in {:.1} s",
        d.users,
        sw.elapsed().as_secs_f64()
    );

    let svc = dir.users().create(
        &sys,
        t,
        NewUser {
            username: SERVICE_USER.into(),
            kind: UserKind::Service,
            display_name: Some("LDAP service account".into()),
            groups: vec![binders],
            ..NewUser::default()
        },
    )?;
    let reader = dir.rbac().role_by_name(&sys, t, "Directory Reader")?;
    dir.rbac().assign(
        &sys,
        t,
        NewAssignment {
            subject: Subject::User {
                tenant: t,
                id: svc.id,
            },
            rights: Default::default(),
            roles: vec![reader.id],
            expires_at: None,
        },
    )?;
    let app = dir.applications().ldap_service(&sys, t)?;
    dir.applications().bind_group(&sys, t, app.id, binders)?;
    let nas = match radius_secret {
        Some(secret) => Some(
            dir.applications()
                .create(
                    &sys,
                    t,
                    NewApplication {
                        name: RADIUS_APP.into(),
                        kind: AppKind::Radius(RadiusClient {
                            addresses: vec![RADIUS_NAS.parse().context("the NAS address")?],
                            secret: SharedSecret::new(secret),
                            require_message_authenticator: true,
                            reply: vec![],
                        }),
                        bound_groups: BTreeSet::from([binders]),
                    },
                )
                .context("registering the RADIUS client")?
                .id,
        ),
        None => None,
    };
    if nas.is_some() {
        println!(
            "tessera seed: RADIUS client {RADIUS_APP} ({RADIUS_NAS}) bound to {BINDERS_GROUP}"
        );
    }
    if let Some((chain, private)) = eap {
        let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
        let chain_pem =
            String::from_utf8(read(chain)?).context("the EAP certificate is not PEM")?;
        let cert = dir
            .radius()
            .install_eap_certificate(
                &sys,
                t,
                NewEapCertificate {
                    chain_pem,
                    private_key_pem: SecretBytes::new(read(private)?),
                },
            )
            .context("installing the EAP-TTLS certificate")?;
        println!("tessera seed: EAP-TTLS certificate {}", cert.subject);
    }

    let sw = Stopwatch::start();
    let mut jobs: Vec<(UserId, String)> = vec![(svc.id, SERVICE_PASSWORD.to_string())];
    jobs.extend(
        d.binders()
            .filter_map(|i| ids.get(i).map(|id| (*id, Dataset::password(i)))),
    );
    set_passwords(&dir, t, &jobs)?;
    println!(
        "tessera seed: {} passwords (argon2id) in {:.1} s",
        jobs.len(),
        sw.elapsed().as_secs_f64()
    );
    // Checked here so a seed that would not let them bind fails now, not as bind errors later.
    let first_binder = d.binders().next().and_then(|i| ids.get(i)).copied();
    for who in std::iter::once(svc.id).chain(first_binder) {
        if !dir.applications().may_use(&sys, t, app.id, who)? {
            bail!("a user that must bind may not use the tenant's LDAP service");
        }
    }
    if let (Some(nas), Some(who)) = (nas, first_binder) {
        if !dir.applications().may_use(&sys, t, nas, who)? {
            bail!("a user with a password may not use the bench's RADIUS client");
        }
    }
    println!(
        "tessera seed: done in {:.1} s",
        total.elapsed().as_secs_f64()
    );
    Ok(())
}

fn new_user(
    d: &Dataset,
    i: usize,
    ordinary: &[GroupId],
    big: &[GroupId],
    binders: GroupId,
) -> NewUser {
    let u = d.user(i);
    let mut groups: Vec<GroupId> = ordinary
        .get(i / crate::data::GROUP_SIZE)
        .copied()
        .into_iter()
        .collect();
    if let Some(b) = big.get(i % 10) {
        groups.push(*b);
    }
    if d.binders().contains(&i) {
        groups.push(binders);
    }
    NewUser {
        username: u.uid,
        email: Some(u.mail),
        given_name: Some(u.given),
        family_name: Some(u.family),
        display_name: Some(u.display),
        posix: Some(NewPosix {
            uid_number: Some(u.uid_number),
            gid_number: Some(u.gid_number),
            home: Some(u.home),
            shell: Some("/bin/bash".into()),
        }),
        groups,
        ..NewUser::default()
    }
}

/// Sets the passwords on as many threads as the hashing pool has workers, so every core hashes.
fn set_passwords(dir: &Directory, t: TenantId, jobs: &[(UserId, String)]) -> Result<()> {
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let chunk = jobs.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || -> Result<()> {
                    for (id, pw) in part {
                        dir.credentials()
                            .set_password(&Actor::system(), t, *id, pw, false)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow!("a password thread panicked"))??;
        }
        Ok(())
    })
}

//! The fuzzing entry, compiled only with the `fuzzing` feature: one datagram answered through
//! the listener's own path (framing, client choice and authenticators, the duplicate cache, the
//! handler, the directory) without a socket, and the small directory the fuzz target and the
//! corpus replay share, so a seed means the same to both. It adds no behaviour of its own; the
//! binary never enables it.

use crate::{Port, RadiusConfig, RadiusServer};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use tessera_directory::model::{
    AppKind, GroupAttributes, Member, NewApplication, NewGroup, NewTenant, NewUser,
    RadiusAttributes, RadiusClient, SharedSecret, TenantPolicy,
};
use tessera_directory::policy::settings::{LockThreshold, Setting};
use tessera_directory::policy::TenantKind;
use tessera_directory::{Actor, Directory};

/// The fixture client's shared secret.
pub const SECRET: &str = "fuzzing-radius-secret";
/// alice's password.
pub const PW: &str = "Tessera-Test-2026!";
/// Where the fixture client's packets come from.
pub const NAS: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40_000);

/// Seeds an empty directory — acme (msp) → contoso (customer, lockout off, so mutated
/// requests never lock the account the seeds use), alice with [`PW`] in wifi (VLAN 42, Filter-Id
/// `wifi`), a RADIUS client on 127.0.0.1 and ::1 with [`SECRET`] bound to wifi — and returns a server.
pub fn fixture(dir: &Directory) -> Result<RadiusServer, String> {
    seed(dir).map_err(|e| e.to_string())?;
    RadiusServer::new(dir.clone(), RadiusConfig::default()).map_err(|e| e.to_string())
}

fn seed(dir: &Directory) -> Result<(), tessera_directory::Error> {
    let sys = Actor::system();
    let tenant = |slug: &str, kind| NewTenant {
        slug: slug.into(),
        name: slug.into(),
        kind,
    };
    let root = dir
        .tenants()
        .bootstrap(&sys, tenant("acme", TenantKind::Msp))?;
    let c = dir
        .tenants()
        .create(&sys, root.id, tenant("contoso", TenantKind::Customer))?;
    let mut policy = TenantPolicy::default();
    policy.settings.lockout.threshold = Setting::set(LockThreshold(0));
    dir.policies().set(&sys, c.id, policy)?;
    let alice = dir.users().create(
        &sys,
        c.id,
        NewUser {
            username: "alice".into(),
            ..NewUser::default()
        },
    )?;
    dir.credentials()
        .set_password(&sys, c.id, alice.id, PW, false)?;
    let wifi = dir.groups().create(
        &sys,
        c.id,
        NewGroup {
            name: "wifi".into(),
            attributes: GroupAttributes {
                radius: RadiusAttributes {
                    vlan: Some(42),
                    reply: vec![tessera_directory::model::ReplyAttribute {
                        name: "Filter-Id".into(),
                        value: "wifi".into(),
                    }],
                },
            },
            ..NewGroup::default()
        },
    )?;
    dir.groups()
        .add_member(&sys, c.id, wifi.id, Member::User(alice.id))?;
    dir.applications().create(
        &sys,
        c.id,
        NewApplication {
            name: "ap".into(),
            kind: AppKind::Radius(RadiusClient {
                addresses: vec![
                    ipnet::IpNet::from(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                    ipnet::IpNet::from(IpAddr::V6(Ipv6Addr::LOCALHOST)),
                ],
                secret: SharedSecret::new(SECRET),
                require_message_authenticator: true,
                reply: vec![],
            }),
            bound_groups: BTreeSet::from([wifi.id]),
        },
    )?;
    Ok(())
}

/// Answers `datagram` as the `port` listener would from `src`: the reply, if any.
pub fn answer(
    server: &RadiusServer,
    port: Port,
    src: SocketAddr,
    datagram: &[u8],
) -> Option<Vec<u8>> {
    server.answer(port, src, datagram)
}

/// A fuzz input: its first byte picks the listener (even: authentication, odd: accounting),
/// the rest is the datagram from [`NAS`].
pub fn answer_input(server: &RadiusServer, input: &[u8]) -> Option<Vec<u8>> {
    let (first, datagram) = input.split_first()?;
    let port = if first % 2 == 0 {
        Port::Auth
    } else {
        Port::Acct
    };
    server.answer(port, NAS, datagram)
}

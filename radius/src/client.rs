//! NAS clients: a snapshot of every tenant's RADIUS clients read from the core as the
//! installation (refreshed every few seconds, and at most once a second when a packet matches
//! none), the choice of the client a packet comes from — its source address must lie in one of
//! the client's networks, and when several tenants' clients share an address the secret that
//! verifies the packet picks one — the warning (log and audit, once per client) for clients
//! served without Message-Authenticator, and the counting and rate-limited logging of what is
//! dropped.
//! It must not decide anything about users.

use crate::packet::Request;
use parking_lot::Mutex;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tessera_directory::model::{AppId, NasClient};
use tessera_directory::policy::Timestamp;
use tessera_directory::{Actor, Directory};

/// A refresh after a packet from an unknown source waits at least this long after the last.
const MISS_REFRESH_MICROS: i64 = 1_000_000;
/// A dropped-packet reason is logged at most once in this long (with the count since).
const LOG_EVERY_MICROS: i64 = 10_000_000;

/// Why a packet was dropped without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drop {
    /// Not a RADIUS packet (short, bad lengths, bad attributes).
    Malformed,
    /// A code this port does not serve.
    UnexpectedCode,
    /// From an address no client is registered for.
    UnknownClient,
    /// The Message-Authenticator or Request Authenticator verifies under no candidate secret.
    BadAuthenticator,
    /// An Access-Request without Message-Authenticator from a client that requires it.
    NoMessageAuthenticator,
    /// A retransmission of a request still being answered.
    InProgress,
    /// The password service or the server is saturated: the NAS retransmits.
    Busy,
    /// The directory failed; the NAS retransmits or fails over.
    Failure,
}

impl Drop {
    const ALL: [Drop; 8] = [
        Drop::Malformed,
        Drop::UnexpectedCode,
        Drop::UnknownClient,
        Drop::BadAuthenticator,
        Drop::NoMessageAuthenticator,
        Drop::InProgress,
        Drop::Busy,
        Drop::Failure,
    ];

    fn index(self) -> usize {
        match self {
            Drop::Malformed => 0,
            Drop::UnexpectedCode => 1,
            Drop::UnknownClient => 2,
            Drop::BadAuthenticator => 3,
            Drop::NoMessageAuthenticator => 4,
            Drop::InProgress => 5,
            Drop::Busy => 6,
            Drop::Failure => 7,
        }
    }

    /// How logs and statistics name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Drop::Malformed => "malformed",
            Drop::UnexpectedCode => "unexpected code",
            Drop::UnknownClient => "unknown client",
            Drop::BadAuthenticator => "bad authenticator",
            Drop::NoMessageAuthenticator => "no Message-Authenticator",
            Drop::InProgress => "retransmission in progress",
            Drop::Busy => "busy",
            Drop::Failure => "directory failure",
        }
    }
}

/// Counts of dropped packets, by reason.
#[derive(Debug, Default)]
pub(crate) struct Drops {
    counts: [AtomicU64; 8],
    logged: Mutex<[(i64, u64); 8]>,
}

impl Drops {
    /// Counts a drop and logs it unless the same reason was logged within the last 10 s.
    pub(crate) fn record(&self, why: Drop, source: IpAddr, now: Timestamp) {
        let i = why.index();
        let total = self
            .counts
            .get(i)
            .map_or(0, |c| c.fetch_add(1, Ordering::Relaxed) + 1);
        let mut logged = self.logged.lock();
        if let Some((at, seen)) = logged.get_mut(i) {
            if *at == 0 || now.0.saturating_sub(*at) >= LOG_EVERY_MICROS {
                tracing::warn!(
                    %source,
                    reason = why.as_str(),
                    since_last_log = total - *seen,
                    total,
                    "RADIUS packet dropped"
                );
                *at = now.0.max(1);
                *seen = total;
            }
        }
    }

    /// How many were dropped for `why`.
    pub(crate) fn count(&self, why: Drop) -> u64 {
        self.counts
            .get(why.index())
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Every count.
    pub(crate) fn all(&self) -> Vec<(Drop, u64)> {
        Drop::ALL.iter().map(|d| (*d, self.count(*d))).collect()
    }
}

/// The clients, as last read from the core.
#[derive(Debug)]
pub(crate) struct Clients {
    dir: Directory,
    snapshot: Mutex<Snapshot>,
    refresh_micros: i64,
}

#[derive(Debug, Default)]
struct Snapshot {
    clients: Arc<Vec<NasClient>>,
    loaded_at: Option<Timestamp>,
    warned_legacy: BTreeSet<AppId>,
}

impl Clients {
    /// Clients of `dir`, re-read every `refresh_secs`.
    pub(crate) fn new(dir: Directory, refresh_secs: u32) -> Clients {
        Clients {
            dir,
            snapshot: Mutex::new(Snapshot::default()),
            refresh_micros: i64::from(refresh_secs.max(1)) * 1_000_000,
        }
    }

    /// Reads the clients now (at start, and when stale).
    pub(crate) fn load(&self, now: Timestamp) -> Result<(), tessera_directory::Error> {
        let clients = self.dir.radius().clients(&Actor::system())?;
        let newly_legacy: Vec<NasClient> = {
            let mut s = self.snapshot.lock();
            let fresh = clients
                .iter()
                .filter(|c| !c.require_message_authenticator && s.warned_legacy.insert(c.app))
                .cloned()
                .collect();
            s.clients = Arc::new(clients);
            s.loaded_at = Some(now);
            fresh
        };
        // Outside the lock: the audit journal may make its caller wait.
        for c in newly_legacy {
            tracing::warn!(
                tenant = %c.tenant_slug,
                client = %c.name,
                "RADIUS client accepts Access-Requests without Message-Authenticator \
                 (require_message_authenticator = false): it is open to BlastRADIUS \
                 (CVE-2024-3596) forgeries; upgrade the NAS and turn the requirement back on"
            );
            if let Err(e) =
                self.dir
                    .radius()
                    .record_legacy_client(&Actor::system(), c.tenant, c.app)
            {
                tracing::error!(error = %e, client = %c.name, "cannot audit a legacy RADIUS client");
            }
        }
        Ok(())
    }

    /// The clients whose networks hold `ip`.
    pub(crate) fn candidates(&self, ip: IpAddr, now: Timestamp) -> Vec<NasClient> {
        let (stale, found) = {
            let s = self.snapshot.lock();
            let age = s.loaded_at.map(|t| now.0.saturating_sub(t.0));
            let found = matching(&s.clients, ip);
            let stale = match age {
                None => true,
                Some(a) if a >= self.refresh_micros => true,
                Some(a) => found.is_empty() && a >= MISS_REFRESH_MICROS,
            };
            (stale, found)
        };
        if !stale {
            return found;
        }
        if let Err(e) = self.load(now) {
            tracing::error!(error = %e, "cannot read the RADIUS clients; keeping the last ones");
            // Do not retry on every packet: the last snapshot stays for another period.
            self.snapshot.lock().loaded_at = Some(now);
            return found;
        }
        matching(&self.snapshot.lock().clients, ip)
    }
}

fn matching(clients: &[NasClient], ip: IpAddr) -> Vec<NasClient> {
    let ip = canonical(ip);
    clients
        .iter()
        .filter(|c| c.addresses.iter().any(|n| n.contains(&ip)))
        .cloned()
        .collect()
}

/// An IPv4-mapped IPv6 source (a dual-stack socket) as the IPv4 address it is.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The client of an Access-Request or Status-Server: the first candidate (in the core's order)
/// whose secret verifies its Message-Authenticator; without one, the only candidate that does
/// not require it. `Err` says why there is none.
pub(crate) fn pick_by_message_authenticator(
    req: &Request,
    candidates: Vec<NasClient>,
    allow_missing: bool,
) -> Result<NasClient, Drop> {
    if req.has_message_authenticator() {
        return candidates
            .into_iter()
            .find(|c| req.message_authenticator_ok(c.secret.expose().as_bytes()))
            .ok_or(Drop::BadAuthenticator);
    }
    if !allow_missing {
        return Err(Drop::NoMessageAuthenticator);
    }
    let mut legacy = candidates
        .into_iter()
        .filter(|c| !c.require_message_authenticator);
    match (legacy.next(), legacy.next()) {
        // Nothing in the packet tells two legacy clients on one address apart.
        (Some(c), None) => Ok(c),
        _ => Err(Drop::NoMessageAuthenticator),
    }
}

/// The client of an Accounting-Request: the candidate whose secret verifies its Request
/// Authenticator (and its Message-Authenticator, when it has one).
pub(crate) fn pick_by_accounting_authenticator(
    req: &Request,
    candidates: Vec<NasClient>,
) -> Result<NasClient, Drop> {
    candidates
        .into_iter()
        .find(|c| {
            let s = c.secret.expose().as_bytes();
            req.accounting_authenticator_ok(s)
                && (!req.has_message_authenticator() || req.message_authenticator_ok(s))
        })
        .ok_or(Drop::BadAuthenticator)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::tests::access_request;
    use tessera_directory::model::SharedSecret;

    fn client(secret: &str, addr: &str, require: bool, n: u128) -> NasClient {
        NasClient {
            tenant: format!("00000000-0000-4000-8000-{n:012}").parse().unwrap(),
            tenant_slug: format!("t{n}"),
            app: format!("00000000-0000-4000-9000-{n:012}").parse().unwrap(),
            name: format!("c{n}"),
            addresses: vec![addr.parse().unwrap()],
            secret: SharedSecret::new(secret),
            require_message_authenticator: require,
            reply: vec![],
            bound_groups: Default::default(),
        }
    }

    #[test]
    fn the_verifying_secret_picks_the_tenant_behind_a_shared_address() {
        let a = client("contoso-secret-123", "10.0.0.0/24", true, 1);
        let b = client("fabrikam-secret-45", "10.0.0.7/32", true, 2);
        let all = vec![a.clone(), b.clone()];
        let cands = matching(&all, "10.0.0.7".parse().unwrap());
        assert_eq!(cands.len(), 2);
        let p = access_request(1, [5; 16], &[(1, b"alice")], b"fabrikam-secret-45", true);
        let req = Request::parse(&p).unwrap();
        assert_eq!(
            pick_by_message_authenticator(&req, cands.clone(), true).map(|c| c.app),
            Ok(b.app)
        );
        let wrong = access_request(1, [5; 16], &[(1, b"alice")], b"nobody-secret-123", true);
        let req = Request::parse(&wrong).unwrap();
        assert_eq!(
            pick_by_message_authenticator(&req, cands.clone(), true).map(|c| c.app),
            Err(Drop::BadAuthenticator)
        );
        let bare = access_request(1, [5; 16], &[(1, b"alice")], b"", false);
        let req = Request::parse(&bare).unwrap();
        assert_eq!(
            pick_by_message_authenticator(&req, cands, true).map(|c| c.app),
            Err(Drop::NoMessageAuthenticator)
        );
        assert!(matching(&all, "10.0.1.7".parse().unwrap()).is_empty());
    }

    #[test]
    fn a_single_legacy_client_may_omit_message_authenticator() {
        let legacy = client("legacy-secret-1234", "192.0.2.1/32", false, 3);
        let bare = access_request(1, [5; 16], &[(1, b"alice")], b"", false);
        let req = Request::parse(&bare).unwrap();
        assert_eq!(
            pick_by_message_authenticator(&req, vec![legacy.clone()], true).map(|c| c.app),
            Ok(legacy.app)
        );
        assert_eq!(
            pick_by_message_authenticator(&req, vec![legacy.clone(), legacy], true).map(|c| c.app),
            Err(Drop::NoMessageAuthenticator),
            "two legacy clients on one address cannot be told apart"
        );
    }

    #[test]
    fn mapped_ipv6_sources_match_ipv4_networks() {
        let all = vec![client("contoso-secret-123", "127.0.0.1/32", true, 1)];
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(matching(&all, mapped).len(), 1);
    }

    #[test]
    fn drops_are_counted_every_time_and_logged_rarely() {
        let d = Drops::default();
        let src: IpAddr = "127.0.0.9".parse().unwrap();
        for i in 0..5 {
            d.record(Drop::UnknownClient, src, Timestamp(i));
        }
        assert_eq!(d.count(Drop::UnknownClient), 5);
        assert_eq!(d.logged.lock()[Drop::UnknownClient.index()], (1, 1));
        d.record(Drop::UnknownClient, src, Timestamp(LOG_EVERY_MICROS + 1));
        assert_eq!(
            d.logged.lock()[Drop::UnknownClient.index()],
            (LOG_EVERY_MICROS + 1, 6)
        );
    }
}

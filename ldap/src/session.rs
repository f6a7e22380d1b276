//! The state of one connection: who is bound (anonymous, or a user with the actor the core's
//! authentication gave), whether it runs over TLS and whether StartTLS is on offer, where it
//! comes from, its open paged searches and the last search base it placed in the DIT. It
//! decides nothing by itself beyond the transport rule for simple binds.

use crate::dn::{Dit, DnError, Place};
use crate::paging::Paging;
use crate::PlainBinds;
use std::net::IpAddr;
use tessera_directory::model::{TenantId, UserId};
use tessera_directory::Actor;

/// Who the connection is bound as.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    /// No bind yet, an anonymous bind, or a failed one.
    Anonymous,
    /// A user, after a successful simple bind.
    User(Bound),
}

/// A bound user.
#[derive(Debug, Clone)]
pub(crate) struct Bound {
    /// The actor every later operation runs as.
    pub(crate) actor: Actor,
    /// The user's DN as the server writes it.
    pub(crate) dn: String,
    pub(crate) tenant: TenantId,
    pub(crate) user: UserId,
}

/// What carries the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// Plain TCP; `starttls` says whether it can be upgraded.
    Plain { starttls: bool },
    /// TLS (LDAPS, or after StartTLS).
    Tls,
}

/// One connection's state.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) peer: Option<IpAddr>,
    pub(crate) transport: Transport,
    pub(crate) bind: Bind,
    pub(crate) paging: Paging,
    /// The last search base and where it fell: applications search under the same base over
    /// and over, and the DIT's shape is fixed for the server's life.
    last_base: Option<(String, Place)>,
}

impl Session {
    pub(crate) fn new(peer: Option<IpAddr>, transport: Transport, max_paged: usize) -> Session {
        Session {
            peer,
            transport,
            bind: Bind::Anonymous,
            paging: Paging::new(max_paged),
            last_base: None,
        }
    }

    /// Where the search base `dn` falls in `dit`: [`Dit::locate`], remembered for the last base.
    pub(crate) fn locate_base(&mut self, dit: &Dit, dn: &str) -> Result<Place, DnError> {
        if let Some((last, place)) = &self.last_base {
            if last == dn {
                return Ok(place.clone());
            }
        }
        let place = dit.locate(dn)?;
        self.last_base = Some((dn.to_owned(), place.clone()));
        Ok(place)
    }

    /// The bound user, if any.
    pub(crate) fn bound(&self) -> Option<&Bound> {
        match &self.bind {
            Bind::User(b) => Some(b),
            Bind::Anonymous => None,
        }
    }

    /// Whether a password may travel on this connection under `rule`.
    pub(crate) fn may_send_password(&self, rule: PlainBinds) -> bool {
        match (self.transport, rule) {
            (Transport::Tls, _) | (Transport::Plain { .. }, PlainBinds::Always) => true,
            (Transport::Plain { .. }, PlainBinds::Never) => false,
            (Transport::Plain { .. }, PlainBinds::Loopback) => {
                self.peer.is_some_and(|p| p.to_canonical().is_loopback())
            }
        }
    }

    /// Whether StartTLS can be used now.
    pub(crate) fn starttls_available(&self) -> bool {
        matches!(self.transport, Transport::Plain { starttls: true })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_travel_in_the_clear_only_where_allowed() {
        let s = |peer: &str, t| Session::new(Some(peer.parse().unwrap()), t, 1);
        let plain = Transport::Plain { starttls: true };
        assert!(s("127.0.0.1", plain).may_send_password(PlainBinds::Loopback));
        assert!(s("::1", plain).may_send_password(PlainBinds::Loopback));
        assert!(s("::ffff:127.0.0.1", plain).may_send_password(PlainBinds::Loopback));
        assert!(!s("192.0.2.1", plain).may_send_password(PlainBinds::Loopback));
        assert!(s("192.0.2.1", plain).may_send_password(PlainBinds::Always));
        assert!(!s("127.0.0.1", plain).may_send_password(PlainBinds::Never));
        assert!(s("192.0.2.1", Transport::Tls).may_send_password(PlainBinds::Never));
        assert!(!Session::new(None, plain, 1).may_send_password(PlainBinds::Loopback));
    }

    #[test]
    fn the_remembered_base_answers_as_the_dit_does() {
        let dit = Dit::new("dc=tessera,dc=local").unwrap();
        let mut s = Session::new(None, Transport::Tls, 1);
        let bases = [
            "ou=Users,o=contoso,dc=tessera,dc=local",
            "ou=Users,o=contoso,dc=tessera,dc=local",
            "OU=users, o=Contoso,dc=tessera,dc=local",
            "o=fabrikam,dc=tessera,dc=local",
            "ou=Users,o=contoso,dc=tessera,dc=local",
            "",
            "dc=example,dc=com",
        ];
        for b in bases {
            assert_eq!(s.locate_base(&dit, b), dit.locate(b), "{b}");
        }
        assert!(s.locate_base(&dit, "uid=a,,").is_err());
        // A refused base is not remembered in place of the last good one.
        assert_eq!(
            s.locate_base(&dit, "dc=example,dc=com"),
            dit.locate("dc=example,dc=com")
        );
    }
}

//! Simple paged results (RFC 2696): the state a connection keeps between pages — the search
//! that made it and where it stopped — behind an opaque random cookie, at most a few per
//! connection (the oldest is dropped). A cookie works only for the same search by the same
//! identity on the same connection; anything else is refused, never guessed.

use crate::search::Walk;
use ldap3_proto::proto::LdapSearchRequest;
use std::collections::VecDeque;
use tessera_directory::clock::IdSource;
use tessera_directory::Actor;

/// An opaque cookie.
pub(crate) type Cookie = [u8; 16];

/// A paged search between two pages.
#[derive(Debug)]
pub(crate) struct Paged {
    /// The request that started it (compared without its limits).
    request: LdapSearchRequest,
    /// Where it stopped.
    pub(crate) walk: Walk,
    /// Entries returned so far (for the client's size limit over all pages).
    pub(crate) sent: u64,
}

impl Paged {
    pub(crate) fn new(request: &LdapSearchRequest, walk: Walk, sent: u64) -> Paged {
        Paged {
            request: comparable(request),
            walk,
            sent,
        }
    }
}

/// The request as it must be repeated: RFC 2696 lets only the cookie and page size change.
fn comparable(r: &LdapSearchRequest) -> LdapSearchRequest {
    let mut r = r.clone();
    r.sizelimit = 0;
    r.timelimit = 0;
    r
}

/// Why a cookie was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// No search of this connection has this cookie (or it was dropped).
    Unknown,
    /// The cookie belongs to another search or another identity.
    Mismatch,
}

/// The open paged searches of one connection.
#[derive(Debug)]
pub(crate) struct Paging {
    open: VecDeque<(Cookie, Paged)>,
    cap: usize,
}

impl Paging {
    pub(crate) fn new(cap: usize) -> Paging {
        Paging {
            open: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Takes the search a cookie continues, if it is this request's by this actor.
    pub(crate) fn take(
        &mut self,
        cookie: &[u8],
        request: &LdapSearchRequest,
        actor: &Actor,
    ) -> Result<Paged, Refused> {
        let i = self
            .open
            .iter()
            .position(|(c, _)| c.as_slice() == cookie)
            .ok_or(Refused::Unknown)?;
        let (_, p) = self.open.remove(i).ok_or(Refused::Unknown)?;
        if p.request != comparable(request) || !p.walk.is_for(actor) {
            return Err(Refused::Mismatch);
        }
        Ok(p)
    }

    /// Drops the search a cookie continues (a page size of 0 abandons it).
    pub(crate) fn drop_cookie(&mut self, cookie: &[u8]) {
        self.open.retain(|(c, _)| c.as_slice() != cookie);
    }

    /// Keeps a search for its next page and returns its new cookie.
    pub(crate) fn keep(&mut self, p: Paged, ids: &dyn IdSource) -> Cookie {
        let mut cookie = [0u8; 16];
        ids.fill(&mut cookie);
        while self.open.len() >= self.cap {
            self.open.pop_front();
        }
        self.open.push_back((cookie, p));
        cookie
    }

    /// Forgets every open search (a new bind changes who is asking).
    pub(crate) fn clear(&mut self) {
        self.open.clear();
    }
}

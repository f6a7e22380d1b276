//! EAP-TTLS v0 framing (RFC 5281 §9): the flags octet, the TLS Message Length, fragmentation
//! of our TLS data with the peer's acknowledgements and reassembly of the peer's fragments with
//! ours. It must not look inside the TLS bytes it carries.

use super::EapError;

/// L: the TLS Message Length field is present.
const FLAG_LENGTH: u8 = 0x80;
/// M: more fragments follow.
const FLAG_MORE: u8 = 0x40;
/// S: start of EAP-TTLS (server only).
const FLAG_START: u8 = 0x20;
/// The version bits; we speak version 0 only, as hostapd and FreeRADIUS do.
const VERSION_MASK: u8 = 0x07;
const VERSION: u8 = 0;

/// One EAP-TTLS response from the peer, as framed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Fragment<'a> {
    /// M was set.
    pub more: bool,
    /// The TLS Message Length, when L was set.
    pub total: Option<usize>,
    /// The TLS bytes in this packet.
    pub data: &'a [u8],
}

impl Fragment<'_> {
    /// An acknowledgement: no flags that matter, no data.
    fn is_ack(&self) -> bool {
        !self.more && self.data.is_empty()
    }
}

/// Parses the type-data of an EAP-Response/TTLS (everything after the Type octet).
pub(crate) fn parse(type_data: &[u8]) -> Result<Fragment<'_>, EapError> {
    let (&flags, rest) = type_data.split_first().ok_or(EapError::MalformedTtls)?;
    if flags & FLAG_START != 0 || flags & VERSION_MASK != VERSION {
        return Err(EapError::MalformedTtls);
    }
    let (total, data) = if flags & FLAG_LENGTH != 0 {
        match rest.split_first_chunk::<4>() {
            Some((len, data)) => {
                let total = usize::try_from(u32::from_be_bytes(*len))
                    .map_err(|_| EapError::MalformedTtls)?;
                (Some(total), data)
            }
            None => return Err(EapError::MalformedTtls),
        }
    } else {
        (None, rest)
    };
    Ok(Fragment {
        more: flags & FLAG_MORE != 0,
        total,
        data,
    })
}

/// The type-data of EAP-Request/TTLS Start.
pub(crate) fn start() -> Vec<u8> {
    vec![FLAG_START | VERSION]
}

/// The type-data of an acknowledgement, or of a request that only hands the turn to the peer.
pub(crate) fn ack() -> Vec<u8> {
    vec![VERSION]
}

/// The framing layer of one conversation: at any moment it is idle, receiving the peer's
/// fragments, or sending ours — never both, since EAP is lock-step.
#[derive(Debug)]
pub(crate) enum Link {
    /// No message half-way.
    Idle,
    /// Collecting a fragmented message from the peer.
    Receiving {
        /// What came so far.
        buf: Vec<u8>,
        /// The TLS Message Length of the first fragment, when given.
        declared: Option<usize>,
    },
    /// Sending a fragmented message of ours.
    Sending {
        /// The whole message.
        data: Vec<u8>,
        /// How much of it the peer has been sent.
        sent: usize,
        /// TLS bytes per packet.
        chunk: usize,
    },
}

/// What a peer's TTLS response means for the framing layer.
#[derive(Debug)]
pub(crate) enum Framed {
    /// A whole message from the peer (possibly empty); the link is idle again.
    Message(Vec<u8>),
    /// A fragment was stored: acknowledge it with [`ack`] and keep the link.
    Ack(Link),
    /// The peer acknowledged our fragment: send this type-data and keep the link.
    Next(Link, Vec<u8>),
}

impl Link {
    /// Takes one peer response; `max` caps a reassembled message.
    pub(crate) fn receive(self, frag: Fragment<'_>, max: usize) -> Result<Framed, EapError> {
        match self {
            Link::Sending { data, sent, chunk } => {
                if !frag.is_ack() {
                    return Err(EapError::MalformedTtls);
                }
                let (link, out) = Link::fragment(data, sent, chunk);
                Ok(Framed::Next(link, out))
            }
            Link::Idle => {
                if let Some(total) = frag.total {
                    if total > max {
                        return Err(EapError::TooLarge { limit: max });
                    }
                }
                if frag.data.len() > max {
                    return Err(EapError::TooLarge { limit: max });
                }
                if frag.more {
                    if frag.total.is_some_and(|t| t < frag.data.len()) {
                        return Err(EapError::MalformedTtls);
                    }
                    Ok(Framed::Ack(Link::Receiving {
                        buf: frag.data.to_vec(),
                        declared: frag.total,
                    }))
                } else {
                    if frag.total.is_some_and(|t| t != frag.data.len()) {
                        return Err(EapError::MalformedTtls);
                    }
                    Ok(Framed::Message(frag.data.to_vec()))
                }
            }
            Link::Receiving { mut buf, declared } => {
                let limit = declared.unwrap_or(max).min(max);
                if buf.len().saturating_add(frag.data.len()) > limit {
                    return Err(match declared {
                        Some(d) if d <= max => EapError::MalformedTtls,
                        _ => EapError::TooLarge { limit: max },
                    });
                }
                buf.extend_from_slice(frag.data);
                if frag.more {
                    Ok(Framed::Ack(Link::Receiving { buf, declared }))
                } else if declared.is_some_and(|d| d != buf.len()) {
                    Err(EapError::MalformedTtls)
                } else {
                    Ok(Framed::Message(buf))
                }
            }
        }
    }

    /// Starts sending `data` in packets of at most `chunk` TLS bytes: the type-data of the
    /// first packet, and the link that sends the rest as the peer acknowledges.
    pub(crate) fn send(data: Vec<u8>, chunk: usize) -> (Link, Vec<u8>) {
        Link::fragment(data, 0, chunk.max(1))
    }

    fn fragment(data: Vec<u8>, sent: usize, chunk: usize) -> (Link, Vec<u8>) {
        let rest = data.get(sent..).unwrap_or_default();
        if rest.len() <= chunk {
            let mut out = Vec::with_capacity(1 + rest.len());
            out.push(VERSION);
            out.extend_from_slice(rest);
            return (Link::Idle, out);
        }
        let piece = rest.get(..chunk).unwrap_or_default();
        let mut out = Vec::with_capacity(5 + chunk);
        if sent == 0 {
            out.push(FLAG_LENGTH | FLAG_MORE | VERSION);
            let total = u32::try_from(data.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&total.to_be_bytes());
        } else {
            out.push(FLAG_MORE | VERSION);
        }
        out.extend_from_slice(piece);
        let sent = sent + chunk;
        (Link::Sending { data, sent, chunk }, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(more: bool, total: Option<usize>, data: &[u8]) -> Fragment<'_> {
        Fragment { more, total, data }
    }

    #[test]
    fn parses_flags_and_length() {
        assert_eq!(parse(&[0]).unwrap(), frag(false, None, &[]));
        assert_eq!(parse(&[0, 9, 8]).unwrap(), frag(false, None, &[9, 8]));
        assert_eq!(
            parse(&[0xc0, 0, 0, 1, 0, 7]).unwrap(),
            frag(true, Some(256), &[7])
        );
        // Reserved bits are ignored.
        assert_eq!(parse(&[0x18]).unwrap(), frag(false, None, &[]));
    }

    #[test]
    fn refuses_bad_framing() {
        for bad in [&[][..], &[0x20], &[0x01], &[0x80, 0, 0], &[0x80]] {
            assert!(
                matches!(parse(bad), Err(EapError::MalformedTtls)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn fragments_and_sends_the_rest_on_acks() {
        let data: Vec<u8> = (0..25u8).collect();
        let (link, first) = Link::send(data.clone(), 10);
        assert_eq!(first[0], 0xc0);
        assert_eq!(&first[1..5], &[0, 0, 0, 25]);
        assert_eq!(&first[5..], &data[..10]);
        let Framed::Next(link, second) = link.receive(frag(false, None, &[]), 100).unwrap() else {
            panic!("expected the next fragment");
        };
        assert_eq!(second[0], 0x40);
        assert_eq!(&second[1..], &data[10..20]);
        let Framed::Next(link, last) = link.receive(frag(false, None, &[]), 100).unwrap() else {
            panic!("expected the last fragment");
        };
        assert_eq!(last[0], 0);
        assert_eq!(&last[1..], &data[20..]);
        assert!(matches!(link, Link::Idle));
    }

    #[test]
    fn small_messages_go_whole_and_a_non_ack_while_sending_is_refused() {
        let (link, only) = Link::send(vec![1, 2, 3], 10);
        assert_eq!(only, vec![0, 1, 2, 3]);
        assert!(matches!(link, Link::Idle));
        let (link, _) = Link::send(vec![0; 30], 10);
        assert!(matches!(
            link.receive(frag(false, None, &[1]), 100),
            Err(EapError::MalformedTtls)
        ));
    }

    #[test]
    fn reassembles_with_acks_and_checks_the_declared_length() {
        let Framed::Ack(link) = Link::Idle
            .receive(frag(true, Some(6), &[1, 2]), 100)
            .unwrap()
        else {
            panic!("expected an ack");
        };
        let Framed::Ack(link) = link.receive(frag(true, None, &[3, 4]), 100).unwrap() else {
            panic!("expected an ack");
        };
        let Framed::Message(m) = link.receive(frag(false, None, &[5, 6]), 100).unwrap() else {
            panic!("expected the message");
        };
        assert_eq!(m, vec![1, 2, 3, 4, 5, 6]);

        // Shorter than declared.
        let Framed::Ack(link) = Link::Idle
            .receive(frag(true, Some(6), &[1, 2]), 100)
            .unwrap()
        else {
            panic!("expected an ack");
        };
        assert!(matches!(
            link.receive(frag(false, None, &[3]), 100),
            Err(EapError::MalformedTtls)
        ));
        // Longer than declared.
        let Framed::Ack(link) = Link::Idle
            .receive(frag(true, Some(3), &[1, 2]), 100)
            .unwrap()
        else {
            panic!("expected an ack");
        };
        assert!(matches!(
            link.receive(frag(false, None, &[3, 4]), 100),
            Err(EapError::MalformedTtls)
        ));
        // Unfragmented but L disagrees.
        assert!(matches!(
            Link::Idle.receive(frag(false, Some(5), &[1]), 100),
            Err(EapError::MalformedTtls)
        ));
    }

    #[test]
    fn caps_the_reassembled_size() {
        assert!(matches!(
            Link::Idle.receive(frag(true, Some(0xffff_ffff), &[1]), 64),
            Err(EapError::TooLarge { limit: 64 })
        ));
        let mut link = Link::Idle;
        let chunk = [0u8; 20];
        for _ in 0..3 {
            match link.receive(frag(true, None, &chunk), 64).unwrap() {
                Framed::Ack(next) => link = next,
                other => panic!("expected an ack, got {other:?}"),
            }
        }
        assert!(matches!(
            link.receive(frag(true, None, &chunk), 64),
            Err(EapError::TooLarge { limit: 64 })
        ));
    }
}

//! Test support: RFC 4515 filter strings (`(&(uid=a)(cn=b*))`) to the wire filter, as
//! `ldapsearch` writes them. The server never parses filter text (clients send BER); the unit
//! tests and the integration tests (which include this file) write filters this way.
#![allow(dead_code)]

use ldap3_proto::proto::{LdapFilter, LdapMatchingRuleAssertion, LdapSubstringFilter};

/// Parses a filter string; `None` when it is not one.
pub fn parse(s: &str) -> Option<LdapFilter> {
    let mut p = P {
        b: s.trim().as_bytes(),
        i: 0,
    };
    let f = p.filter()?;
    (p.i == p.b.len()).then_some(f)
}

struct P<'a> {
    b: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    fn filter(&mut self) -> Option<LdapFilter> {
        self.eat(b'(')?;
        let f = match self.peek()? {
            b'&' => {
                self.i += 1;
                LdapFilter::And(self.list()?)
            }
            b'|' => {
                self.i += 1;
                LdapFilter::Or(self.list()?)
            }
            b'!' => {
                self.i += 1;
                LdapFilter::Not(Box::new(self.filter()?))
            }
            _ => self.item()?,
        };
        self.eat(b')')?;
        Some(f)
    }

    fn list(&mut self) -> Option<Vec<LdapFilter>> {
        let mut v = Vec::new();
        while self.peek() == Some(b'(') {
            v.push(self.filter()?);
        }
        Some(v)
    }

    fn attr(&mut self) -> String {
        let start = self.i;
        while let Some(c) = self.peek() {
            if matches!(c, b'=' | b'~' | b'>' | b'<' | b':' | b'(' | b')') {
                break;
            }
            self.i += 1;
        }
        String::from_utf8_lossy(self.b.get(start..self.i).unwrap_or_default()).into_owned()
    }

    /// The value up to `)`, split at unescaped `*`.
    fn segments(&mut self) -> Option<Vec<String>> {
        let mut segs = Vec::new();
        let mut cur = Vec::new();
        loop {
            match self.peek()? {
                b')' => break,
                b'*' => {
                    self.i += 1;
                    segs.push(String::from_utf8(std::mem::take(&mut cur)).ok()?);
                }
                b'\\' => {
                    let h = self.b.get(self.i + 1..self.i + 3)?;
                    let h = std::str::from_utf8(h).ok()?;
                    cur.push(u8::from_str_radix(h, 16).ok()?);
                    self.i += 3;
                }
                c => {
                    cur.push(c);
                    self.i += 1;
                }
            }
        }
        segs.push(String::from_utf8(cur).ok()?);
        Some(segs)
    }

    fn value(&mut self) -> Option<String> {
        let mut s = self.segments()?;
        if s.len() != 1 {
            return None;
        }
        s.pop()
    }

    fn item(&mut self) -> Option<LdapFilter> {
        let attr = self.attr();
        match self.peek()? {
            b'~' => {
                self.i += 1;
                self.eat(b'=')?;
                Some(LdapFilter::Approx(attr, self.value()?))
            }
            b'>' => {
                self.i += 1;
                self.eat(b'=')?;
                Some(LdapFilter::GreaterOrEqual(attr, self.value()?))
            }
            b'<' => {
                self.i += 1;
                self.eat(b'=')?;
                Some(LdapFilter::LessOrEqual(attr, self.value()?))
            }
            b':' => {
                let mut dn_attributes = false;
                let mut rule = None;
                while self.eat(b':').is_some() {
                    if self.peek() == Some(b'=') {
                        self.i += 1;
                        let v = self.value()?;
                        return Some(LdapFilter::Extensible(LdapMatchingRuleAssertion {
                            matching_rule: rule,
                            type_: (!attr.is_empty()).then_some(attr),
                            match_value: v,
                            dn_attributes,
                        }));
                    }
                    let word = self.attr();
                    if word.eq_ignore_ascii_case("dn") {
                        dn_attributes = true;
                    } else {
                        rule = Some(word);
                    }
                }
                None
            }
            b'=' => {
                self.i += 1;
                let mut s = self.segments()?;
                if s.len() == 1 {
                    return Some(LdapFilter::Equality(attr, s.pop()?));
                }
                if s.len() == 2 && s.iter().all(String::is_empty) {
                    return Some(LdapFilter::Present(attr));
                }
                let last = s.pop().filter(|x| !x.is_empty());
                let mut it = s.into_iter();
                let first = it.next().filter(|x| !x.is_empty());
                Some(LdapFilter::Substring(
                    attr,
                    LdapSubstringFilter {
                        initial: first,
                        any: it.filter(|x| !x.is_empty()).collect(),
                        final_: last,
                    },
                ))
            }
            _ => None,
        }
    }
}

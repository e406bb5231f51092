//! A minimal, sans-IO DNS codec for one thing: the SRV lookup of KDC discovery
//! (`_kerberos._tcp.REALM`, `_kpasswd._tcp.REALM`; [RFC 4120] 7.2.3.2, [RFC 2782]).
//!
//! [`encode_srv_query`] builds one standard query ([RFC 1035] 4.1: header with a random id and
//! RD set, one question of type SRV class IN). [`decode_srv_response`] checks the reply against
//! that query (id, QR, opcode, the echoed question) and returns the SRV answers for the name
//! asked, sorted by priority (lower first), then by weight (higher first), then by target and
//! port — a deterministic order, not RFC 2782's weighted random pick, which matters little for
//! the one or two KDCs a realm usually advertises.
//!
//! Every read is bounds-checked through [`Reader`]; counts and names are capped before anything
//! is allocated; compression pointers ([RFC 1035] 4.1.4) must point strictly backwards, at most
//! [`MAX_POINTER_JUMPS`] of them per name, so a pointer loop cannot spin; trailing bytes after
//! the last record are refused. Nothing here panics on peer bytes.
//!
//! [RFC 1035]: https://www.rfc-editor.org/rfc/rfc1035
//! [RFC 2782]: https://www.rfc-editor.org/rfc/rfc2782
//! [RFC 4120]: https://www.rfc-editor.org/rfc/rfc4120

use crate::rng::SecureRandom;
use crate::wire::{DecodeError, Reader};

/// DNS type SRV ([RFC 2782](https://www.rfc-editor.org/rfc/rfc2782)).
pub const TYPE_SRV: u16 = 33;
/// DNS class IN.
pub const CLASS_IN: u16 = 1;
/// Largest DNS message accepted (a UDP reply without EDNS is at most 512 bytes; a TCP one could
/// be larger, but an SRV answer for a realm has no need to be).
pub const MAX_MESSAGE: usize = 4096;
/// Most records accepted per section.
pub const MAX_RECORDS: u16 = 64;
/// Most compression pointers followed while reading one name.
pub const MAX_POINTER_JUMPS: usize = 16;
/// Longest domain name in wire form ([RFC 1035] 2.3.4).
pub const MAX_NAME_WIRE: usize = 255;

/// One SRV record ([RFC 2782](https://www.rfc-editor.org/rfc/rfc2782)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SrvRecord {
    /// Lower is tried first.
    pub priority: u16,
    /// Relative weight among records of the same priority.
    pub weight: u16,
    /// The service's port.
    pub port: u16,
    /// The host offering the service (no trailing dot).
    pub target: String,
}

/// What a well-formed reply to an SRV query says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SrvAnswer {
    /// The SRV records for the name asked (possibly none: NOERROR with no SRV answer, or only
    /// RFC 2782's "." target, which means the service is decidedly not available).
    Records(Vec<SrvRecord>),
    /// NXDOMAIN: the name does not exist.
    NoSuchName,
    /// The server failed or refused (RCODE 1, 2, 4, 5, …): another nameserver may answer.
    ServerFailure(u8),
    /// The TC bit is set: the answer did not fit in the UDP datagram.
    Truncated,
}

/// `_service._tcp.REALM` (the realm as given; DNS compares names ignoring ASCII case).
pub fn srv_name(service: &str, realm: &str) -> String {
    format!("_{service}._tcp.{realm}")
}

/// Append `name` in wire form (length-prefixed labels, then a zero byte). Labels must be 1–63
/// bytes of ASCII letters, digits, `-` or `_`; the whole name at most 255 bytes.
fn encode_name(out: &mut Vec<u8>, name: &str) -> Result<(), DecodeError> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let start = out.len();
    for label in name.split('.') {
        if label.is_empty()
            || label.len() > 63
            || !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(DecodeError::invalid("DNS query name"));
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    if out.len() - start > MAX_NAME_WIRE {
        return Err(DecodeError::too_large("DNS query name"));
    }
    Ok(())
}

/// One SRV query for `name` ([RFC 1035] 4.1.1: random id, RD set, QDCOUNT 1; 4.1.2: the
/// question, type SRV, class IN). Returns the id to match the reply against and the message.
///
/// [RFC 1035]: https://www.rfc-editor.org/rfc/rfc1035
pub fn encode_srv_query(
    name: &str,
    rng: &mut dyn SecureRandom,
) -> Result<(u16, Vec<u8>), DecodeError> {
    let mut idb = [0u8; 2];
    rng.fill(&mut idb);
    let id = u16::from_be_bytes(idb);
    let mut out = Vec::with_capacity(18 + name.len());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&0x0100u16.to_be_bytes()); // QR=0, opcode QUERY, RD=1
    out.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    out.extend_from_slice(&[0; 6]); // ANCOUNT, NSCOUNT, ARCOUNT
    encode_name(&mut out, name)?;
    out.extend_from_slice(&TYPE_SRV.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok((id, out))
}

/// Read a (possibly compressed) name at the reader's position; the reader ends just after the
/// name's in-place bytes (after the first pointer, if any). Labels are returned lower-cased,
/// joined by dots, without a trailing dot (the root is the empty string).
fn read_name(r: &mut Reader<'_>) -> Result<String, DecodeError> {
    const WHAT: &str = "DNS name";
    let msg = r.buffer();
    let mut name = String::new();
    let mut wire_len = 0usize;
    let mut jumps = 0usize;
    // Where the bytes being read live: `None` while still reading from `r` in place, else the
    // absolute offset reached by following pointers.
    let mut at: Option<usize> = None;
    loop {
        let (len, here) = match at {
            None => (r.u8(WHAT)?, r.position() - 1),
            Some(p) => (*msg.get(p).ok_or(DecodeError::truncated(WHAT))?, p),
        };
        match len & 0xC0 {
            0x00 => {
                wire_len += 1 + usize::from(len);
                if wire_len > MAX_NAME_WIRE {
                    return Err(DecodeError::too_large(WHAT));
                }
                if len == 0 {
                    return Ok(name);
                }
                let label = match at {
                    None => r.take(usize::from(len), WHAT)?,
                    Some(p) => {
                        let s = r.slice_at(p + 1, usize::from(len), WHAT)?;
                        at = Some(p + 1 + usize::from(len));
                        s
                    }
                };
                if !label.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_') {
                    return Err(DecodeError::invalid(WHAT));
                }
                if !name.is_empty() {
                    name.push('.');
                }
                name.extend(label.iter().map(|b| char::from(b.to_ascii_lowercase())));
            }
            0xC0 => {
                let lo = match at {
                    None => r.u8(WHAT)?,
                    Some(p) => *msg.get(p + 1).ok_or(DecodeError::truncated(WHAT))?,
                };
                let target = usize::from(u16::from_be_bytes([len & 0x3F, lo]));
                jumps += 1;
                // Strictly backwards: a pointer can never reach itself or a later pointer, so
                // following pointers always terminates; the jump cap bounds the work.
                if jumps > MAX_POINTER_JUMPS || target >= here {
                    return Err(DecodeError::invalid("DNS compression pointer"));
                }
                at = Some(target);
            }
            // 0x40 / 0x80: extended label types (RFC 6891) and reserved: refused.
            _ => return Err(DecodeError::invalid(WHAT)),
        }
    }
}

/// The part of a resource record after its owner name.
struct RecordHead {
    rtype: u16,
    class: u16,
    rdlength: usize,
}

fn read_record_head(r: &mut Reader<'_>) -> Result<RecordHead, DecodeError> {
    let rtype = r.u16_be("DNS record type")?;
    let class = r.u16_be("DNS record class")?;
    r.u32_be("DNS record TTL")?;
    let rdlength = usize::from(r.u16_be("DNS record length")?);
    Ok(RecordHead { rtype, class, rdlength })
}

/// Decode the reply to the query `(id, name)` made by [`encode_srv_query`].
///
/// Checks ([RFC 1035] 4.1.1): the id, QR = 1, opcode QUERY; the RCODE (NXDOMAIN and server
/// failures are answers, not errors); the question section echoes exactly the question asked.
/// Then the answer section: SRV/IN records whose owner is the name asked are kept (others,
/// such as a CNAME, are skipped); the authority and additional sections are walked and
/// discarded; no byte may follow. A record with RFC 2782's "." target is dropped.
///
/// [RFC 1035]: https://www.rfc-editor.org/rfc/rfc1035
pub fn decode_srv_response(msg: &[u8], id: u16, name: &str) -> Result<SrvAnswer, DecodeError> {
    if msg.len() > MAX_MESSAGE {
        return Err(DecodeError::too_large("DNS message"));
    }
    let asked = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    let mut r = Reader::new(msg);
    if r.u16_be("DNS id")? != id {
        return Err(DecodeError::invalid("DNS id"));
    }
    let flags = r.u16_be("DNS flags")?;
    let counts = [
        r.u16_be("DNS QDCOUNT")?,
        r.u16_be("DNS ANCOUNT")?,
        r.u16_be("DNS NSCOUNT")?,
        r.u16_be("DNS ARCOUNT")?,
    ];
    if flags & 0x8000 == 0 {
        return Err(DecodeError::invalid("DNS QR flag"));
    }
    if (flags >> 11) & 0xF != 0 {
        return Err(DecodeError::invalid("DNS opcode"));
    }
    if flags & 0x0200 != 0 {
        return Ok(SrvAnswer::Truncated);
    }
    let rcode = (flags & 0xF) as u8;
    // The question: exactly the one asked.
    if counts[0] != 1 {
        return Err(DecodeError::invalid("DNS QDCOUNT"));
    }
    let qname = read_name(&mut r)?;
    let qtype = r.u16_be("DNS QTYPE")?;
    let qclass = r.u16_be("DNS QCLASS")?;
    if qname != asked || qtype != TYPE_SRV || qclass != CLASS_IN {
        return Err(DecodeError::invalid("DNS question echo"));
    }
    match rcode {
        0 => {}
        3 => return Ok(SrvAnswer::NoSuchName),
        c => return Ok(SrvAnswer::ServerFailure(c)),
    }
    if counts[1..].iter().any(|&c| c > MAX_RECORDS) {
        return Err(DecodeError::too_large("DNS record count"));
    }
    let mut records = Vec::new();
    for _ in 0..counts[1] {
        let owner = read_name(&mut r)?;
        let head = read_record_head(&mut r)?;
        if head.rtype != TYPE_SRV || head.class != CLASS_IN || owner != asked {
            r.skip(head.rdlength, "DNS record data")?;
            continue;
        }
        // The RDATA: three 16-bit fields and the target, which must end exactly at RDLENGTH.
        let end = r.position().checked_add(head.rdlength).ok_or(DecodeError::too_large("SRV"))?;
        if end > msg.len() {
            return Err(DecodeError::truncated("SRV record data"));
        }
        let priority = r.u16_be("SRV priority")?;
        let weight = r.u16_be("SRV weight")?;
        let port = r.u16_be("SRV port")?;
        let target = read_name(&mut r)?;
        if r.position() != end {
            return Err(DecodeError::invalid("SRV record length"));
        }
        if !target.is_empty() {
            records.push(SrvRecord { priority, weight, port, target });
        }
    }
    for _ in 0..(u32::from(counts[2]) + u32::from(counts[3])) {
        read_name(&mut r)?;
        let head = read_record_head(&mut r)?;
        r.skip(head.rdlength, "DNS record data")?;
    }
    r.finish("DNS message")?;
    records.sort_by(|a, b| {
        a.priority
            .cmp(&b.priority)
            .then(b.weight.cmp(&a.weight))
            .then_with(|| a.target.cmp(&b.target))
            .then(a.port.cmp(&b.port))
    });
    records.dedup();
    Ok(SrvAnswer::Records(records))
}

/// Most nameservers taken from resolv.conf (glibc's `MAXNS`).
pub const MAX_NAMESERVERS: usize = 3;

/// The `nameserver` addresses of a resolv.conf text (resolv.conf(5)): the first
/// [`MAX_NAMESERVERS`] lines `nameserver ADDRESS` whose address is IPv4 or IPv6, on port 53.
/// An IPv6 address with a `%zone` suffix is skipped (std cannot carry the zone). Comments
/// (`#`, `;`) and every other option are ignored.
///
/// A samrpc extension, for test resolvers on unprivileged ports: `nameserver 127.0.0.1:5353`
/// or `nameserver [::1]:5353` names a port too (glibc skips such lines as malformed).
pub fn parse_resolv_conf(text: &str) -> Vec<std::net::SocketAddr> {
    use std::net::{IpAddr, SocketAddr};
    text.lines()
        .filter_map(|line| {
            let line = line.split(['#', ';']).next().unwrap_or("");
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some("nameserver"), Some(addr)) => addr
                    .parse::<IpAddr>()
                    .map(|ip| SocketAddr::new(ip, 53))
                    .or_else(|_| addr.parse::<SocketAddr>())
                    .ok(),
                _ => None,
            }
        })
        .take(MAX_NAMESERVERS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::FixedRandom;
    use crate::wire::DecodeErrorKind;

    const NAME: &str = "_kerberos._tcp.SAMR.TEST";

    /// The question of an SRV query for [`NAME`] in wire form (RFC 1035 4.1.2).
    fn question() -> Vec<u8> {
        let mut q = Vec::new();
        encode_name(&mut q, NAME).unwrap();
        q.extend_from_slice(&[0, 33, 0, 1]);
        q
    }

    /// A reply (RFC 1035 4.1.1 header: id 0x1234, QR=1 RD=1 RA=1, `rcode`) with the question
    /// at offset 12 and `answers` SRV records (RFC 2782 RDATA) whose owner is a pointer to it.
    fn reply(rcode: u8, answers: &[(u16, u16, u16, &[u8])]) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x81, 0x80 | rcode, 0, 1, 0, answers.len() as u8, 0, 0, 0, 0];
        m.extend_from_slice(&question());
        for (prio, weight, port, target) in answers {
            m.extend_from_slice(&[0xC0, 12, 0, 33, 0, 1, 0, 0, 0x0E, 0x10]);
            m.extend_from_slice(&((6 + target.len()) as u16).to_be_bytes());
            m.extend_from_slice(&prio.to_be_bytes());
            m.extend_from_slice(&weight.to_be_bytes());
            m.extend_from_slice(&port.to_be_bytes());
            m.extend_from_slice(target);
        }
        m
    }

    const DC1: &[u8] = b"\x03dc1\x04samr\x04test\x00";

    #[test]
    fn query_has_the_rfc1035_layout() {
        let mut rng = FixedRandom::new(vec![0xAB, 0xCD]);
        let (id, q) = encode_srv_query(NAME, &mut rng).unwrap();
        assert_eq!(id, 0xABCD);
        // RFC 1035 4.1.1: id, flags 0x0100 (RD), QDCOUNT 1, other counts 0.
        assert_eq!(&q[..12], &[0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&q[12..], &question()[..]);
        assert_eq!(&q[12..22], b"\x09_kerberos");
        assert_eq!(q.len(), 12 + 26 + 4);
    }

    #[test]
    fn query_refuses_bad_names() {
        let mut rng = FixedRandom::new(vec![1]);
        for bad in ["", "a..b", "a b.c", "é.test", &"x".repeat(64), &["abc"; 70].join(".")] {
            assert!(encode_srv_query(bad, &mut rng).is_err(), "{bad:?}");
        }
        assert!(encode_srv_query("_kerberos._tcp.SAMR.TEST.", &mut rng).is_ok());
    }

    #[test]
    fn decodes_and_sorts_srv_answers() {
        let m = reply(
            0,
            &[
                (10, 5, 88, b"\x03kdc\x02b1\x00"),
                (0, 100, 88, DC1),
                (10, 50, 750, b"\x03kdc\x02b2\xC0\x1B"),
            ],
        );
        // 0x1B = 27: "samr.test" inside the question, after "_kerberos._tcp".
        assert_eq!(&m[27..28], b"\x04");
        let SrvAnswer::Records(rs) = decode_srv_response(&m, 0x1234, NAME).unwrap() else {
            panic!("no records")
        };
        let got: Vec<_> =
            rs.iter().map(|r| (r.priority, r.weight, r.port, r.target.as_str())).collect();
        assert_eq!(
            got,
            [
                (0, 100, 88, "dc1.samr.test"),
                (10, 50, 750, "kdc.b2.samr.test"),
                (10, 5, 88, "kdc.b1")
            ]
        );
    }

    #[test]
    fn name_match_ignores_case_and_trailing_dot() {
        let m = reply(0, &[(0, 0, 88, DC1)]);
        let a = decode_srv_response(&m, 0x1234, "_KERBEROS._TCP.samr.test.").unwrap();
        assert!(matches!(a, SrvAnswer::Records(ref r) if r.len() == 1));
    }

    #[test]
    fn rcodes_and_tc_are_answers() {
        assert_eq!(decode_srv_response(&reply(3, &[]), 0x1234, NAME), Ok(SrvAnswer::NoSuchName));
        assert_eq!(
            decode_srv_response(&reply(2, &[]), 0x1234, NAME),
            Ok(SrvAnswer::ServerFailure(2))
        );
        assert_eq!(
            decode_srv_response(&reply(5, &[]), 0x1234, NAME),
            Ok(SrvAnswer::ServerFailure(5))
        );
        assert_eq!(
            decode_srv_response(&reply(0, &[]), 0x1234, NAME),
            Ok(SrvAnswer::Records(vec![]))
        );
        let mut m = reply(0, &[(0, 0, 88, DC1)]);
        m[2] |= 0x02; // TC
        assert_eq!(decode_srv_response(&m, 0x1234, NAME), Ok(SrvAnswer::Truncated));
    }

    #[test]
    fn root_target_means_no_service() {
        // RFC 2782: a lone "." target says the service is decidedly not available.
        let m = reply(0, &[(0, 0, 0, b"\x00")]);
        assert_eq!(decode_srv_response(&m, 0x1234, NAME), Ok(SrvAnswer::Records(vec![])));
    }

    #[test]
    fn header_checks() {
        let good = reply(0, &[(0, 0, 88, DC1)]);
        assert!(decode_srv_response(&good, 0x1235, NAME).is_err(), "wrong id");
        let mut m = good.clone();
        m[2] &= 0x7F;
        assert!(decode_srv_response(&m, 0x1234, NAME).is_err(), "QR clear");
        let mut m = good.clone();
        m[2] |= 0x10; // opcode 2
        assert!(decode_srv_response(&m, 0x1234, NAME).is_err(), "opcode");
        assert!(decode_srv_response(&good, 0x1234, "_kpasswd._tcp.SAMR.TEST").is_err(), "question");
        let mut m = good.clone();
        m[5] = 2;
        assert!(decode_srv_response(&m, 0x1234, NAME).is_err(), "QDCOUNT 2");
        let mut m = good.clone();
        let qtype = 12 + question().len() - 3;
        m[qtype] = 1; // type A
        assert!(decode_srv_response(&m, 0x1234, NAME).is_err(), "QTYPE");
    }

    #[test]
    fn every_truncation_is_rejected() {
        let good = reply(0, &[(0, 0, 88, DC1), (1, 0, 88, b"\x03kdc\xC0\x1B")]);
        assert!(decode_srv_response(&good, 0x1234, NAME).is_ok());
        for n in 0..good.len() {
            assert!(decode_srv_response(&good[..n], 0x1234, NAME).is_err(), "prefix of {n} bytes");
        }
        let mut long = good.clone();
        long.push(0);
        assert_eq!(
            decode_srv_response(&long, 0x1234, NAME).unwrap_err().kind,
            DecodeErrorKind::TrailingData
        );
    }

    #[test]
    fn compression_loops_and_forward_pointers_are_rejected() {
        // The answer's owner name points at itself.
        let mut m = reply(0, &[(0, 0, 88, DC1)]);
        let at = 12 + question().len();
        m[at + 1] = at as u8;
        assert!(decode_srv_response(&m, 0x1234, NAME).is_err());
        // A target whose pointer points at itself.
        let mut m = reply(0, &[(0, 0, 88, b"\x01a\xC0\x00")]);
        let t = m.len() - 4;
        m[t + 3] = (t + 2) as u8;
        assert!(decode_srv_response(&m, 0x1234, NAME).is_err());
        // A chain of backward pointers inside an opaque (TXT) record, and an SRV target that
        // enters it at its end: within the cap it decodes (to the root, dropped), past it not.
        let chain = |n: usize| {
            let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
            m.extend_from_slice(&question());
            m.extend_from_slice(&[0xC0, 12, 0, 16, 0, 1, 0, 0, 0, 0]);
            m.extend_from_slice(&((1 + 2 * n) as u16).to_be_bytes());
            let base = m.len();
            m.push(0); // the root name
            for i in 0..n {
                let prev = if i == 0 { base } else { base + 1 + 2 * (i - 1) };
                m.extend_from_slice(&[0xC0, prev as u8]);
            }
            let last = m.len() - 2;
            m.extend_from_slice(&[0xC0, 12, 0, 33, 0, 1, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 88]);
            m.extend_from_slice(&[0xC0, last as u8]);
            m
        };
        // The target's own pointer is one jump, the chain's n more.
        let ok = chain(MAX_POINTER_JUMPS - 1);
        assert_eq!(decode_srv_response(&ok, 0x1234, NAME), Ok(SrvAnswer::Records(vec![])));
        let e = decode_srv_response(&chain(MAX_POINTER_JUMPS), 0x1234, NAME).unwrap_err();
        assert_eq!(e.what, "DNS compression pointer");
    }

    #[test]
    fn caps_and_hostile_fields() {
        let good = reply(0, &[(0, 0, 88, DC1)]);
        let mut m = good.clone();
        m[7] = 200;
        m[6] = 0;
        assert_eq!(
            decode_srv_response(&m, 0x1234, NAME).unwrap_err().kind,
            DecodeErrorKind::TooLarge
        );
        let mut m = good.clone();
        let rdlen = 12 + question().len() + 10;
        m[rdlen + 1] += 1; // RDLENGTH one past the target
        assert!(decode_srv_response(&m, 0x1234, NAME).is_err());
        let big = vec![0u8; MAX_MESSAGE + 1];
        assert!(decode_srv_response(&big, 0, NAME).is_err());
        let mut m = reply(0, &[(0, 0, 88, b"\x03d c\x00")]);
        assert!(decode_srv_response(&m, 0x1234, NAME).is_err(), "space in a label");
        let l = m.len();
        m[l - 5] = 0x43; // a 0x40-type label
        assert!(decode_srv_response(&m, 0x1234, NAME).is_err());
    }

    #[test]
    fn other_records_are_skipped() {
        // A CNAME answer (type 5) and an additional A record around one SRV answer.
        let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 1];
        m.extend_from_slice(&question());
        m.extend_from_slice(&[0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 0xC0, 0x1B]);
        m.extend_from_slice(&[0xC0, 12, 0, 33, 0, 1, 0, 0, 0, 60, 0, 21, 0, 0, 0, 0, 0, 88]);
        m.extend_from_slice(DC1);
        m.extend_from_slice(&[0xC0, 0x1B, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
        let a = decode_srv_response(&m, 0x1234, NAME).unwrap();
        assert_eq!(
            a,
            SrvAnswer::Records(vec![SrvRecord {
                priority: 0,
                weight: 0,
                port: 88,
                target: "dc1.samr.test".into()
            }])
        );
    }

    #[test]
    fn resolv_conf_nameservers() {
        let text = "# generated\nsearch samr.test\nnameserver 127.0.0.53\n  nameserver ::1 # local\n\
                    nameserver fe80::1%eth0\nnameserver not-an-ip\noptions edns0\nnameserver\n\
                    ;nameserver 10.0.0.9\nnameserver 10.0.0.1\nnameserver 10.0.0.2\n";
        let ns: Vec<String> = parse_resolv_conf(text).iter().map(ToString::to_string).collect();
        assert_eq!(ns, ["127.0.0.53:53", "[::1]:53", "10.0.0.1:53"]);
        let ports = "nameserver 127.0.0.1:5353\nnameserver [::1]:5300\nnameserver 10.0.0.1:x\n";
        let ns: Vec<String> = parse_resolv_conf(ports).iter().map(ToString::to_string).collect();
        assert_eq!(ns, ["127.0.0.1:5353", "[::1]:5300"]);
        assert!(parse_resolv_conf("").is_empty());
    }
}

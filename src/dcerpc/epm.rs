//! The endpoint mapper's `ept_map` (EPM opnum 3) for ncacn_ip_tcp: the request stub, the
//! response decoder, and protocol towers (C706 appendix L and I; [MS-RPCE] 2.2.1.2).
//!
//! A client that wants an interface over TCP binds [`EPM_SYNTAX`] on TCP port 135 (no
//! authentication), calls `ept_map` with a 5-floor tower naming the interface, and reads the
//! TCP port from the returned tower:
//!
//! ```text
//! floor 1  lhs 0x0d ‖ interface UUID ‖ major (u16 LE)   rhs minor (u16 LE)
//! floor 2  lhs 0x0d ‖ NDR UUID ‖ 2 (u16 LE)             rhs 0 (u16 LE)
//! floor 3  lhs 0x0b (connection-oriented RPC)           rhs minor protocol version (u16 LE)
//! floor 4  lhs 0x07 (TCP port)                          rhs port (u16 **big-endian**)
//! floor 5  lhs 0x09 (IPv4 address)                      rhs address (4 bytes, network order)
//! ```
//!
//! Each floor is `lhs_len (u16 LE) ‖ lhs ‖ rhs_len (u16 LE) ‖ rhs`, after a `floor_count (u16
//! LE)`. The Samba AD DC answers the address 0.0.0.0 (research note "ncacn-ip-tcp"): callers
//! connect to the host they dialled and ignore [`TcpEndpoint::address`].
//!
//! Decoding is bounded: a tower is at most [`MAX_TOWER_LEN`] bytes and the response may hold
//! at most [`MAX_TOWERS`] towers (we ask for one). Errors are typed ([`EpmError`]): no tower
//! (nothing registered), a tower that is not a well-formed 5-floor tower, a tower for another
//! protocol or interface, a non-zero status.
//!
//! Vectors: `tests/vectors/samba-dc-tcp/epm-map-{req,resp}.hex`, captured from the Samba 4.22
//! AD DC answering rpcclient (tests/vectors/PROVENANCE.md).

use core::fmt;

use super::syntax::{NDR20_SYNTAX, SyntaxId, uuid_wire};
use crate::wire::{DecodeError, Reader, Writer};

/// The endpoint mapper interface `E1AF8308-5D1F-11C9-91A4-08002B14A0FA` v3.0.
pub const EPM_SYNTAX: SyntaxId = SyntaxId {
    uuid: uuid_wire(0xE1AF_8308, 0x5D1F, 0x11C9, [0x91, 0xA4, 0x08, 0x00, 0x2B, 0x14, 0xA0, 0xFA]),
    major: 3,
    minor: 0,
};

/// `ept_map`'s opnum.
pub const OPNUM_EPT_MAP: u16 = 3;

/// The endpoint mapper's well-known TCP port.
pub const EPM_TCP_PORT: u16 = 135;

/// Largest tower accepted from the server, in bytes (a TCP/IP tower is 75).
pub const MAX_TOWER_LEN: usize = 1024;

/// Largest number of towers accepted in one response (we ask for one).
pub const MAX_TOWERS: u32 = 16;

/// `max_towers` sent in the request.
const REQUEST_MAX_TOWERS: u32 = 1;

/// Largest number of floors accepted in a tower.
const MAX_FLOORS: u16 = 16;

/// `EPT_S_NOT_REGISTERED`: no endpoint is registered for the interface.
pub const EPT_S_NOT_REGISTERED: u32 = 0x16C9_A0D6;

/// Protocol identifiers of tower floors (C706 appendix I).
mod proto {
    /// A UUID-identified interface or transfer syntax.
    pub(super) const UUID: u8 = 0x0D;
    /// Connection-oriented RPC (ncacn).
    pub(super) const NCACN: u8 = 0x0B;
    /// TCP port.
    pub(super) const TCP: u8 = 0x07;
    /// IPv4 address.
    pub(super) const IP: u8 = 0x09;
}

/// Why `ept_map` gave no usable TCP endpoint.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EpmError {
    /// The response stub is malformed.
    #[error("malformed endpoint mapper response: {0}")]
    Decode(#[from] DecodeError),
    /// The server has no endpoint registered for the interface (no tower, or
    /// `EPT_S_NOT_REGISTERED`).
    #[error("the endpoint mapper has no TCP endpoint registered for the interface")]
    NotRegistered,
    /// `ept_map` failed with another status.
    #[error("the endpoint mapper answered status {0:#010x}")]
    Status(u32),
    /// A returned tower is not a well-formed protocol tower.
    #[error("the endpoint mapper returned a malformed tower: {0}")]
    HostileTower(&'static str),
    /// A returned tower is well formed but not ncacn_ip_tcp for the requested interface.
    #[error("the endpoint mapper returned a tower for another protocol: {0}")]
    WrongProtocol(&'static str),
}

/// One floor of a protocol tower.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Floor {
    /// The left-hand side: protocol identifier and its data.
    pub lhs: Vec<u8>,
    /// The right-hand side: related or address data.
    pub rhs: Vec<u8>,
}

/// A protocol tower: a list of floors (the `tower_octet_string` of a `twr_t`).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Tower {
    /// Floors, outermost (interface) first.
    pub floors: Vec<Floor>,
}

/// An ncacn_ip_tcp endpoint: what floors 1–5 of a TCP/IP tower say.
#[derive(Copy, Clone, PartialEq, Eq)]
pub struct TcpEndpoint {
    /// The interface (floor 1).
    pub interface: SyntaxId,
    /// The transfer syntax (floor 2).
    pub transfer_syntax: SyntaxId,
    /// The TCP port (0 in a request).
    pub port: u16,
    /// The IPv4 address as sent (0.0.0.0 from Samba: use the host you dialled).
    pub address: [u8; 4],
}

impl fmt::Debug for TcpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.address;
        write!(
            f,
            "TcpEndpoint {{ interface: {:?}, transfer_syntax: {:?}, {}.{}.{}.{}:{} }}",
            self.interface, self.transfer_syntax, a[0], a[1], a[2], a[3], self.port
        )
    }
}

fn uuid_floor(s: &SyntaxId) -> Floor {
    let mut lhs = Vec::with_capacity(19);
    lhs.push(proto::UUID);
    lhs.extend_from_slice(&s.uuid);
    lhs.extend_from_slice(&s.major.to_le_bytes());
    Floor { lhs, rhs: s.minor.to_le_bytes().to_vec() }
}

fn parse_uuid_floor(f: &Floor) -> Result<SyntaxId, EpmError> {
    if f.lhs.first() != Some(&proto::UUID) {
        return Err(EpmError::WrongProtocol("a UUID floor names another protocol"));
    }
    if f.lhs.len() != 19 || f.rhs.len() != 2 {
        return Err(EpmError::HostileTower("UUID floor has the wrong length"));
    }
    let mut uuid = [0u8; 16];
    uuid.copy_from_slice(&f.lhs[1..17]);
    Ok(SyntaxId {
        uuid,
        major: u16::from_le_bytes([f.lhs[17], f.lhs[18]]),
        minor: u16::from_le_bytes([f.rhs[0], f.rhs[1]]),
    })
}

impl TcpEndpoint {
    /// The endpoint a request asks for: `interface` over NDR 2.0, port 0, address 0.0.0.0.
    pub fn query(interface: SyntaxId) -> Self {
        Self { interface, transfer_syntax: NDR20_SYNTAX, port: 0, address: [0; 4] }
    }

    /// The 5-floor tower.
    pub fn to_tower(&self) -> Tower {
        Tower {
            floors: vec![
                uuid_floor(&self.interface),
                uuid_floor(&self.transfer_syntax),
                Floor { lhs: vec![proto::NCACN], rhs: vec![0, 0] },
                Floor { lhs: vec![proto::TCP], rhs: self.port.to_be_bytes().to_vec() },
                Floor { lhs: vec![proto::IP], rhs: self.address.to_vec() },
            ],
        }
    }

    /// Read a TCP/IP tower: exactly 5 floors in the order of the module docs.
    pub fn from_tower(t: &Tower) -> Result<Self, EpmError> {
        let [f1, f2, f3, f4, f5] = t.floors.as_slice() else {
            return Err(EpmError::WrongProtocol("not a 5-floor TCP/IP tower"));
        };
        let interface = parse_uuid_floor(f1)?;
        let transfer_syntax = parse_uuid_floor(f2)?;
        if f3.lhs.as_slice() != [proto::NCACN] {
            return Err(EpmError::WrongProtocol("floor 3 is not connection-oriented RPC"));
        }
        if f3.rhs.len() != 2 {
            return Err(EpmError::HostileTower("floor 3 has the wrong length"));
        }
        if f4.lhs.as_slice() != [proto::TCP] {
            return Err(EpmError::WrongProtocol("floor 4 is not a TCP port"));
        }
        let [p0, p1] = f4.rhs.as_slice() else {
            return Err(EpmError::HostileTower("TCP port floor has the wrong length"));
        };
        if f5.lhs.as_slice() != [proto::IP] {
            return Err(EpmError::WrongProtocol("floor 5 is not an IPv4 address"));
        }
        let [a, b, c, d] = f5.rhs.as_slice() else {
            return Err(EpmError::HostileTower("IPv4 floor has the wrong length"));
        };
        Ok(Self {
            interface,
            transfer_syntax,
            port: u16::from_be_bytes([*p0, *p1]),
            address: [*a, *b, *c, *d],
        })
    }
}

impl Tower {
    /// The tower octet string.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u16(self.floors.len() as u16);
        for f in &self.floors {
            w.u16(f.lhs.len() as u16).bytes(&f.lhs).u16(f.rhs.len() as u16).bytes(&f.rhs);
        }
        w.into_vec()
    }

    /// Decode a whole tower octet string (at most [`MAX_TOWER_LEN`] bytes and 16 floors; no
    /// empty left-hand side; trailing bytes rejected).
    pub fn decode(bytes: &[u8]) -> Result<Self, EpmError> {
        const W: &str = "protocol tower";
        if bytes.len() > MAX_TOWER_LEN {
            return Err(EpmError::HostileTower("tower exceeds the size limit"));
        }
        let mut r = Reader::new(bytes);
        let count = r.u16(W)?;
        if count == 0 || count > MAX_FLOORS {
            return Err(EpmError::HostileTower("floor count out of range"));
        }
        // Each floor takes at least 5 bytes (two lengths and a protocol id).
        r.check_count(usize::from(count), 5, W)?;
        let mut floors = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let n = usize::from(r.u16("tower floor lhs length")?);
            if n == 0 {
                return Err(EpmError::HostileTower("empty floor left-hand side"));
            }
            let lhs = r.take(n, "tower floor lhs")?.to_vec();
            let n = usize::from(r.u16("tower floor rhs length")?);
            let rhs = r.take(n, "tower floor rhs")?.to_vec();
            floors.push(Floor { lhs, rhs });
        }
        r.finish(W)?;
        Ok(Self { floors })
    }
}

/// The `ept_map` request stub for `interface` over ncacn_ip_tcp: NULL object, the 5-floor
/// query tower (a full pointer with referent id 1, as Samba sends), a zero context handle,
/// `max_towers` 1.
pub fn ept_map_request(interface: SyntaxId) -> Vec<u8> {
    let tower = TcpEndpoint::query(interface).to_tower().encode();
    let mut w = Writer::new();
    w.u32(0); // object: NULL
    w.u32(1); // map_tower referent id
    w.u32(tower.len() as u32); // tower_length
    w.u32(tower.len() as u32); // conformant size of tower_octet_string
    w.bytes(&tower);
    w.align(4);
    w.zeros(20); // entry_handle: a zero context handle
    w.u32(REQUEST_MAX_TOWERS);
    w.into_vec()
}

/// Read one `twr_t` (`tower_length`, conformant size, octets) at the reader.
fn read_twr(r: &mut Reader<'_>) -> Result<Tower, EpmError> {
    r.align(4, "twr_t")?;
    let len = r.u32("twr_t tower_length")? as usize;
    let size = r.u32("twr_t conformant size")? as usize;
    if len != size {
        return Err(EpmError::HostileTower("tower length and array size differ"));
    }
    if len > MAX_TOWER_LEN {
        return Err(EpmError::HostileTower("tower exceeds the size limit"));
    }
    let bytes = r.take(len, "twr_t octets")?;
    Tower::decode(bytes)
}

/// Decode an `ept_map` response stub and return the TCP endpoint of `interface`.
///
/// The first tower that is ncacn_ip_tcp for `interface` over NDR 2.0 wins. A status of
/// [`EPT_S_NOT_REGISTERED`] or zero towers is [`EpmError::NotRegistered`]; a tower for another
/// interface, transfer syntax or protocol is [`EpmError::WrongProtocol`]; port 0 is
/// [`EpmError::HostileTower`].
pub fn decode_ept_map_response(stub: &[u8], interface: SyntaxId) -> Result<TcpEndpoint, EpmError> {
    let towers = decode_ept_map_towers(stub)?;
    let mut first_err = EpmError::NotRegistered;
    for (i, t) in towers.iter().enumerate() {
        let candidate = TcpEndpoint::from_tower(t).and_then(|e| {
            if e.interface != interface {
                Err(EpmError::WrongProtocol("tower for another interface"))
            } else if e.transfer_syntax != NDR20_SYNTAX {
                Err(EpmError::WrongProtocol("tower for another transfer syntax"))
            } else if e.port == 0 {
                Err(EpmError::HostileTower("TCP port 0"))
            } else {
                Ok(e)
            }
        });
        match candidate {
            Ok(e) => return Ok(e),
            Err(e) if i == 0 => first_err = e,
            Err(_) => {}
        }
    }
    Err(first_err)
}

/// Decode an `ept_map` response stub into its towers: entry handle (20 bytes), `num_towers`,
/// the conformant-varying array of tower pointers, the towers, then `status`. A non-zero
/// status is an error; trailing bytes are rejected.
pub fn decode_ept_map_towers(stub: &[u8]) -> Result<Vec<Tower>, EpmError> {
    let mut r = Reader::new(stub);
    r.skip(20, "ept_map entry_handle")?;
    let num = r.u32("ept_map num_towers")?;
    let max = r.u32("ept_map towers max_count")?;
    let offset = r.u32("ept_map towers offset")?;
    let actual = r.u32("ept_map towers actual_count")?;
    if offset != 0 || actual != num || actual > max || max > MAX_TOWERS {
        return Err(EpmError::HostileTower("tower array counts are inconsistent"));
    }
    r.check_count(actual as usize, 4, "ept_map tower pointers")?;
    let mut present = Vec::with_capacity(actual as usize);
    for _ in 0..actual {
        present.push(r.u32("ept_map tower pointer")? != 0);
    }
    let mut towers = Vec::new();
    for p in present {
        if p {
            towers.push(read_twr(&mut r)?);
        }
    }
    r.align(4, "ept_map status")?;
    let status = r.u32("ept_map status")?;
    r.finish("ept_map response")?;
    match status {
        0 => {}
        EPT_S_NOT_REGISTERED => return Err(EpmError::NotRegistered),
        s => return Err(EpmError::Status(s)),
    }
    if towers.is_empty() {
        return Err(EpmError::NotRegistered);
    }
    Ok(towers)
}

/// Test and fuzz support: an `ept_map` response stub carrying `towers` (raw octet strings)
/// and `status`.
#[doc(hidden)]
pub fn encode_ept_map_response(towers: &[Vec<u8>], status: u32) -> Vec<u8> {
    let mut w = Writer::new();
    w.zeros(20);
    let n = towers.len() as u32;
    w.u32(n).u32(n).u32(0).u32(n);
    for i in 0..n {
        w.u32(2 + i);
    }
    for t in towers {
        w.align(4);
        w.u32(t.len() as u32).u32(t.len() as u32).bytes(t);
    }
    w.align(4);
    w.u32(status);
    w.into_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dcerpc::SAMR_SYNTAX;
    use crate::dcerpc::header::HEADER_LEN;
    use crate::dcerpc::request::Request;
    use crate::dcerpc::response::Response;

    fn vector(name: &str) -> Vec<u8> {
        let p = format!("{}/tests/vectors/samba-dc-tcp/{name}.hex", env!("CARGO_MANIFEST_DIR"));
        hex::decode(std::fs::read_to_string(p).unwrap().trim()).unwrap()
    }

    /// tests/vectors/samba-dc-tcp/epm-map-req.hex: rpcclient's ept_map REQUEST to the Samba
    /// 4.22 AD DC; our stub is byte-identical.
    #[test]
    fn request_matches_capture() {
        let pdu = vector("epm-map-req");
        let req = Request::decode(&pdu).unwrap();
        assert_eq!(req.opnum, OPNUM_EPT_MAP);
        assert_eq!(req.stub, ept_map_request(SAMR_SYNTAX));
        assert_eq!(pdu.len() - HEADER_LEN - 8, req.stub.len());
    }

    /// tests/vectors/samba-dc-tcp/epm-map-resp.hex: the DC's answer, port 49154, IP 0.0.0.0.
    #[test]
    fn response_from_capture() {
        let resp = Response::decode(&vector("epm-map-resp")).unwrap();
        let e = decode_ept_map_response(&resp.stub, SAMR_SYNTAX).unwrap();
        assert_eq!(e.port, 49154);
        assert_eq!(e.address, [0, 0, 0, 0]);
        assert_eq!(e.interface, SAMR_SYNTAX);
        assert_eq!(e.transfer_syntax, NDR20_SYNTAX);
        let towers = decode_ept_map_towers(&resp.stub).unwrap();
        assert_eq!(towers.len(), 1);
        assert_eq!(TcpEndpoint::from_tower(&towers[0]).unwrap(), e);
        assert_eq!(encode_ept_map_response(&[towers[0].encode()], 0)[..], resp.stub[..]);
        // Every truncation fails, and so does a trailing byte.
        for n in 0..resp.stub.len() {
            assert!(decode_ept_map_response(&resp.stub[..n], SAMR_SYNTAX).is_err());
        }
        let mut longer = resp.stub.clone();
        longer.extend_from_slice(&[0; 4]);
        assert!(decode_ept_map_response(&longer, SAMR_SYNTAX).is_err());
    }

    #[test]
    fn query_tower_round_trip() {
        let e =
            TcpEndpoint { port: 49154, address: [10, 0, 0, 1], ..TcpEndpoint::query(SAMR_SYNTAX) };
        let bytes = e.to_tower().encode();
        assert_eq!(bytes.len(), 75);
        assert_eq!(TcpEndpoint::from_tower(&Tower::decode(&bytes).unwrap()).unwrap(), e);
        assert!(format!("{e:?}").contains("10.0.0.1:49154"));
    }

    #[test]
    fn no_towers_and_not_registered() {
        assert_eq!(
            decode_ept_map_response(&encode_ept_map_response(&[], 0), SAMR_SYNTAX),
            Err(EpmError::NotRegistered)
        );
        assert_eq!(
            decode_ept_map_response(
                &encode_ept_map_response(&[], EPT_S_NOT_REGISTERED),
                SAMR_SYNTAX
            ),
            Err(EpmError::NotRegistered)
        );
        assert_eq!(
            decode_ept_map_response(&encode_ept_map_response(&[], 5), SAMR_SYNTAX),
            Err(EpmError::Status(5))
        );
    }

    fn samr_tower() -> Tower {
        TcpEndpoint { port: 49154, ..TcpEndpoint::query(SAMR_SYNTAX) }.to_tower()
    }

    fn answer(t: &Tower) -> Result<TcpEndpoint, EpmError> {
        decode_ept_map_response(&encode_ept_map_response(&[t.encode()], 0), SAMR_SYNTAX)
    }

    #[test]
    fn hostile_towers() {
        // Port 0.
        let t = TcpEndpoint::query(SAMR_SYNTAX).to_tower();
        assert_eq!(answer(&t), Err(EpmError::HostileTower("TCP port 0")));
        // A 3-byte port.
        let mut t = samr_tower();
        t.floors[3].rhs = vec![1, 2, 3];
        assert!(matches!(answer(&t), Err(EpmError::HostileTower(_))));
        // A truncated UUID floor.
        let mut t = samr_tower();
        t.floors[0].lhs.truncate(10);
        assert!(matches!(answer(&t), Err(EpmError::HostileTower(_))));
        // A floor count far beyond the bytes present.
        let mut bytes = samr_tower().encode();
        bytes[0] = 0xff;
        assert!(Tower::decode(&bytes).is_err());
        // Floor lengths past the end.
        let mut bytes = samr_tower().encode();
        bytes[2] = 0xff;
        assert!(Tower::decode(&bytes).is_err());
        // Zero floors.
        assert!(matches!(Tower::decode(&[0, 0]), Err(EpmError::HostileTower(_))));
        // A huge tower length in the twr_t.
        let mut stub = encode_ept_map_response(&[samr_tower().encode()], 0);
        stub[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        stub[44..48].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode_ept_map_response(&stub, SAMR_SYNTAX),
            Err(EpmError::HostileTower(_))
        ));
        // More towers than we could have asked for.
        let stub = encode_ept_map_response(&vec![samr_tower().encode(); 17], 0);
        assert!(matches!(
            decode_ept_map_response(&stub, SAMR_SYNTAX),
            Err(EpmError::HostileTower(_))
        ));
        // Inconsistent counts.
        let mut stub = encode_ept_map_response(&[samr_tower().encode()], 0);
        stub[20] = 2;
        assert!(decode_ept_map_response(&stub, SAMR_SYNTAX).is_err());
    }

    #[test]
    fn wrong_protocol_towers() {
        // ncacn_np-like: floor 4 is a named pipe (0x0f).
        let mut t = samr_tower();
        t.floors[3] = Floor { lhs: vec![0x0f], rhs: b"\\pipe\\lsass\0".to_vec() };
        assert!(matches!(answer(&t), Err(EpmError::WrongProtocol(_))));
        // Another interface.
        let t = TcpEndpoint { port: 1, ..TcpEndpoint::query(EPM_SYNTAX) }.to_tower();
        assert_eq!(answer(&t), Err(EpmError::WrongProtocol("tower for another interface")));
        // Four floors.
        let mut t = samr_tower();
        t.floors.pop();
        assert!(matches!(answer(&t), Err(EpmError::WrongProtocol(_))));
        // Connectionless RPC (0x0a) at floor 3.
        let mut t = samr_tower();
        t.floors[2].lhs = vec![0x0a];
        assert!(matches!(answer(&t), Err(EpmError::WrongProtocol(_))));
        // A good tower after a bad one is still found.
        let bad = TcpEndpoint { port: 1, ..TcpEndpoint::query(EPM_SYNTAX) }.to_tower();
        let stub = encode_ept_map_response(&[bad.encode(), samr_tower().encode()], 0);
        assert_eq!(decode_ept_map_response(&stub, SAMR_SYNTAX).unwrap().port, 49154);
    }

    proptest::proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = Tower::decode(&bytes);
            let _ = decode_ept_map_response(&bytes, SAMR_SYNTAX);
        }
    }
}

//! A fault-injecting TCP proxy for the integration tests: it listens on 127.0.0.1:0, forwards
//! every connection to a real SMB server, and lets a test script decide, message by message,
//! what happens to the traffic (forward, alter, drop and close, reset, hang).
//!
//! Messages are the SMB2 direct-TCP frames ([MS-SMB2] 2.1: a zero byte and a 24-bit
//! big-endian length, then the SMB2 message or transform). The proxy parses enough of each
//! frame to log it — SMB2 commands, and for IOCTL/WRITE/READ on the SAMR pipe the DCE/RPC
//! packet type and opnum — so a test can target "the frame carrying the opnum-73 request"
//! instead of a fragile message count, and check afterwards what went over the wire.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Which way a frame travels.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Dir {
    /// From samrpc to the server.
    ToServer,
    /// From the server to samrpc.
    ToClient,
}

/// One DCE/RPC packet seen inside an SMB2 IOCTL, WRITE or READ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rpc {
    /// The DCE/RPC PTYPE (0 request, 2 response, 3 fault, 11 bind, 12 bind_ack, …).
    pub ptype: u8,
    /// The opnum of a request.
    pub opnum: Option<u16>,
    /// The first bytes (up to 32) of a request's stub data (after the 24-byte header).
    pub stub_head: Vec<u8>,
}

/// What the proxy saw of one frame.
#[derive(Clone, Debug)]
pub struct Seen {
    /// Direction.
    pub dir: Dir,
    /// 1-based index of the frame in its direction on its connection.
    pub index: usize,
    /// 1-based index of the TCP connection.
    pub conn: usize,
    /// Frame payload length (without the 4-byte frame header).
    pub len: usize,
    /// An SMB3 TRANSFORM (encrypted) frame: nothing else is visible.
    pub encrypted: bool,
    /// SMB2 commands of the (possibly compound) message.
    pub commands: Vec<u16>,
    /// NTSTATUS of each SMB2 message (responses).
    pub statuses: Vec<u32>,
    /// DCE/RPC packets carried.
    pub rpc: Vec<Rpc>,
    /// When the proxy had read the whole frame.
    pub at: std::time::Instant,
}

impl Seen {
    /// The frame carries a DCE/RPC request with `opnum`.
    pub fn has_opnum(&self, opnum: u16) -> bool {
        self.rpc.iter().any(|r| r.ptype == 0 && r.opnum == Some(opnum))
    }
    /// The frame carries a DCE/RPC packet of type `ptype`.
    pub fn has_ptype(&self, ptype: u8) -> bool {
        self.rpc.iter().any(|r| r.ptype == ptype)
    }
    /// The frame's first SMB2 command.
    pub fn command(&self) -> Option<u16> {
        self.commands.first().copied()
    }
}

/// SMB2 command codes ([MS-SMB2] 2.2.1).
pub mod cmd {
    pub const NEGOTIATE: u16 = 0;
    pub const SESSION_SETUP: u16 = 1;
    pub const TREE_CONNECT: u16 = 3;
    pub const CREATE: u16 = 5;
    pub const CLOSE: u16 = 6;
    pub const READ: u16 = 8;
    pub const WRITE: u16 = 9;
    pub const IOCTL: u16 = 11;
}

/// DCE/RPC packet types ([C706] 12.6.4.1).
pub mod ptype {
    pub const REQUEST: u8 = 0;
    pub const RESPONSE: u8 = 2;
    pub const FAULT: u8 = 3;
    pub const BIND: u8 = 11;
    pub const BIND_ACK: u8 = 12;
}

/// What to do with a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Forward it (possibly after the script altered the bytes).
    Forward,
    /// Forward the first `n` bytes of the frame (header included), then close both sides.
    Truncate(usize),
    /// Close both connections gracefully (FIN); `forward` first forwards this frame.
    Close { forward: bool },
    /// Reset the client connection (SO_LINGER 0, then drop: RST) and close the server one;
    /// `forward` first forwards this frame.
    Reset { forward: bool },
    /// Stop forwarding in both directions but keep both connections open (a server that
    /// stopped answering); `forward` first forwards this frame.
    Hang { forward: bool },
}

/// The script: called for every frame with what was seen and the mutable frame payload
/// (without the 4-byte header; the header is recomputed from the payload's length).
pub type Script = Arc<dyn Fn(&Seen, &mut Vec<u8>) -> Action + Send + Sync>;

/// A running proxy; dropping it stops it and closes every connection.
pub struct FaultProxy {
    /// The port to give samrpc (`.with_port(port)`, host 127.0.0.1).
    pub port: u16,
    log: Arc<Mutex<Vec<Seen>>>,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl FaultProxy {
    /// Start a proxy to `target` (e.g. "127.0.0.1:445") running `script`.
    pub async fn start(target: &str, script: Script) -> Self {
        let target: SocketAddr = target.parse().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let log2 = log.clone();
        let listener = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            let mut n = 0;
            loop {
                let Ok((client, _)) = listener.accept().await else { return };
                n += 1;
                let (script, log) = (script.clone(), log2.clone());
                conns.spawn(async move {
                    if let Ok(server) = TcpStream::connect(target).await {
                        relay(n, client, server, script, log).await;
                    }
                });
            }
        });
        Self { port, log, listener }
    }

    /// A proxy that forwards everything unchanged (to watch the wire).
    pub async fn transparent(target: &str) -> Self {
        Self::start(target, Arc::new(|_: &Seen, _: &mut Vec<u8>| Action::Forward)).await
    }

    /// Everything seen so far, in order of arrival at the proxy.
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    /// A one-line-per-frame description of the traffic, for failure messages and logs.
    pub fn describe(&self) -> String {
        self.seen()
            .iter()
            .map(|s| {
                format!(
                    "conn {} {:?} #{} len {} {}cmds {:?} status {:x?} rpc {:?}",
                    s.conn,
                    s.dir,
                    s.index,
                    s.len,
                    if s.encrypted { "ENCRYPTED " } else { "" },
                    s.commands,
                    s.statuses,
                    s.rpc
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Shared per-connection control: 0 running, 1 close, 2 reset, 3 hang.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Ctl {
    Run,
    Close,
    Reset,
    Hang,
}

async fn relay(
    conn: usize,
    client: TcpStream,
    server: TcpStream,
    script: Script,
    log: Arc<Mutex<Vec<Seen>>>,
) {
    let (crd, cwr) = client.into_split();
    let (srd, swr) = server.into_split();
    let (tx, rx) = watch::channel(Ctl::Run);
    let tx = Arc::new(tx);
    let up =
        pump(conn, Dir::ToServer, crd, swr, script.clone(), log.clone(), tx.clone(), rx.clone());
    let down = pump(conn, Dir::ToClient, srd, cwr, script, log, tx.clone(), rx.clone());
    let (a, b) = tokio::join!(up, down);
    // Both halves of each socket are back: apply the final verdict.
    let (crd, swr) = a;
    let (srd, cwr) = b;
    let verdict = *rx.borrow();
    match verdict {
        Ctl::Hang => {
            // Keep everything open until the proxy is dropped (the task is aborted).
            let _keep = (crd, swr, srd, cwr);
            std::future::pending::<()>().await;
        }
        Ctl::Reset => {
            // Dropping an OwnedWriteHalf sends FIN first; reunite the halves so that the
            // close is a plain close, and SO_LINGER 0 turns it into an RST (it never blocks
            // with a zero time, which is what the deprecation is about).
            if let Ok(client) = crd.reunite(cwr) {
                #[allow(deprecated)]
                let _ = client.set_linger(Some(Duration::ZERO));
                drop(client);
            }
            drop((srd, swr));
        }
        Ctl::Close | Ctl::Run => {
            let mut cwr = cwr;
            let mut swr = swr;
            let _ = cwr.shutdown().await;
            let _ = swr.shutdown().await;
            drop((crd, cwr, srd, swr));
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn pump(
    conn: usize,
    dir: Dir,
    mut rd: OwnedReadHalf,
    mut wr: OwnedWriteHalf,
    script: Script,
    log: Arc<Mutex<Vec<Seen>>>,
    tx: Arc<watch::Sender<Ctl>>,
    mut rx: watch::Receiver<Ctl>,
) -> (OwnedReadHalf, OwnedWriteHalf) {
    let mut index = 0;
    loop {
        if *rx.borrow() != Ctl::Run {
            return (rd, wr);
        }
        let frame = tokio::select! {
            f = read_frame(&mut rd) => f,
            _ = rx.changed() => return (rd, wr),
        };
        let Some(mut payload) = frame else {
            // EOF or error from this side: close everything.
            let _ = tx.send(Ctl::Close);
            return (rd, wr);
        };
        index += 1;
        let seen = inspect(conn, dir, index, &payload);
        log.lock().unwrap().push(seen.clone());
        let action = script(&seen, &mut payload);
        let framed = frame_bytes(&payload);
        let (forward, ctl) = match action {
            Action::Forward => (Some(framed.len()), None),
            Action::Truncate(n) => (Some(n.min(framed.len())), Some(Ctl::Close)),
            Action::Close { forward } => (forward.then_some(framed.len()), Some(Ctl::Close)),
            Action::Reset { forward } => (forward.then_some(framed.len()), Some(Ctl::Reset)),
            Action::Hang { forward } => (forward.then_some(framed.len()), Some(Ctl::Hang)),
        };
        if let Some(n) = forward {
            if wr.write_all(&framed[..n]).await.is_err() {
                let _ = tx.send(Ctl::Close);
                return (rd, wr);
            }
            let _ = wr.flush().await;
        }
        if let Some(c) = ctl {
            let _ = tx.send(c);
            return (rd, wr);
        }
    }
}

async fn read_frame(rd: &mut OwnedReadHalf) -> Option<Vec<u8>> {
    let mut hdr = [0u8; 4];
    rd.read_exact(&mut hdr).await.ok()?;
    let len = u32::from_be_bytes(hdr) as usize;
    if len > 16 << 20 {
        return None;
    }
    let mut buf = vec![0u8; len];
    rd.read_exact(&mut buf).await.ok()?;
    Some(buf)
}

fn frame_bytes(payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(payload.len() + 4);
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Offset of the SMB2 header fields used here ([MS-SMB2] 2.2.1.2).
const HDR_LEN: usize = 64;

fn inspect(conn: usize, dir: Dir, index: usize, payload: &[u8]) -> Seen {
    let mut seen = Seen {
        dir,
        index,
        conn,
        len: payload.len(),
        encrypted: payload.starts_with(b"\xfdSMB"),
        commands: Vec::new(),
        statuses: Vec::new(),
        rpc: Vec::new(),
        at: std::time::Instant::now(),
    };
    let mut at = 0usize;
    while let Some(msg) = payload.get(at..) {
        if !msg.starts_with(b"\xfeSMB") || msg.len() < HDR_LEN {
            break;
        }
        let command = u16_at(msg, 12).unwrap_or(0xffff);
        let status = u32_at(msg, 8).unwrap_or(0);
        let next = u32_at(msg, 20).unwrap_or(0) as usize;
        let this = if next == 0 { msg } else { &msg[..next.min(msg.len())] };
        seen.commands.push(command);
        seen.statuses.push(status);
        if let Some(data) = pipe_data(dir, command, this) {
            if data.len() >= 4 && data[0] == 5 {
                let pt = data[2];
                let opnum = if pt == ptype::REQUEST { u16_at(data, 22) } else { None };
                let stub_head = if pt == ptype::REQUEST {
                    data.get(24..).map(|d| d[..d.len().min(32)].to_vec()).unwrap_or_default()
                } else {
                    Vec::new()
                };
                seen.rpc.push(Rpc { ptype: pt, opnum, stub_head });
            }
        }
        if next == 0 {
            break;
        }
        at += next;
    }
    seen
}

/// The pipe bytes carried by an IOCTL, WRITE or READ message, if any.
fn pipe_data(dir: Dir, command: u16, msg: &[u8]) -> Option<&[u8]> {
    let b = HDR_LEN;
    let (off, len) = match (dir, command) {
        // IOCTL request: InputOffset @24, InputCount @28 (2.2.31).
        (Dir::ToServer, cmd::IOCTL) => (u32_at(msg, b + 24)?, u32_at(msg, b + 28)?),
        // IOCTL response: OutputOffset @32, OutputCount @36 (2.2.32).
        (Dir::ToClient, cmd::IOCTL) => (u32_at(msg, b + 32)?, u32_at(msg, b + 36)?),
        // WRITE request: DataOffset (u16) @2, Length @4 (2.2.21).
        (Dir::ToServer, cmd::WRITE) => (u32::from(u16_at(msg, b + 2)?), u32_at(msg, b + 4)?),
        // READ response: DataOffset (u8) @2, DataLength @4 (2.2.20).
        (Dir::ToClient, cmd::READ) => (u32::from(*msg.get(b + 2)?), u32_at(msg, b + 4)?),
        _ => return None,
    };
    msg.get(off as usize..(off as usize).checked_add(len as usize)?)
}

/// The offset, within an unencrypted frame, of the opnum of the first DCE/RPC request carried
/// by an IOCTL (for rewriting it in flight on unsigned sessions).
pub fn request_opnum_offset(payload: &[u8]) -> Option<usize> {
    if u16_at(payload, 12)? != cmd::IOCTL {
        return None;
    }
    let off = u32_at(payload, HDR_LEN + 24)? as usize;
    (payload.get(off + 2) == Some(&ptype::REQUEST)).then_some(off + 22)
}

/// Byte offset of the SMB2 body in an (unencrypted, non-compound) message.
pub const BODY: usize = HDR_LEN;

/// A script from a closure over the frame description that returns an action, with a
/// latch: once `trigger` returned `Some(action)`, later frames are forwarded unchanged.
pub fn once(
    trigger: impl Fn(&Seen, &mut Vec<u8>) -> Option<Action> + Send + Sync + 'static,
) -> Script {
    let fired = Mutex::new(false);
    Arc::new(move |seen: &Seen, payload: &mut Vec<u8>| {
        let mut f = fired.lock().unwrap();
        if *f {
            return Action::Forward;
        }
        match trigger(seen, payload) {
            Some(a) => {
                *f = true;
                a
            }
            None => Action::Forward,
        }
    })
}

/// Kill the connection after `n` client→server bytes (counting frame headers).
pub fn kill_after_client_bytes(n: usize) -> Script {
    let sent = Mutex::new(0usize);
    Arc::new(move |seen: &Seen, _: &mut Vec<u8>| {
        if seen.dir != Dir::ToServer {
            return Action::Forward;
        }
        let mut s = sent.lock().unwrap();
        let before = *s;
        *s += seen.len + 4;
        if before >= n {
            Action::Close { forward: false }
        } else if *s > n {
            Action::Truncate(n - before)
        } else {
            Action::Forward
        }
    })
}

/// Apply `action` when the client sends its `k`-th message (1-based) on the first connection.
pub fn on_client_message(k: usize, action: Action) -> Script {
    once(move |s, _| {
        (s.conn == 1 && s.dir == Dir::ToServer && s.index == k).then(|| action.clone())
    })
}

/// Apply `action` to the first client frame carrying a DCE/RPC request with `opnum`.
pub fn on_client_opnum(opnum: u16, action: Action) -> Script {
    once(move |s, _| (s.dir == Dir::ToServer && s.has_opnum(opnum)).then(|| action.clone()))
}

/// An SMB2 interim response (STATUS_PENDING), which is not the answer yet.
pub fn is_interim(seen: &Seen) -> bool {
    seen.statuses == [0x0000_0103]
}

/// Forward the first client frame matching `pred`, then drop the server's next frame (the
/// answer) and apply `action` (Close or Reset with forward=false, or Hang) instead.
pub fn on_answer_to(
    pred: impl Fn(&Seen) -> bool + Send + Sync + 'static,
    action: Action,
) -> Script {
    // 0 waiting for the request, 1 request forwarded, 2 done
    let state = Mutex::new(0u8);
    Arc::new(move |seen: &Seen, _: &mut Vec<u8>| {
        let mut st = state.lock().unwrap();
        match (*st, seen.dir) {
            (0, Dir::ToServer) if pred(seen) => {
                *st = 1;
                Action::Forward
            }
            (1, Dir::ToClient) if !is_interim(seen) => {
                *st = 2;
                action.clone()
            }
            _ => Action::Forward,
        }
    })
}

/// Forward the first client frame matching `pred`; flip byte `at` (negative: from the end)
/// of the server's answer to it.
pub fn flip_answer_to(pred: impl Fn(&Seen) -> bool + Send + Sync + 'static, at: isize) -> Script {
    let state = Mutex::new(0u8);
    Arc::new(move |seen: &Seen, payload: &mut Vec<u8>| {
        let mut st = state.lock().unwrap();
        match (*st, seen.dir) {
            (0, Dir::ToServer) if pred(seen) => *st = 1,
            (1, Dir::ToClient) if !is_interim(seen) => {
                *st = 2;
                let i = if at < 0 { payload.len() as isize + at } else { at } as usize;
                payload[i] ^= 0x01;
            }
            _ => {}
        }
        Action::Forward
    })
}

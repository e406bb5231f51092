//! Concurrency and cancellation under load (issue 14 item 3): a pool of clients shared by
//! many tasks against the standalone server 127.0.0.2, with an operation cancelled in the
//! middle of every phase. Its own test binary: it counts the process's open file descriptors.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "support/fault_proxy.rs"]
mod fault_proxy;

use common::{admin_password, require_servers};
use samrpc::client::SamrClient;
use samrpc::crypto::encrypt_password_set_aes;
use samrpc::ndr::{ContextHandle, RpcUnicodeString, WString};
use samrpc::rng::OsRandom;
use samrpc::samr::{
    RevisionInfoV1, SamrCloseHandle, SamrConnect5, SamrLookupDomainInSamServer,
    SamrLookupNamesInDomain, SamrOpenDomain, SamrOpenUser, SamrSetInformationUser2, UserInfo,
    access,
};
use samrpc::{ClientConfig, Credentials, Error, ErrorKind, NtStatus, Password};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::timeout;

fn ok(op: &str, status: NtStatus) {
    assert!(status.is_success(), "{op}: {status:?}");
}

fn initial(u: usize) -> String {
    format!("Init-{u}-Pool-0a!")
}

/// One pooled admin connection to a standalone server with its account domain open.
struct Pooled {
    client: SamrClient,
    domain: ContextHandle,
}

impl Pooled {
    /// Connect through the proxy on `port` (127.0.0.1) to `server`.
    async fn connect(server: common::Server, port: u16) -> Result<Self, Error> {
        let admin =
            Credentials::password("Administrator", None, Password::from(admin_password().as_str()));
        let cfg = ClientConfig::default().with_timeout(Duration::from_secs(30)).with_port(port);
        let mut client = SamrClient::connect("127.0.0.1", &admin, &cfg).await?;
        let r = client
            .call(&SamrConnect5 {
                server_name: WString::new("\\\\127.0.0.1").ok(),
                desired_access: access::SAM_SERVER_CONNECT | access::SAM_SERVER_LOOKUP_DOMAIN,
                revision: RevisionInfoV1::CLIENT,
            })
            .await?;
        ok("SamrConnect5", r.status);
        let r = client
            .call(&SamrLookupDomainInSamServer {
                server_handle: r.handle,
                name: RpcUnicodeString::new(server.domain).unwrap(),
            })
            .await
            .map(|d| (r.handle, d))?;
        let (server_handle, d) = r;
        ok("SamrLookupDomainInSamServer", d.status);
        let r = client
            .call(&SamrOpenDomain {
                server_handle,
                desired_access: access::DOMAIN_LOOKUP,
                domain_id: d.domain_id.unwrap(),
            })
            .await?;
        ok("SamrOpenDomain", r.status);
        Ok(Self { client, domain: r.handle })
    }

    async fn rids(&mut self, names: &[String]) -> Result<Vec<u32>, Error> {
        let names = names.iter().map(|n| RpcUnicodeString::new(n).unwrap()).collect();
        let r = self
            .client
            .call(&SamrLookupNamesInDomain { domain_handle: self.domain, names })
            .await?;
        ok("SamrLookupNamesInDomain", r.status);
        Ok(r.relative_ids.as_slice().to_vec())
    }

    async fn reset(&mut self, rid: u32, password: &str) -> Result<NtStatus, Error> {
        let r = self
            .client
            .call(&SamrOpenUser {
                domain_handle: self.domain,
                desired_access: access::USER_FORCE_PASSWORD_CHANGE,
                user_id: rid,
            })
            .await?;
        ok("SamrOpenUser", r.status);
        let key = self.client.application_key().cloned().unwrap();
        let enc = encrypt_password_set_aes(&key, &Password::from(password), &mut OsRandom).unwrap();
        let call = SamrSetInformationUser2 {
            user_handle: r.handle,
            info: UserInfo::Internal7 { password: enc, password_expired: 0 },
        };
        let s = self.client.call_mutating(&call).await?.status;
        let _ = self.client.call(&SamrCloseHandle { handle: r.handle }).await;
        Ok(s)
    }
}

/// The pool: clients are taken, used and given back; a broken one (a call dropped
/// mid-exchange) is replaced by a new connection.
struct Pool {
    server: common::Server,
    port: u16,
    idle: tokio::sync::Mutex<Vec<Pooled>>,
    ready: tokio::sync::Semaphore,
    replaced: std::sync::atomic::AtomicUsize,
}

impl Pool {
    async fn take(&self) -> Pooled {
        self.ready.acquire().await.unwrap().forget();
        self.idle.lock().await.pop().unwrap()
    }

    async fn give_back(&self, mut c: Pooled) {
        if c.client.is_closed() {
            self.replaced.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(c);
            c = Pooled::connect(self.server, self.port).await.unwrap();
        }
        self.idle.lock().await.push(c);
        self.ready.add_permits(1);
    }
}

/// Poll `fut` once (far enough to put a request on the wire), then drop it: a cancellation in
/// the middle of the operation.
async fn cancel_after_first_poll<F: std::future::Future>(fut: F) -> Option<F::Output> {
    tokio::select! {
        biased;
        r = fut => Some(r),
        () = std::future::ready(()) => None,
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn pool_pw(u: usize) -> String {
    format!("Pool-{u}-Reset-Cc3!")
}

/// Issue 14 item 3: 24 tasks share 4 clients to the standalone server through a pool, in
/// three phases (connect, a lookup per user, a reset per user). In each phase one operation
/// is cancelled in the middle (its future dropped after its first poll: the request is on
/// the wire, its answer not read). The cancelled connect leaves nothing behind; a client
/// whose call was dropped reports itself broken and the pool replaces it; every lookup still
/// gets the right RID, every account ends with the password its task set (checked by logging
/// in), and no socket is left open when the pool is dropped.
#[test]
fn a_pool_of_clients_survives_a_cancellation_in_every_phase() {
    use common::S2;
    const N: usize = 24;
    const CLIENTS: usize = 4;
    require_servers();
    let users: Vec<String> = (0..N)
        .map(|u| {
            let n = common::unique_user("pl");
            common::add_user(S2, &n, &initial(u), false);
            n
        })
        .collect();
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let fds_before = open_fds();
    let users = Arc::new(users);
    // Every server answer takes 5 ms more through the proxy: a request is always in flight
    // when its future is dropped after the first poll (on bare loopback Samba can answer
    // before the client even reads).
    let delay: fault_proxy::Script =
        Arc::new(|s: &fault_proxy::Seen, _: &mut Vec<u8>| match s.dir {
            fault_proxy::Dir::ToClient => fault_proxy::Action::Delay(Duration::from_millis(5)),
            fault_proxy::Dir::ToServer => fault_proxy::Action::Forward,
        });
    let proxy = rt.block_on(fault_proxy::FaultProxy::start(&format!("{}:445", S2.ip), delay));
    let port = proxy.port;
    let pool = rt.block_on(async {
        // Phase 1: connect. One connect is cancelled after its first poll.
        let cancelled = cancel_after_first_poll(Pooled::connect(S2, port)).await;
        assert!(cancelled.is_none(), "the connect was cancelled mid-way");
        let mut idle = Vec::new();
        for _ in 0..CLIENTS {
            idle.push(Pooled::connect(S2, port).await.unwrap());
        }
        Arc::new(Pool {
            server: S2,
            port,
            idle: tokio::sync::Mutex::new(idle),
            ready: tokio::sync::Semaphore::new(CLIENTS),
            replaced: std::sync::atomic::AtomicUsize::new(0),
        })
    });
    // The reference RIDs, looked up once.
    let reference: Vec<u32> = rt.block_on(async {
        let mut c = pool.take().await;
        let r = c.rids(&users).await.unwrap();
        pool.give_back(c).await;
        r
    });
    assert_eq!(reference.len(), N);

    // Phase 2: one lookup per user from 24 tasks; task 7's first call is dropped mid-exchange.
    rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for u in 0..N {
            let (pool, users, want) = (pool.clone(), users.clone(), reference[u]);
            tasks.spawn(async move {
                let mut c = pool.take().await;
                if u == 7 {
                    let r = cancel_after_first_poll(c.rids(&users[u..=u])).await;
                    assert!(r.is_none(), "cancelled: {r:?}");
                    assert!(c.client.is_closed(), "a dropped call leaves the client closed");
                    let e = c.rids(&users[u..=u]).await.unwrap_err();
                    assert_eq!(e.kind(), ErrorKind::Closed, "{e}");
                    pool.give_back(c).await;
                    c = pool.take().await;
                }
                let got = c.rids(&users[u..=u]).await.unwrap();
                assert_eq!(got, [want], "{}: the right RID", users[u]);
                pool.give_back(c).await;
            });
        }
        while let Some(r) = timeout(Duration::from_secs(120), tasks.join_next()).await.unwrap() {
            r.unwrap();
        }
    });

    // Phase 3: one reset per user; task 11's reset is dropped mid-exchange (it may or may not
    // have been applied), then made again with the same password on a fresh client.
    rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for (u, &rid) in reference.iter().enumerate() {
            let pool = pool.clone();
            tasks.spawn(async move {
                let mut c = pool.take().await;
                if u == 11 {
                    let r = cancel_after_first_poll(c.reset(rid, &pool_pw(u))).await;
                    assert!(r.is_none(), "cancelled");
                    assert!(c.client.is_closed());
                    pool.give_back(c).await;
                    c = pool.take().await;
                }
                let s = c.reset(rid, &pool_pw(u)).await.unwrap();
                ok("reset", s);
                pool.give_back(c).await;
            });
        }
        while let Some(r) = timeout(Duration::from_secs(120), tasks.join_next()).await.unwrap() {
            r.unwrap();
        }
    });
    let replaced = pool.replaced.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(replaced, 2, "the two clients whose calls were dropped were replaced");

    // No leak: closing the pool leaves the process with the file descriptors it had.
    rt.block_on(async {
        let clients = std::mem::take(&mut *pool.idle.lock().await);
        assert_eq!(clients.len(), CLIENTS);
        for c in clients {
            c.client.close().await;
        }
    });
    drop(pool);
    // The proxy's own sockets go with it.
    rt.block_on(async {
        drop(proxy);
        tokio::time::sleep(Duration::from_millis(200)).await;
    });
    let fds_after = open_fds();
    assert_eq!(fds_after, fds_before, "sockets left open");
    drop(rt);
    for (u, name) in users.iter().enumerate() {
        common::assert_login_ok(S2, name, &pool_pw(u));
    }
}

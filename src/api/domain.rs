//! The typed-layer steps the jobs are made of, for callers who compose their own: open the
//! account domain, look up a RID, open a user, query domain and user information, close
//! handles. Each step is one or a few [`SamrClient::call`]s whose failing status becomes the
//! crate [`Error`] (naming the SAMR call) through [`NtStatus::check`].
//!
//! Handles are closed explicitly ([`close_handle`], [`DomainHandles::close`]): Rust has no
//! async drop, and a close needs a round trip. A handle left open is not a leak that
//! outlives the session: the server frees every handle when the session ends
//! ([`SamrClient::close`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), samrpc::Error> {
//! use samrpc::api::domain::{close_handle, lookup_rid, open_account_domain, open_user, query_user};
//! use samrpc::client::SamrClient;
//! use samrpc::samr::{access, consts, UserInfo};
//! use samrpc::{ClientConfig, Credentials, Password};
//!
//! let admin = Credentials::password("Administrator", None, Password::from("Admin-1!"));
//! let mut client = SamrClient::connect("dc.example.com", &admin, &ClientConfig::default()).await?;
//! let domain = open_account_domain(&mut client, access::DOMAIN_LOOKUP).await?;
//! let rid = lookup_rid(&mut client, &domain, "alice").await?;
//! let user = open_user(&mut client, &domain, rid, access::USER_READ_ACCOUNT).await?;
//! let info = query_user(&mut client, &user, consts::USER_CONTROL_INFORMATION).await;
//! close_handle(&mut client, user).await;
//! domain.close(&mut client).await;
//! if let UserInfo::Control(bits) = info? {
//!     println!("{} ({rid}): account control {bits:#x}", "alice");
//! }
//! client.close().await;
//! # Ok(()) }
//! ```

use crate::client::SamrClient;
use crate::error::{Error, ErrorKind, Operation};
use crate::ndr::{ContextHandle, RpcUnicodeString, WString};
use crate::samr::{
    Call, DomainInfo, RevisionInfoV1, SamrCloseHandle, SamrConnect5,
    SamrEnumerateDomainsInSamServer, SamrLookupDomainInSamServer, SamrLookupNamesInDomain,
    SamrOpenDomain, SamrOpenUser, SamrQueryInformationDomain2, SamrQueryInformationUser2, UserInfo,
    access,
};
use crate::status::NtStatus;

pub(crate) fn unicode(op: Operation, s: &str) -> Result<RpcUnicodeString, Error> {
    RpcUnicodeString::new(s).map_err(|_| {
        Error::new(ErrorKind::InvalidInput, op, "a name is too long for an RPC_UNICODE_STRING")
    })
}

pub(crate) fn refused(op: Operation, status: NtStatus) -> Result<(), Error> {
    status.check(op).map(drop)
}

/// Handles opened on the server's account domain by [`open_account_domain`]: the SAM server
/// handle and the domain handle. Close them with [`DomainHandles::close`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DomainHandles {
    /// The server handle (SamrConnect5).
    pub server: ContextHandle,
    /// The account domain's handle (SamrOpenDomain).
    pub domain: ContextHandle,
    /// The account domain's name (the NetBIOS domain, or the computer name of a standalone
    /// server).
    pub name: String,
}

impl DomainHandles {
    /// Close the domain and server handles (best effort, like [`close_handle`]).
    pub async fn close(self, client: &mut SamrClient) {
        close_domain(client, self).await;
    }
}

/// Close `handle` with SamrCloseHandle, best effort: a failure is ignored, because the server
/// frees the handle with the session anyway.
pub async fn close_handle(client: &mut SamrClient, handle: ContextHandle) {
    let _ = client.call(&SamrCloseHandle { handle }).await;
}

/// SamrConnect5, then the account domain (the server's own domain, not Builtin), opened with
/// `domain_access` (bits of [`access`], e.g. `access::DOMAIN_LOOKUP`): SamrConnect5,
/// SamrEnumerateDomainsInSamServer, SamrLookupDomainInSamServer, SamrOpenDomain.
pub async fn open_account_domain(
    client: &mut SamrClient,
    domain_access: u32,
) -> Result<DomainHandles, Error> {
    let host = client.host().to_owned();
    let op = Operation::Call(SamrConnect5::NAME);
    let connect = SamrConnect5 {
        server_name: WString::new(&format!("\\\\{host}")).ok(),
        desired_access: access::SAM_SERVER_CONNECT
            | access::SAM_SERVER_ENUMERATE_DOMAINS
            | access::SAM_SERVER_LOOKUP_DOMAIN,
        revision: RevisionInfoV1::CLIENT,
    };
    let r = client.call(&connect).await?;
    refused(op, r.status)?;
    let server = r.handle;

    let op = Operation::Call(SamrEnumerateDomainsInSamServer::NAME);
    let r = client
        .call(&SamrEnumerateDomainsInSamServer {
            server_handle: server,
            enumeration_context: 0,
            prefered_maximum_length: 0xFFFF,
        })
        .await?;
    refused(op, r.status)?;
    let name = r
        .buffer
        .as_ref()
        .map(|b| b.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|e| e.name.to_string_lossy())
        .find(|n| !n.eq_ignore_ascii_case("Builtin"))
        .ok_or_else(|| {
            Error::new(ErrorKind::Protocol, op, "the server listed no account domain")
        })?;

    let op = Operation::Call(SamrLookupDomainInSamServer::NAME);
    let r = client
        .call(&SamrLookupDomainInSamServer { server_handle: server, name: unicode(op, &name)? })
        .await?;
    refused(op, r.status)?;
    let sid = r
        .domain_id
        .ok_or_else(|| Error::new(ErrorKind::Protocol, op, "the server returned no domain SID"))?;

    let op = Operation::Call(SamrOpenDomain::NAME);
    let r = client
        .call(&SamrOpenDomain {
            server_handle: server,
            desired_access: domain_access,
            domain_id: sid,
        })
        .await?;
    refused(op, r.status)?;
    Ok(DomainHandles { server, domain: r.handle, name })
}

/// Close both handles of `h` (see [`DomainHandles::close`]).
pub(crate) async fn close_domain(client: &mut SamrClient, h: DomainHandles) {
    close_handle(client, h.domain).await;
    close_handle(client, h.server).await;
}

/// The RID of `user` (a bare account name) in the opened domain (SamrLookupNamesInDomain);
/// an unknown name is an error whose status is STATUS_NONE_MAPPED.
pub async fn lookup_rid(
    client: &mut SamrClient,
    h: &DomainHandles,
    user: &str,
) -> Result<u32, Error> {
    let op = Operation::Call(SamrLookupNamesInDomain::NAME);
    let r = client
        .call(&SamrLookupNamesInDomain { domain_handle: h.domain, names: vec![unicode(op, user)?] })
        .await?;
    if r.status == NtStatus::STATUS_NONE_MAPPED || r.status == NtStatus::STATUS_SOME_NOT_MAPPED {
        return Err(Error::refused(op, r.status).with_hint(format!(
            "There is no account named \"{user}\" in the domain {}. Check the spelling (the bare account name, without DOMAIN\\).",
            h.name
        )));
    }
    refused(op, r.status)?;
    r.relative_ids
        .as_slice()
        .first()
        .copied()
        .ok_or_else(|| Error::new(ErrorKind::Protocol, op, "the server returned no RID"))
}

/// Open the user with relative id `rid` with `desired_access` (bits of [`access`], e.g.
/// `access::USER_READ_ACCOUNT`) (SamrOpenUser). Close the handle with [`close_handle`].
pub async fn open_user(
    client: &mut SamrClient,
    h: &DomainHandles,
    rid: u32,
    desired_access: u32,
) -> Result<ContextHandle, Error> {
    let op = Operation::Call(SamrOpenUser::NAME);
    let r = client
        .call(&SamrOpenUser { domain_handle: h.domain, desired_access, user_id: rid })
        .await?;
    refused(op, r.status)?;
    Ok(r.handle)
}

/// The opened domain's information at `level` (a `DOMAIN_…_INFORMATION` constant of
/// [`crate::samr::consts`]) (SamrQueryInformationDomain2). The domain must have been opened
/// with the access the level needs (e.g. `DOMAIN_READ_PASSWORD_PARAMETERS` for level 1).
pub async fn query_domain(
    client: &mut SamrClient,
    h: &DomainHandles,
    level: u16,
) -> Result<DomainInfo, Error> {
    let op = Operation::Call(SamrQueryInformationDomain2::NAME);
    let r = client.call(&SamrQueryInformationDomain2 { domain_handle: h.domain, level }).await?;
    refused(op, r.status)?;
    r.info.ok_or_else(|| {
        Error::new(ErrorKind::Protocol, op, "the server returned no domain information")
    })
}

/// The opened user's information at `level` (a `USER_…_INFORMATION` constant of
/// [`crate::samr::consts`]) (SamrQueryInformationUser2). The user must have been opened with
/// the access the level needs.
pub async fn query_user(
    client: &mut SamrClient,
    user: &ContextHandle,
    level: u16,
) -> Result<UserInfo, Error> {
    let op = Operation::Call(SamrQueryInformationUser2::NAME);
    let r = client.call(&SamrQueryInformationUser2 { user_handle: *user, level }).await?;
    refused(op, r.status)?;
    r.info.ok_or_else(|| {
        Error::new(ErrorKind::Protocol, op, "the server returned no user information")
    })
}

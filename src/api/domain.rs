//! The typed-layer steps the jobs share: open the account domain, look up a RID, open a
//! user, query domain information, turn a status into an error.

use crate::client::SamrClient;
use crate::error::{Error, ErrorKind, Operation};
use crate::ndr::{ContextHandle, RpcUnicodeString, WString};
use crate::samr::{
    Call, DomainInfo, RevisionInfoV1, SamrCloseHandle, SamrConnect5,
    SamrEnumerateDomainsInSamServer, SamrLookupDomainInSamServer, SamrLookupNamesInDomain,
    SamrOpenDomain, SamrOpenUser, SamrQueryInformationDomain2, access,
};
use crate::status::NtStatus;

pub(crate) fn unicode(op: Operation, s: &str) -> Result<RpcUnicodeString, Error> {
    RpcUnicodeString::new(s).map_err(|_| {
        Error::new(ErrorKind::InvalidInput, op, "a name is too long for an RPC_UNICODE_STRING")
    })
}

pub(crate) fn refused(op: Operation, status: NtStatus) -> Result<(), Error> {
    if status.is_error() { Err(Error::refused(op, status)) } else { Ok(()) }
}

/// Handles opened on the server's account domain.
pub(crate) struct DomainHandles {
    pub(crate) server: ContextHandle,
    pub(crate) domain: ContextHandle,
    pub(crate) name: String,
}

pub(crate) async fn close_handle(client: &mut SamrClient, handle: ContextHandle) {
    let _ = client.call(&SamrCloseHandle { handle }).await;
}

/// SamrConnect5, then the account domain (the server's own domain, not Builtin), opened with
/// `domain_access`.
pub(crate) async fn open_account_domain(
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

pub(crate) async fn close_domain(client: &mut SamrClient, h: DomainHandles) {
    close_handle(client, h.domain).await;
    close_handle(client, h.server).await;
}

/// The RID of `user` in the opened domain.
pub(crate) async fn lookup_rid(
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

pub(crate) async fn open_user(
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

pub(crate) async fn query_domain(
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

//! Synchronous calls for code that does not run tokio, like `reqwest::blocking`.
//!
//! Each function and each [`Client`] owns a current-thread tokio runtime with I/O and timers
//! enabled and runs the async jobs on it, so the caller needs no runtime at all (and gets the
//! same errors, timeouts and cancellation rules as the async API). Called from inside a tokio
//! runtime, where blocking the thread would stall other tasks, they return an error instead of
//! panicking: use the async API there (or call from `tokio::task::spawn_blocking`).
//!
//! ```no_run
//! use samrpc::api::{AccountKind, ChangePassword};
//! use samrpc::{ClientConfig, Credentials, Password};
//!
//! fn main() -> Result<(), samrpc::Error> {
//!     // One job, one connection:
//!     let outcome = samrpc::blocking::change_password(ChangePassword::new(
//!         "dc.example.com",
//!         "alice",
//!         Password::from("Old-Pass-1!"),
//!         Password::from("New-Pass-2!"),
//!     ))?;
//!     println!("changed with {}", outcome.method.name());
//!
//!     // Several jobs over one session:
//!     let admin = Credentials::password("Administrator", None, Password::from("Admin-1!"));
//!     let mut client =
//!         samrpc::blocking::Client::connect("dc.example.com", &admin, &ClientConfig::default())?;
//!     let policy = client.password_policy(Some("alice"))?;
//!     println!("minimum length {}", policy.policy.min_length);
//!     for user in client.list_users(AccountKind::Normal)? {
//!         println!("{} ({})", user.name, user.rid);
//!     }
//!     client.close();
//!     Ok(())
//! }
//! ```
//!
//! A blocking call cannot be cancelled from outside; bound it with
//! [`ClientConfig::operation_timeout`] (whose error says whether a password change may have
//! happened) besides the per-step timeouts.

use crate::api::{
    AccountKind, ChangePassword, DoctorReport, DoctorRequest, ListUsersRequest, Outcome,
    PolicyReport, PolicyRequest, ResetPassword, UserEntry, UserState,
};
use crate::client::SamrClient;
use crate::config::{ClientConfig, Credentials};
use crate::error::{Error, ErrorKind, Operation};
use crate::samr::Call;
use crate::session::SessionSummary;

/// A current-thread runtime with I/O and timers, or an error saying why there is none.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            Operation::Input,
            "samrpc::blocking was called from inside a tokio runtime",
        )
        .with_hint(
            "Use the async API (samrpc::api, SamrClient) there, or call the blocking one from \
             tokio::task::spawn_blocking.",
        ));
    }
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| {
        Error::new(
            ErrorKind::Network,
            Operation::Connect,
            format!("cannot start the tokio runtime for the blocking call: {e}"),
        )
    })
}

/// [`crate::api::change_password`], blocking the calling thread.
pub fn change_password(req: ChangePassword) -> Result<Outcome, Error> {
    runtime()?.block_on(crate::api::change_password(req))
}

/// [`crate::api::reset_password`], blocking the calling thread.
pub fn reset_password(req: ResetPassword) -> Result<Outcome, Error> {
    runtime()?.block_on(crate::api::reset_password(req))
}

/// [`crate::api::password_policy`], blocking the calling thread.
pub fn password_policy(req: PolicyRequest) -> Result<PolicyReport, Error> {
    runtime()?.block_on(crate::api::password_policy(req))
}

/// [`crate::api::list_users`], blocking the calling thread.
pub fn list_users(req: ListUsersRequest) -> Result<Vec<UserEntry>, Error> {
    runtime()?.block_on(crate::api::list_users(req))
}

/// [`crate::api::doctor`], blocking the calling thread. The error is only for a runtime that
/// cannot be used (called from inside a tokio runtime, or it cannot start); every finding of
/// the diagnosis itself is in the report.
pub fn doctor(req: DoctorRequest) -> Result<DoctorReport, Error> {
    Ok(runtime()?.block_on(crate::api::doctor(req)))
}

/// A connected [`SamrClient`] with its own current-thread runtime: several blocking jobs over
/// one session. Dropping it drops the connection; [`Client::close`] also logs off politely.
#[derive(Debug)]
pub struct Client {
    // Field order matters: the client (and its socket) drops before its runtime.
    inner: SamrClient,
    runtime: tokio::runtime::Runtime,
}

impl Client {
    /// [`SamrClient::connect`], blocking the calling thread.
    pub fn connect(
        host: &str,
        credentials: &Credentials,
        config: &ClientConfig,
    ) -> Result<Self, Error> {
        let runtime = runtime()?;
        let inner = runtime.block_on(SamrClient::connect(host, credentials, config))?;
        Ok(Self { inner, runtime })
    }

    /// [`SamrClient::change_password`]: change a password over this session.
    pub fn change_password(&mut self, req: &ChangePassword) -> Result<Outcome, Error> {
        self.runtime.block_on(self.inner.change_password(req))
    }

    /// [`SamrClient::reset_password`]: reset a password over this (administrator's) session.
    pub fn reset_password(&mut self, req: &ResetPassword) -> Result<Outcome, Error> {
        self.runtime.block_on(self.inner.reset_password(req))
    }

    /// [`SamrClient::password_policy`]: the domain policy and optionally a user's state.
    pub fn password_policy(&mut self, user: Option<&str>) -> Result<PolicyReport, Error> {
        self.runtime.block_on(self.inner.password_policy(user))
    }

    /// [`SamrClient::user_state`]: one user's password state.
    pub fn user_state(&mut self, user: &str) -> Result<UserState, Error> {
        self.runtime.block_on(self.inner.user_state(user))
    }

    /// [`SamrClient::list_users`]: the accounts of `kind` in the account domain.
    pub fn list_users(&mut self, kind: AccountKind) -> Result<Vec<UserEntry>, Error> {
        self.runtime.block_on(self.inner.list_users(kind))
    }

    /// [`SamrClient::call`]: one typed SAMR call.
    pub fn call<C: Call>(&mut self, request: &C) -> Result<C::Response, Error> {
        self.runtime.block_on(self.inner.call(request))
    }

    /// What the session negotiated.
    pub fn session(&self) -> &SessionSummary {
        self.inner.session()
    }

    /// [`SamrClient::is_closed`].
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// The async client inside, for anything this wrapper does not offer (run it with
    /// [`Client::block_on`]).
    pub fn get_mut(&mut self) -> &mut SamrClient {
        &mut self.inner
    }

    /// Run a future on this client's runtime, blocking the calling thread.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// [`SamrClient::close`]: close the pipe, tree and session, then the runtime.
    pub fn close(self) {
        let Self { inner, runtime } = self;
        runtime.block_on(inner.close());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Password;

    #[tokio::test]
    async fn inside_a_runtime_blocking_calls_return_an_error_instead_of_panicking() {
        let req = ChangePassword::new("h", "alice", Password::from("a"), Password::from("b"));
        let e = change_password(req).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("inside a tokio runtime"), "{e}");
        let e =
            Client::connect("h", &Credentials::Anonymous, &ClientConfig::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn without_a_runtime_a_blocking_call_runs_its_own() {
        // Nothing listens on this port: the job must fail with a network error from inside
        // its own runtime (not panic for want of one).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let req = ListUsersRequest::new("127.0.0.1", Credentials::Anonymous)
            .with_config(ClientConfig::default().with_port(port));
        let e = list_users(req).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Network, "{e}");
        assert_eq!(e.operation(), Operation::Connect);
    }
}

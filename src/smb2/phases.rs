//! Typed phases over the [`Connection`] engine ([MS-SMB2] 3.2.4, 3.2.5): each phase offers only
//! the requests that are legal in it, and a transition consumes the previous phase.
//!
//! `start` → [`Negotiating`] → [`Authenticating`] (one SESSION_SETUP leg per
//! [`Authenticating::request`] / [`Authenticating::response`]) → [`Accepted`] (the server said
//! STATUS_SUCCESS; the authenticator still has to hand over the session key) →
//! [`Established`] (tree connect, pipe I/O, teardown).
//!
//! Every phase implements [`Receive`] so one I/O loop can serve them all.

use super::connection::{OutgoingCompound, PipeData, Received, Response, SetupStep};
use super::create::FileId;
use super::tree_connect::TreeConnectResponse;
use super::{Connection, ConnectionConfig, Outgoing, Result, SessionInfo};
use crate::rng::SecureRandom;
use crate::secret::SessionKey;

/// What every phase can do with received bytes.
pub trait Receive {
    /// Check one received message (see [`Connection::receive`]).
    fn receive(&mut self, msg: &[u8]) -> Result<Received>;
    /// The largest message accepted from the server now.
    fn max_frame_len(&self) -> usize;
}

impl Receive for Connection {
    fn receive(&mut self, msg: &[u8]) -> Result<Received> {
        Connection::receive(self, msg)
    }
    fn max_frame_len(&self) -> usize {
        Connection::max_frame_len(self)
    }
}

macro_rules! phase {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug)]
        pub struct $name(Connection);

        impl Receive for $name {
            fn receive(&mut self, msg: &[u8]) -> Result<Received> {
                self.0.receive(msg)
            }
            fn max_frame_len(&self) -> usize {
                self.0.max_frame_len()
            }
        }
    };
}

phase!(
    /// The NEGOTIATE request is out; waiting for its response.
    Negotiating
);
phase!(
    /// Negotiated; SESSION_SETUP legs carry the authenticator's tokens.
    Authenticating
);
phase!(
    /// The server accepted the logon; the session key is still to be applied.
    Accepted
);
phase!(
    /// Session established: tree connect, VALIDATE_NEGOTIATE_INFO, pipe I/O, teardown.
    Established
);

/// Create the connection and its NEGOTIATE request.
pub fn start(cfg: ConnectionConfig, rng: &mut dyn SecureRandom) -> Result<(Negotiating, Outgoing)> {
    let mut c = Connection::new(cfg, rng)?;
    let out = c.negotiate_request()?;
    Ok((Negotiating(c), out))
}

impl Negotiating {
    /// Apply the NEGOTIATE response; returns the server's security token hint.
    pub fn negotiated(mut self, resp: &Response) -> Result<(Authenticating, Vec<u8>)> {
        let hint = self.0.handle_negotiate(resp)?;
        Ok((Authenticating(self.0), hint))
    }
}

/// The outcome of one SESSION_SETUP leg.
#[derive(Debug)]
pub enum SetupProgress {
    /// STATUS_MORE_PROCESSING_REQUIRED: feed the token to the authenticator, send its answer.
    More(Authenticating, Vec<u8>),
    /// STATUS_SUCCESS: feed the last token to the authenticator, then [`Accepted::complete`].
    Accepted(Accepted, Vec<u8>),
}

impl Authenticating {
    /// A SESSION_SETUP request carrying `token`.
    pub fn request(&mut self, token: &[u8]) -> Result<Outgoing> {
        self.0.session_setup_request(token)
    }

    /// Apply a SESSION_SETUP response.
    pub fn response(mut self, resp: &Response) -> Result<SetupProgress> {
        Ok(match self.0.handle_session_setup(resp)? {
            SetupStep::More { token } => SetupProgress::More(self, token),
            SetupStep::Success { token } => SetupProgress::Accepted(Accepted(self.0), token),
        })
    }
}

impl Accepted {
    /// Apply the session key (`None` for anonymous): derive keys, verify the final response's
    /// signature, decide signing and encryption.
    pub fn complete(mut self, session_key: Option<SessionKey>) -> Result<Established> {
        self.0.complete_session(session_key)?;
        Ok(Established(self.0))
    }
}

impl Established {
    /// See [`Connection::reauth_request`].
    pub fn reauth_request(&mut self, token: &[u8]) -> Result<Outgoing> {
        self.0.reauth_request(token)
    }
    /// See [`Connection::handle_reauth`].
    pub fn handle_reauth(&mut self, resp: &Response) -> Result<SetupStep> {
        self.0.handle_reauth(resp)
    }
    /// What was negotiated and how the session is protected.
    pub fn info(&self) -> Option<SessionInfo> {
        self.0.info()
    }
    /// The ApplicationKey (`None` for anonymous sessions).
    pub fn application_key(&self) -> Option<&SessionKey> {
        self.0.application_key()
    }
    /// Credits currently available.
    pub fn credits(&self) -> u64 {
        self.0.credits()
    }
    /// See [`Connection::tree_connect_request`].
    pub fn tree_connect_request(&mut self, server: &str) -> Result<Outgoing> {
        self.0.tree_connect_request(server)
    }
    /// See [`Connection::handle_tree_connect`].
    pub fn handle_tree_connect(&mut self, resp: &Response) -> Result<TreeConnectResponse> {
        self.0.handle_tree_connect(resp)
    }
    /// See [`Connection::needs_validate_negotiate`].
    pub fn needs_validate_negotiate(&self) -> bool {
        self.0.needs_validate_negotiate()
    }
    /// See [`Connection::validate_negotiate_request`].
    pub fn validate_negotiate_request(&mut self) -> Result<Outgoing> {
        self.0.validate_negotiate_request()
    }
    /// See [`Connection::handle_validate_negotiate`].
    pub fn handle_validate_negotiate(&mut self, resp: &Response) -> Result<()> {
        self.0.handle_validate_negotiate(resp)
    }
    /// See [`Connection::create_pipe_request`].
    pub fn create_pipe_request(&mut self, name: &str) -> Result<Outgoing> {
        self.0.create_pipe_request(name)
    }
    /// See [`Connection::handle_create`].
    pub fn handle_create(&mut self, resp: &Response) -> Result<FileId> {
        self.0.handle_create(resp)
    }
    /// See [`Connection::transceive_request`].
    pub fn transceive_request(&mut self, file_id: FileId, pdu: &[u8]) -> Result<Outgoing> {
        self.0.transceive_request(file_id, pdu)
    }
    /// See [`Connection::handle_transceive`].
    pub fn handle_transceive(&mut self, resp: &Response) -> Result<PipeData> {
        self.0.handle_transceive(resp)
    }
    /// See [`Connection::read_request`].
    pub fn read_request(&mut self, file_id: FileId) -> Result<Outgoing> {
        self.0.read_request(file_id)
    }
    /// See [`Connection::handle_read`].
    pub fn handle_read(&mut self, resp: &Response) -> Result<PipeData> {
        self.0.handle_read(resp)
    }
    /// See [`Connection::max_write`].
    pub fn max_write(&self) -> usize {
        self.0.max_write()
    }
    /// See [`Connection::write_request`].
    pub fn write_request(&mut self, file_id: FileId, data: &[u8]) -> Result<Outgoing> {
        self.0.write_request(file_id, data)
    }
    /// See [`Connection::handle_write`].
    pub fn handle_write(&mut self, resp: &Response) -> Result<u32> {
        self.0.handle_write(resp)
    }
    /// See [`Connection::close_request`].
    pub fn close_request(&mut self, file_id: FileId) -> Result<Outgoing> {
        self.0.close_request(file_id)
    }
    /// See [`Connection::handle_close`].
    pub fn handle_close(&mut self, resp: &Response) -> Result<()> {
        self.0.handle_close(resp)
    }
    /// See [`Connection::tree_disconnect_request`].
    pub fn tree_disconnect_request(&mut self) -> Result<Outgoing> {
        self.0.tree_disconnect_request()
    }
    /// See [`Connection::handle_tree_disconnect`].
    pub fn handle_tree_disconnect(&mut self, resp: &Response) -> Result<()> {
        self.0.handle_tree_disconnect(resp)
    }
    /// See [`Connection::validate_negotiate_pending`].
    pub fn validate_negotiate_pending(&self) -> bool {
        self.0.validate_negotiate_pending()
    }
    /// See [`Connection::open_pipe_compound`].
    pub fn open_pipe_compound(
        &mut self,
        server: Option<&str>,
        pipe: &str,
        pdu: &[u8],
    ) -> Result<OutgoingCompound> {
        self.0.open_pipe_compound(server, pipe, pdu)
    }
    /// See [`Connection::teardown_compound`].
    pub fn teardown_compound(&mut self, file_id: FileId) -> Result<OutgoingCompound> {
        self.0.teardown_compound(file_id)
    }
    /// See [`Connection::receive_chain`].
    pub fn receive_chain(&mut self, msg: &[u8]) -> Result<Vec<Received>> {
        self.0.receive_chain(msg)
    }
    /// See [`Connection::logoff_request`].
    pub fn logoff_request(&mut self) -> Result<Outgoing> {
        self.0.logoff_request()
    }
    /// See [`Connection::handle_logoff`].
    pub fn handle_logoff(&mut self, resp: &Response) -> Result<()> {
        self.0.handle_logoff(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::FixedRandom;

    #[test]
    fn phases_start_with_a_negotiate_request() {
        let (n, out) =
            start(ConnectionConfig::default(), &mut FixedRandom::new(vec![1, 2, 3])).unwrap();
        assert_eq!(out.message_id, 0);
        assert_eq!(out.command, super::super::Command::NEGOTIATE);
        assert!(format!("{n:?}").contains("Negotiating"));
    }
}

//! The gate every RPC passes before its handler runs: who is calling (bearer token, the
//! anonymous admin when authentication is off, or the public caller of a public RPC), whether their role may call this RPC
//! at all (the table in [`crate::auth::permits`]), and whether they are within their
//! share of concurrent requests. County scoping, which depends on the data, is applied by
//! the handlers and the write path.
//!
//! Public RPCs that read the store ([`Rpc::is_public`]: VerifyCertificate, CheckCredential)
//! pass [`Gate::admit_public`]
//! instead: no token is asked for or read, and the limit is per source address (see
//! `address_limit`), since there is no principal to count against.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use tokio_stream::Stream;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::api::address_limit::{AddressLimiter, RateLimit, DEFAULT_MAX_ADDRESSES};
use crate::api::principal_rate::{default_rates, PrincipalRates, RoleRate};
use crate::api::refusals::{is_revealing, RefusalLimiter, DEFAULT_REFUSAL_LIMIT};

use crate::api::audit::Auditor;
use crate::auth::{permits, AuthError, Authenticator, Principal, Role, Rpc};
use crate::domain::audit::AuditKind;
use crate::domain::DomainError;

/// Requests one principal may have in progress at once, by default.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

/// Admits callers.
pub struct Gate {
    /// `None`: authentication is off and every caller is the anonymous admin.
    authenticator: Option<Authenticator>,
    max_in_flight: usize,
    in_flight: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Public RPCs, per source address.
    public: AddressLimiter,
    /// Refusals (NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED) per principal.
    refusals: RefusalLimiter,
    /// Requests and rows per second per principal, by role.
    rates: PrincipalRates,
    /// Records refusal limits tripped (and, for the handlers, duplicates revealed).
    auditor: Option<Auditor>,
    /// The principals held back by the refusal limit, so each trip is audited once.
    tripped: Mutex<std::collections::HashSet<String>>,
}

/// An admitted caller; holds one of its principal's request slots until dropped.
pub(crate) struct Caller {
    pub(crate) principal: Principal,
    _slot: OwnedSemaphorePermit,
}

impl Gate {
    /// A gate that checks bearer tokens against `authenticator`, or lets everyone in as
    /// the anonymous admin when it is `None`.
    pub fn new(authenticator: Option<Authenticator>, max_in_flight: usize) -> Gate {
        Gate {
            authenticator,
            max_in_flight: max_in_flight.max(1),
            in_flight: Mutex::new(HashMap::new()),
            public: AddressLimiter::new(
                RateLimit::default(),
                DEFAULT_MAX_ADDRESSES,
                Instant::now(),
            ),
            refusals: RefusalLimiter::new(DEFAULT_REFUSAL_LIMIT),
            rates: PrincipalRates::new(default_rates()),
            auditor: None,
            tripped: Mutex::default(),
        }
    }

    /// Records the read audit with `auditor` (see `api::audit`).
    pub(crate) fn with_auditor(mut self, auditor: Auditor) -> Gate {
        self.auditor = Some(auditor);
        self
    }

    /// Records an audit entry without waiting for it (see [`Auditor::note`]).
    pub(crate) fn note(&self, principal: &str, kind: AuditKind, rpc: Rpc, subject: String) {
        if let Some(auditor) = &self.auditor {
            auditor.note(principal, kind, rpc, subject);
        }
    }

    /// Notes whether `principal` is held back by its refusal limit; the first refusal of
    /// each spell is audited.
    fn held_back(&self, principal: &Principal, rpc: Rpc, held: bool) {
        let mut tripped = self.tripped.lock().expect("gate lock");
        match held {
            true => {
                if tripped.insert(principal.name.clone()) {
                    drop(tripped);
                    self.note(&principal.name, AuditKind::RefusalLimit, rpc, String::new());
                }
            }
            false => {
                if !tripped.is_empty() {
                    tripped.remove(&principal.name);
                }
            }
        }
    }

    /// Sets the requests and rows per second of each role (see `api::principal_rate`).
    pub fn with_rates(
        mut self,
        rates: std::collections::HashMap<crate::auth::Role, RoleRate>,
    ) -> Gate {
        self.rates = PrincipalRates::new(rates);
        self
    }

    /// Reserves a page of up to `rows` for `principal` against its role's rate of rows:
    /// RESOURCE_EXHAUSTED, with RetryInfo, while it is in debt.
    pub(crate) fn reserve_rows(&self, principal: &Principal, rows: usize) -> Result<(), Status> {
        self.rates
            .reserve_rows(&principal.name, principal.role, rows, Instant::now())
            .map_err(|wait| over_rate(principal, wait))
    }

    /// Takes `rows` from `principal` for an answer that has no pages (its size known only
    /// once read), into debt if need be: its next requests wait until the debt is paid.
    /// Such a read first calls [`Gate::reserve_rows`] with 0, which refuses a principal
    /// in debt before anything is read.
    pub(crate) fn take_rows(&self, principal: &Principal, rows: usize) {
        self.rates
            .charge_rows(&principal.name, principal.role, rows, Instant::now());
    }

    /// Gives back the `rows` of a reservation that a page did not fill.
    pub(crate) fn refund_rows(&self, principal: &Principal, rows: usize) {
        self.rates
            .refund_rows(&principal.name, principal.role, rows, Instant::now());
    }

    /// Sets the limit on each principal's refusals (see `api::refusals`).
    pub fn with_refusal_limit(mut self, limit: RateLimit) -> Gate {
        self.refusals = RefusalLimiter::new(limit);
        self
    }

    /// Counts an answer to `principal`'s call of `rpc` against its refusal limit, if it
    /// was a refusal that tells about the data. Admins, who may see everything, and the
    /// callers of public RPCs, limited per address instead, are not counted.
    pub(crate) fn judge(&self, principal: &Principal, rpc: Rpc, code: Code) {
        if is_revealing(code) && principal.role != Role::Admin && !rpc.is_public() {
            self.refusals.record(&principal.name, Instant::now());
        }
    }

    /// RESOURCE_EXHAUSTED, with RetryInfo, while `principal` has no refusal left (see
    /// `api::refusals`; admins and public RPCs are not limited); the first of each spell
    /// is audited. Checked as each call is admitted, and by an import before each row.
    pub(crate) fn check_refusals(&self, principal: &Principal, rpc: Rpc) -> Result<(), Status> {
        if principal.role == Role::Admin || rpc.is_public() {
            return Ok(());
        }
        let checked = self.refusals.check(&principal.name, Instant::now());
        self.held_back(principal, rpc, checked.is_err());
        checked.map_err(|wait| {
            let retry = std::time::Duration::from_secs(wait.as_secs_f64().ceil() as u64);
            Status::with_error_details(
                Code::ResourceExhausted,
                format!(
                    "{} has been refused too often; retry in {} s",
                    principal.name,
                    retry.as_secs()
                ),
                ErrorDetails::with_retry_info(Some(retry)),
            )
        })
    }

    /// Sets the limit on public RPCs per source address.
    pub fn with_public_limit(mut self, limit: RateLimit) -> Gate {
        self.public = AddressLimiter::new(limit, DEFAULT_MAX_ADDRESSES, Instant::now());
        self
    }

    /// Admits a caller of a public RPC from `peer` without asking who they are: any
    /// token sent is ignored. RESOURCE_EXHAUSTED, with RetryInfo saying when to come
    /// back, past the address's limit.
    pub(crate) fn admit_public(&self, rpc: Rpc, peer: Option<SocketAddr>) -> Result<(), Status> {
        debug_assert!(rpc.is_public(), "{rpc:?} is not public");
        self.public
            .check(peer.map(|p| p.ip()), Instant::now())
            .map_err(|wait| {
                // Whole seconds, rounded up, so a client that waits that long gets in.
                let retry = std::time::Duration::from_secs(wait.as_secs_f64().ceil() as u64);
                Status::with_error_details(
                    Code::ResourceExhausted,
                    format!(
                        "too many {rpc:?} requests from this address; retry in {} s",
                        retry.as_secs()
                    ),
                    ErrorDetails::with_retry_info(Some(retry)),
                )
            })
    }

    /// Who `metadata`'s bearer token names (the anonymous admin when authentication is
    /// off), without admitting them to any RPC: the console signs a person in with it.
    pub(crate) fn authenticate(&self, metadata: &MetadataMap) -> Result<Principal, Status> {
        self.authenticate_on(metadata, None)
    }

    /// As [`Gate::authenticate`], on a connection that presented the client certificate
    /// `client_cert` (SHA-256 of its DER), which a pinned principal must match.
    fn authenticate_on(
        &self,
        metadata: &MetadataMap,
        client_cert: Option<&[u8; 32]>,
    ) -> Result<Principal, Status> {
        match &self.authenticator {
            None => Ok(Principal::anonymous()),
            Some(authenticator) => {
                let header = match metadata.get("authorization") {
                    None => None,
                    Some(value) => Some(value.to_str().map_err(|_| AuthError::Malformed)?),
                };
                Ok(authenticator.authenticate_on(header, client_cert)?)
            }
        }
    }

    /// Admits a caller of `rpc` whose request carries `metadata`, on a connection that
    /// presented `client_cert` (see [`client_certificate`]).
    pub(crate) fn admit(
        &self,
        rpc: Rpc,
        metadata: &MetadataMap,
        client_cert: Option<&[u8; 32]>,
    ) -> Result<Caller, Status> {
        let principal = match rpc.is_public() {
            // Whatever token comes with it is not looked at: a public RPC answers the same
            // to everyone, and an employer has none.
            true => Principal::public(),
            false => self.authenticate_on(metadata, client_cert)?,
        };
        if !permits(principal.role, rpc) {
            return Err(DomainError::PermissionDenied {
                // The RPC by its gRPC method name, the role as the auth file spells it.
                message: format!("the {} role may not call {rpc:?}", principal.role),
            }
            .into());
        }
        self.check_refusals(&principal, rpc)?;
        if !rpc.is_public() {
            self.rates
                .admit(&principal.name, principal.role, Instant::now())
                .map_err(|wait| over_rate(&principal, wait))?;
        }
        let slots = self
            .in_flight
            .lock()
            .expect("gate lock")
            .entry(principal.name.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(self.max_in_flight)))
            .clone();
        let slot = slots.try_acquire_owned().map_err(|_| {
            Status::resource_exhausted(format!(
                "{} already has {} requests in progress; retry later",
                principal.name, self.max_in_flight
            ))
        })?;
        Ok(Caller {
            principal,
            _slot: slot,
        })
    }
}

/// The SHA-256 of the client certificate (DER) the request's connection presented over
/// mutual TLS, if it presented one.
pub(crate) fn client_certificate<T>(request: &tonic::Request<T>) -> Option<[u8; 32]> {
    use sha2::Digest;
    let certs = request.peer_certs()?;
    let first = certs.first()?;
    Some(sha2::Sha256::digest(first.as_ref()).into())
}

/// RESOURCE_EXHAUSTED for a principal over its role's rate, with RetryInfo.
fn over_rate(principal: &Principal, wait: std::time::Duration) -> Status {
    let retry = std::time::Duration::from_millis(wait.as_millis() as u64 + 1);
    Status::with_error_details(
        Code::ResourceExhausted,
        format!(
            "{} is over its role's rate of requests or rows; retry in {} ms",
            principal.name,
            retry.as_millis()
        ),
        ErrorDetails::with_retry_info(Some(retry)),
    )
}

impl Caller {
    /// Keeps the caller's request slot for as long as `stream` is open, so long-lived
    /// streams (watches, imports, transitions) count against the principal's limit.
    pub(crate) fn hold<S>(self, stream: S) -> Held<S> {
        Held {
            stream,
            _slot: self._slot,
        }
    }
}

/// A response stream that holds its caller's request slot until it ends or is dropped.
pub struct Held<S> {
    stream: S,
    _slot: OwnedSemaphorePermit,
}

impl<S: Stream + Unpin> Stream for Held<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        Pin::new(&mut self.stream).poll_next(cx)
    }
}

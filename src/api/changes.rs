//! Handlers of the change feed: ListChanges (pages) and WatchChanges (a live stream).
//!
//! Both read the change log on disk. A watcher replays from the log, then waits for the
//! writer to announce a newer committed revision and reads again, so it can never miss or
//! repeat a change across the switch from backlog to live, it never holds up a writer,
//! and a slow one holds no more than one page in memory. Every page, the catch-up's too, is
//! one read on the blocking pool (see `reads`), in the watcher's own task.

use std::time::{Duration, Instant};

use futures::FutureExt;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::api::change_convert::change_message;
use crate::api::pb;
use crate::api::pb::watch_changes_response::Event;
use crate::api::reads::ReadPool;
use crate::api::service::{parse_page_size, scoped_county, RegistryService, Violations};
use crate::auth::{Principal, Role};
use crate::domain::{CountyCode, DomainError, FieldViolation};

const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: usize = 1000;
/// Changes a watcher reads from the log at a time.
const WATCH_PAGE: usize = 256;
/// Messages buffered for a slow watcher before it stops reading the log.
const WATCH_BUFFER: usize = 64;

pub(super) type WatchStream = ReceiverStream<Result<pb::WatchChangesResponse, Status>>;

impl RegistryService {
    pub(super) async fn changes(
        &self,
        principal: &Principal,
        request: pb::ListChangesRequest,
    ) -> Result<pb::ListChangesResponse, Status> {
        let pb::ListChangesRequest {
            after_revision,
            page_size,
            county_code,
            principal: author,
        } = request;
        let mut violations = Violations::default();
        let page_size = violations
            .take(parse_page_size(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE))
            .unwrap_or(0);
        let county = violations.take(parse_county(&county_code));
        let county = violations.finish(|| county)?;
        let county = scoped_county(principal, county)?;
        let author = Some(author.trim()).filter(|a| !a.is_empty());
        if author.is_some() && principal.role != Role::Admin {
            return Err(DomainError::PermissionDenied {
                message: "only admins may list changes by principal".into(),
            }
            .into());
        }
        let author = author.map(str::to_string);
        let read_county = county.clone();
        self.gate.reserve_rows(principal, page_size)?;
        let page = self
            .reads
            .read(move |store| {
                store.list_changes(
                    after_revision,
                    page_size,
                    read_county.as_ref(),
                    author.as_deref(),
                )
            })
            .await?;
        self.gate
            .refund_rows(principal, page_size.saturating_sub(page.changes.len()));
        Ok(pb::ListChangesResponse {
            changes: page
                .changes
                .into_iter()
                .map(|entry| change_message(entry, county.as_ref(), principal))
                .collect(),
            next_revision: page.next_revision,
        })
    }

    pub(super) async fn watch(
        &self,
        principal: &Principal,
        request: pb::WatchChangesRequest,
    ) -> Result<WatchStream, Status> {
        let pb::WatchChangesRequest {
            after_revision,
            county_code,
        } = request;
        let county = parse_county(&county_code).map_err(DomainError::from)?;
        let county = scoped_county(principal, county)?;
        // Refuse a revision the log no longer has before the stream starts.
        let read_county = county.clone();
        self.reads
            .read(move |store| store.list_changes(after_revision, 1, read_county.as_ref(), None))
            .await?;
        let (sender, receiver) = mpsc::channel(WATCH_BUFFER);
        let watcher = Watcher {
            committed: self.store.subscribe(),
            reads: self.reads.clone(),
            county,
            next: after_revision,
            sender,
            progress_interval: self.progress_interval,
            principal: principal.clone(),
            shutdown: self.shutdown.clone(),
            _counted: self.metrics.watcher(),
        };
        tokio::spawn(watcher.run());
        Ok(ReceiverStream::new(receiver))
    }
}

fn parse_county(raw: &str) -> Result<Option<CountyCode>, FieldViolation> {
    match raw.trim() {
        "" => Ok(None),
        code => CountyCode::parse(code)
            .map(Some)
            .map_err(|e| FieldViolation::new("county_code", e)),
    }
}

/// One WatchChanges stream.
struct Watcher {
    _counted: crate::metrics::WatcherGuard,
    /// The revision of the last change on disk, as the writer announces it.
    committed: watch::Receiver<u64>,
    reads: ReadPool,
    county: Option<CountyCode>,
    /// The revision after which the next change is read.
    next: u64,
    sender: mpsc::Sender<Result<pb::WatchChangesResponse, Status>>,
    progress_interval: Duration,
    principal: Principal,
    shutdown: watch::Receiver<bool>,
}

impl Watcher {
    async fn run(mut self) {
        let mut last_sent = Instant::now();
        loop {
            let (next, county) = (self.next, self.county.clone());
            let page = match self
                .reads
                .read(move |store| store.list_changes(next, WATCH_PAGE, county.as_ref(), None))
                .await
            {
                Ok(page) => page,
                Err(status) => {
                    let _ = self.sender.send(Err(status)).await;
                    return;
                }
            };
            let full = page.changes.len() == WATCH_PAGE;
            for entry in page.changes {
                let change = change_message(entry, self.county.as_ref(), &self.principal);
                if !self.send(Event::Change(change)).await {
                    return;
                }
                last_sent = Instant::now();
            }
            self.next = page.next_revision;
            if full {
                continue;
            }
            if last_sent.elapsed() >= self.progress_interval {
                let progress = pb::WatchProgress {
                    revision: self.next,
                };
                if !self.send(Event::Progress(progress)).await {
                    return;
                }
                last_sent = Instant::now();
            }
            let quiet = self.progress_interval.saturating_sub(last_sent.elapsed());
            let next = self.next;
            let newer = self
                .committed
                .wait_for(|revision| *revision > next)
                .map(|r| r.is_ok());
            let stopping = self.shutdown.wait_for(|stop| *stop).map(|_| ());
            tokio::select! {
                open = newer => {
                    if !open {
                        return; // the store is closing
                    }
                }
                _ = tokio::time::sleep(quiet) => {}
                _ = stopping => {
                    let _ = self
                        .sender
                        .send(Err(Status::unavailable(
                            "the registry is shutting down; resume from your last revision",
                        )))
                        .await;
                    return;
                }
            }
        }
    }

    /// Sends one message; false when the client has gone.
    async fn send(&self, event: Event) -> bool {
        let message = pb::WatchChangesResponse { event: Some(event) };
        self.sender.send(Ok(message)).await.is_ok()
    }
}

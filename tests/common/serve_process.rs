//! The `teacher-registry serve` binary as a child process, for tests that run several
//! servers on one PostgreSQL database or kill one with SIGKILL.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use teacher_registry::api::pb;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
use teacher_registry::api::pb::watch_changes_response::Event;

use super::Client;

/// A free port on 127.0.0.1 (free when asked; the server binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `serve --postgres` process, killed when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    /// Starts the binary on the database `url` and waits (bounded) until it answers.
    pub async fn start(url: &str) -> (Server, Client) {
        Self::start_with(url, &[]).await
    }

    /// [`Server::start`], with more arguments for `serve`.
    pub async fn start_with(url: &str, more: &[&str]) -> (Server, Client) {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_teacher-registry"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--postgres", url])
            .args(more)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the server");
        let mut server = Server { child, port };
        for _ in 0..400 {
            if let Ok(mut client) = server.client().await {
                if client
                    .list_teachers(pb::ListTeachersRequest::default())
                    .await
                    .is_ok()
                {
                    return (server, client);
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        server.kill();
        panic!("the server did not come up");
    }

    /// A new client of this server.
    pub async fn client(&self) -> Result<Client, tonic::transport::Error> {
        TeacherRegistryServiceClient::connect(format!("http://127.0.0.1:{}", self.port)).await
    }

    /// Kills the server with SIGKILL and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Watches `server`'s feed from the start, as a mirror would: when the stream breaks it
/// asks again from the last revision it holds. Every revision seen goes into `seen`.
pub async fn watch_forever(server_port: u16, seen: Arc<Mutex<Vec<u64>>>) {
    loop {
        let after = seen.lock().unwrap().last().copied().unwrap_or(0);
        let address = format!("http://127.0.0.1:{server_port}");
        let Ok(mut client) =
            pb::teacher_registry_service_client::TeacherRegistryServiceClient::connect(address)
                .await
        else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let request = pb::WatchChangesRequest {
            after_revision: after,
            county_code: String::new(),
        };
        let Ok(stream) = client.watch_changes(request).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let mut stream = stream.into_inner();
        while let Ok(Some(message)) = stream.message().await {
            if let Some(Event::Change(change)) = message.event {
                seen.lock().unwrap().push(change.revision);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

//! A relay between the servers and PostgreSQL that holds every chunk of bytes for a fixed
//! time each way (`cluster --db-delay-us N`): the database as if on another machine.
//!
//! On this one machine a round trip to the database takes some tens of microseconds, so
//! what the writers' lock costs per round trip held under it does not show; across a
//! network each is a few hundred. The relay adds that time without a kernel queueing
//! discipline (which needs a module this machine may not have) and without limiting the
//! rate: each direction has a thread that reads and stamps chunks and one that writes each
//! once its time has come, so chunks overlap in flight as packets do.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `url` (a `postgres://…@127.0.0.1:PORT/…` URL) through a relay that delays each way by
/// `delay`: the same URL with the relay's port.
pub(super) fn through(url: &str, delay: Duration) -> anyhow::Result<String> {
    let (head, rest) = url
        .split_once("@127.0.0.1:")
        .ok_or_else(|| anyhow::anyhow!("not a local PostgreSQL URL: {url}"))?;
    let (port, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let target = format!("127.0.0.1:{port}");
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let relay = listener.local_addr()?.port();
    std::thread::Builder::new()
        .name("db-relay".into())
        .spawn(move || {
            for client in listener.incoming().flatten() {
                if let Ok(server) = TcpStream::connect(&target) {
                    pipe(&client, &server, delay);
                    pipe(&server, &client, delay);
                }
            }
        })?;
    Ok(format!("{head}@127.0.0.1:{relay}{tail}"))
}

/// Copies what `from` sends to `to`, each chunk `delay` after it arrived.
fn pipe(from: &TcpStream, to: &TcpStream, delay: Duration) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    let _ = to.set_nodelay(true);
    let (chunks, arrived) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if chunks
                        .send((Instant::now() + delay, buffer[..n].to_vec()))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || {
        for (due, chunk) in arrived {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

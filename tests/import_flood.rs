//! Regression: a client that streams import rows each in its own small HTTP/2 DATA frame
//! (as grpcio does) while the server applies backpressure used to be disconnected with
//! GOAWAY ENHANCE_YOUR_CALM "too_many_data_frames" after about 1,100 rows: hyper's 1 MiB
//! flow-control windows let it queue thousands of tiny frames, beyond h2's budget for them.
//! The server's windows are now small enough that such a client is simply held back.

mod common;

use bytes::{Buf, Bytes};
use common::*;
use prost::Message;
use teacher_registry::api::pb;

const ROWS: u32 = 5000;

fn grpc_frame(message: &impl Message) -> Bytes {
    let body = message.encode_to_vec();
    let mut frame = Vec::with_capacity(5 + body.len());
    frame.push(0);
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    Bytes::from(frame)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tiny_frames_are_held_back_not_dropped() {
    let server = start_server().await;
    let tcp = tokio::net::TcpStream::connect(server.address)
        .await
        .unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("connection ended: {e:?}");
        }
    });
    let mut client = client.ready().await.unwrap();
    let request = http::Request::builder()
        .method("POST")
        .uri(format!(
            "http://{}/teacher_registry.v1.TeacherRegistryService/ImportTeachers",
            server.address
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    let (response, mut sending) = client.send_request(request, false).unwrap();

    // Send every row in its own DATA frame without reading any answer yet.
    let sender = tokio::spawn(async move {
        for n in 0..ROWS {
            let row = pb::ImportTeachersRequest {
                teacher: Some(teacher(n, "350702")),
                mode: pb::ImportMode::Upsert as i32,
            };
            let frame = grpc_frame(&row);
            sending.reserve_capacity(frame.len());
            loop {
                match futures::future::poll_fn(|cx| sending.poll_capacity(cx)).await {
                    Some(Ok(capacity)) if capacity >= frame.len() => break,
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(e),
                    None => return Ok(()),
                }
            }
            sending.send_data(frame, false)?;
        }
        sending.send_data(Bytes::new(), true)
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let response = response.await.expect("the server answers");
    let (_, mut body) = response.into_parts();
    let mut buffer = Vec::new();
    let mut answered = 0u32;
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("no GOAWAY, no reset");
        let _ = body.flow_control().release_capacity(chunk.len());
        buffer.extend_from_slice(chunk.chunk());
        while buffer.len() >= 5 {
            let len = u32::from_be_bytes(buffer[1..5].try_into().unwrap()) as usize;
            if buffer.len() < 5 + len {
                break;
            }
            let result = pb::ImportTeachersResponse::decode(&buffer[5..5 + len]).unwrap();
            assert_eq!(result.outcome(), pb::ImportOutcome::Created, "{result:?}");
            answered += 1;
            buffer.drain(..5 + len);
        }
    }
    let trailers = body.trailers().await.unwrap().unwrap();
    assert_eq!(trailers.get("grpc-status").unwrap(), "0");
    sender.await.unwrap().unwrap();
    assert_eq!(answered, ROWS);
}

//! Transfers between counties with two sides (#22 item 5), through a real server with
//! county principals: the releasing county proposes, the receiving county declines or
//! accepts; until then the teacher stays and both counties see the pending transfer; on
//! acceptance both counties' feeds, and their `sync` mirrors, show the move. A county can
//! no longer move a teacher out by itself; an admin still can.

mod common;

use common::*;
use teacher_registry::api::pb;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
use teacher_registry::auth::{add_principal, Role};
use teacher_registry::cli::{run_sync, SyncArgs};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::Code;

const A: &str = "350702";
const B: &str = "350721";
const C: &str = "350722";

type AuthClient = TeacherRegistryServiceClient<InterceptedService<Channel, Token>>;

async fn as_token(server: &TestServer, token: &str) -> AuthClient {
    TeacherRegistryServiceClient::new(server.channel_as(token).await)
}

/// Moves the teacher to `county` directly, by an update of its county (not a transfer).
fn move_to(teacher_id: &str, county: &str) -> pb::UpdateTeacherRequest {
    pb::UpdateTeacherRequest {
        teacher: Some(pb::Teacher {
            teacher_id: teacher_id.into(),
            county_code: county.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["county_code".into()],
        }),
        request_id: String::new(),
    }
}

struct Counties {
    server: TestServer,
    admin_token: String,
    admin: AuthClient,
    a: AuthClient,
    b: AuthClient,
    c: AuthClient,
}

async fn counties(dir: &std::path::Path) -> Counties {
    let path = dir.join("auth.toml");
    let admin_token = add_principal(&path, "root", Role::Admin, None).unwrap();
    let a = add_principal(&path, "yanping", Role::County, Some(A)).unwrap();
    let b = add_principal(&path, "shunchang", Role::County, Some(B)).unwrap();
    let c = add_principal(&path, "pucheng", Role::County, Some(C)).unwrap();
    let server = start_server_with_auth(&path).await;
    Counties {
        admin: as_token(&server, &admin_token).await,
        a: as_token(&server, &a).await,
        b: as_token(&server, &b).await,
        c: as_token(&server, &c).await,
        admin_token,
        server,
    }
}

fn propose(teacher_id: &str, to: &str, request_id: &str) -> pb::ProposeTransferRequest {
    pb::ProposeTransferRequest {
        teacher_id: teacher_id.into(),
        to_county_code: to.into(),
        reason: "夫妻两地分居，工作调动".into(),
        etag: String::new(),
        request_id: request_id.into(),
    }
}

fn decline(teacher_id: &str) -> pb::DeclineTransferRequest {
    pb::DeclineTransferRequest {
        teacher_id: teacher_id.into(),
        etag: String::new(),
        request_id: String::new(),
    }
}

fn accept(teacher_id: &str, etag: &str, request_id: &str) -> pb::AcceptTransferRequest {
    pb::AcceptTransferRequest {
        teacher_id: teacher_id.into(),
        school: "顺昌县第一中学".into(),
        etag: etag.into(),
        request_id: request_id.into(),
    }
}

async fn transfers(client: &mut AuthClient, county: &str) -> pb::ListTransfersResponse {
    client
        .list_transfers(pb::ListTransfersRequest {
            county_code: county.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn feed(client: &mut AuthClient, county: &str) -> Vec<pb::Change> {
    client
        .list_changes(pb::ListChangesRequest {
            after_revision: 0,
            page_size: 1000,
            county_code: county.into(),
            principal: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .changes
}

fn ids(teachers: &[pb::Teacher]) -> Vec<&str> {
    teachers.iter().map(|t| t.teacher_id.as_str()).collect()
}

#[tokio::test]
async fn a_transfer_is_proposed_declined_proposed_again_and_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let Counties {
        server,
        admin_token,
        mut admin,
        mut a,
        mut b,
        mut c,
    } = counties(dir.path()).await;
    let teacher = create(&mut a, teacher(1, A)).await;
    let id = teacher.teacher_id.clone();

    // A county may no longer move its teacher out by itself.
    let moved = a.update_teacher(move_to(&id, B)).await.unwrap_err();
    assert_eq!(moved.code(), Code::PermissionDenied);
    assert!(
        moved.message().contains("ProposeTransfer"),
        "{}",
        moved.message()
    );

    // Proposed: the teacher stays in A, and both counties see the transfer.
    let proposed = a
        .propose_transfer(propose(&id, B, "transfer-1"))
        .await
        .unwrap_teacher();
    assert_eq!(proposed.county_code, A);
    let pending = proposed.pending_transfer.as_ref().unwrap();
    assert_eq!(pending.to_county_code, B);
    assert_eq!(pending.proposed_by, "yanping");
    assert_eq!(ids(&transfers(&mut a, A).await.outgoing), [id.as_str()]);
    let incoming = transfers(&mut b, "").await;
    assert_eq!(ids(&incoming.incoming), [id.as_str()]);
    assert!(incoming.outgoing.is_empty());
    // A second proposal waits for the first to be answered.
    let twice = a.propose_transfer(propose(&id, C, "")).await.unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition);
    // The releasing county does not answer its own proposal; a third county cannot see it.
    let own = a.accept_transfer(accept(&id, "", "")).await.unwrap_err();
    assert_eq!(own.code(), Code::PermissionDenied, "{own:?}");
    let stranger = c.accept_transfer(accept(&id, "", "")).await.unwrap_err();
    assert_eq!(stranger.code(), Code::NotFound, "{stranger:?}");
    let nosy = c
        .list_transfers(pb::ListTransfersRequest {
            county_code: B.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(nosy.code(), Code::PermissionDenied);

    // Declined: nothing moved, no transfer pending.
    let declined = b.decline_transfer(decline(&id)).await.unwrap_teacher();
    assert_eq!(declined.county_code, A);
    assert_eq!(declined.pending_transfer, None);
    assert!(transfers(&mut b, B).await.incoming.is_empty());
    let again = b.decline_transfer(decline(&id)).await.unwrap_err();
    assert_eq!(again.code(), Code::NotFound, "{again:?}");

    // Proposed again, and accepted with the etag read, under a request id.
    let proposed = a
        .propose_transfer(propose(&id, B, "transfer-2"))
        .await
        .unwrap_teacher();
    let stale = b
        .accept_transfer(accept(&id, &declined.etag, ""))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let accepted = b
        .accept_transfer(accept(&id, &proposed.etag, "accept-1"))
        .await
        .unwrap_teacher();
    assert_eq!(accepted.county_code, B);
    assert_eq!(accepted.school, "顺昌县第一中学");
    assert_eq!(accepted.pending_transfer, None);
    // A retry gets the first answer and changes nothing.
    let retried = b
        .accept_transfer(accept(&id, &proposed.etag, "accept-1"))
        .await
        .unwrap_teacher();
    assert_eq!(retried, accepted);
    // Now B's teacher, not A's.
    let gone = a
        .get_teacher(pb::GetTeacherRequest {
            teacher_id: id.clone(),
            revision: None,
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    assert!(transfers(&mut a, A).await.outgoing.is_empty());

    // A's feed: created, proposed, declined, proposed, then moved out (without the
    // teacher). B's feed: only the arrival, with the teacher in B.
    let kinds = |changes: &[pb::Change]| -> Vec<pb::ChangeKind> {
        changes
            .iter()
            .filter(|c| c.teacher_id == id)
            .map(|c| c.kind())
            .collect()
    };
    let a_feed = feed(&mut a, A).await;
    assert_eq!(
        kinds(&a_feed),
        [
            pb::ChangeKind::Created,
            pb::ChangeKind::TransferProposed,
            pb::ChangeKind::TransferDeclined,
            pb::ChangeKind::TransferProposed,
            pb::ChangeKind::MovedOut,
        ]
    );
    assert_eq!(a_feed.last().unwrap().teacher, None);
    let b_feed = feed(&mut b, B).await;
    assert_eq!(kinds(&b_feed), [pb::ChangeKind::TransferAccepted]);
    assert_eq!(b_feed[0].teacher.as_ref(), Some(&accepted));

    // The counties' mirrors: the teacher leaves A's and arrives in B's.
    std::env::set_var("TEACHER_REGISTRY_TOKEN", &admin_token);
    let mirrored = |county: &str| {
        let mirror = dir.path().join(format!("{county}.jsonl"));
        let args = SyncArgs {
            server: format!("http://{}", server.address),
            county: county.into(),
            mirror: mirror.clone(),
            follow: false,
        };
        async move {
            run_sync(&args, &mut Vec::new()).await.unwrap();
            std::fs::read_to_string(&mirror).unwrap()
        }
    };
    assert!(!mirrored(A).await.contains(&id));
    assert!(mirrored(B).await.contains(&id));

    // The history shows each step; an admin still moves a teacher directly.
    let history = admin
        .list_teacher_revisions(pb::ListTeacherRevisionsRequest {
            teacher_id: id.clone(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let steps: Vec<i32> = history.revisions.iter().map(|r| r.kind).collect();
    assert_eq!(steps.len(), 5, "{steps:?}");
    assert_eq!(steps[0], pb::ChangeKind::TransferAccepted as i32);
    assert!(history.revisions[0]
        .differences
        .iter()
        .any(|d| d.field == "countyCode" && d.new_value == format!("\"{B}\"")));
    // B proposes sending the teacher back to A; the admin moves them to C instead, which
    // ends the pending transfer on both sides.
    b.propose_transfer(propose(&id, A, "transfer-3"))
        .await
        .unwrap();
    assert_eq!(ids(&transfers(&mut a, A).await.incoming), [id.as_str()]);
    let direct = admin.update_teacher(move_to(&id, C)).await.unwrap_teacher();
    assert_eq!(direct.county_code, C);
    assert_eq!(direct.pending_transfer, None);
    assert!(transfers(&mut a, A).await.incoming.is_empty());
    assert!(transfers(&mut b, B).await.outgoing.is_empty());
    assert_eq!(
        c.get_teacher(pb::GetTeacherRequest {
            teacher_id: id.clone(),
            revision: None,
        })
        .await
        .unwrap()
        .into_inner()
        .teacher,
        Some(direct)
    );
}

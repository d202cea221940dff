//! A round's page lists its applications a page at a time (ListTitleApplications with a
//! page size and token), over a real socket: 52 applications are 50 on the first page,
//! in number order, with a link to the next page and none back; the next page holds the
//! last two and links back to the first; a token that is not the service's is refused as
//! the service refuses it.

mod common;
mod console_support;

use chrono::Duration;
use common::Answered;
use console_support::*;

/// The application numbers a page lists, in its order.
fn listed(body: &str) -> Vec<String> {
    body.split("data-application=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

/// The `href` of the link with this id, unescaped.
fn link(body: &str, id: &str) -> Option<String> {
    let at = body.find(&format!("id=\"{id}\""))?;
    let rest = &body[at..];
    let href = &rest[rest.find("href=\"")? + 6..];
    Some(unescape(&href[..href.find('"')?]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_of_many_applications_is_listed_page_by_page() {
    let dir = tempfile::tempdir().unwrap();
    let fx = start(dir.path(), |_| {}).await;
    let (mut registry, mut rounds) = clients(&fx).await;
    let today = common::today_cst();
    let round = common::create_round(&mut rounds, common::new_round(today)).await;
    let mut ids = Vec::new();
    for n in 0..52 {
        let teacher = eligible(&mut registry, 100 + n, &format!("林{n}")).await;
        let application = rounds
            .apply_for_title(common::application_request(
                &round,
                &teacher,
                today - Duration::days(30),
            ))
            .await
            .unwrap_application();
        ids.push(application.application_id);
    }
    ids.sort();

    let mut http = fx.signed_in(&fx.tokens.admin).await;
    let path = format!("/rounds/{}", round.round_id);
    let first = http.get(&path).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(listed(&first.body), ids[..50], "the first fifty, by number");
    assert!(
        first.body.contains("(52)"),
        "the round's count, not the page's"
    );
    assert!(link(&first.body, "applications-previous").is_none());
    let next = link(&first.body, "applications-next").expect("a link to the next page");
    assert!(next.starts_with(&format!("{path}?pages=")), "{next}");

    let second = http.get(&next).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(listed(&second.body), ids[50..], "the last two");
    assert!(link(&second.body, "applications-next").is_none());
    let back = link(&second.body, "applications-previous").expect("a link back");
    let again = http.get(&back).await;
    assert_eq!(listed(&again.body), ids[..50]);

    // A token the service did not give is refused as ListTitleApplications refuses it.
    let forged = http.get(&format!("{path}?pages=not-a-token")).await;
    assert_eq!(forged.status, 422, "{}", forged.body);
    assert!(forged.body.contains("page_token"), "{}", forged.body);
}

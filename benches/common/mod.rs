//! What the benches share: their command line of `--flag N` pairs, the machine's load, the
//! requests that make a teacher eligible for a FIRST_LEVEL round, and the roster of
//! teachers (`roster`).
#![allow(dead_code, unreachable_pub)]

pub mod roster;
// Shared with the tests, which send the same title requests.
#[path = "../../tests/common/title_requests.rs"]
mod title_requests;

// The bound on the channel under a client, as the tests' helpers put it.
#[path = "../../tests/common/transport.rs"]
mod transport;

// Not every bench sends these; they are part of `common` all the same.
#[allow(unused_imports)]
pub use title_requests::{first_level_round, second_level_since_2015};
#[allow(unused_imports)]
pub use transport::Transport;

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context as _;
use chrono::{Days, NaiveDate};
use teacher_registry::api::pb;
use teacher_registry::api::pb::evaluation_service_client::EvaluationServiceClient;
use teacher_registry::api::pb::teacher_registry_service_client::TeacherRegistryServiceClient;
use teacher_registry::domain::resident_check_character;
use teacher_registry::server::{self, ServerOptions};
use teacher_registry::store::Store;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The numbers given on the command line as `--flag N` for each of `flags`, in their order
/// (None for a flag not given). cargo bench's own `--bench` is passed over; any other
/// argument is an error.
pub fn number_flags<T, const N: usize>(flags: [&str; N]) -> anyhow::Result<[Option<T>; N]>
where
    T: std::str::FromStr + Copy,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let mut values = [None; N];
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        if flag == "--bench" {
            continue;
        }
        let Some(at) = flags.iter().position(|known| *known == flag) else {
            anyhow::bail!("unknown argument {flag}");
        };
        let value = given
            .next()
            .with_context(|| format!("{flag} needs a value"))?
            .parse()
            .with_context(|| format!("{flag} takes a number"))?;
        values[at] = Some(value);
    }
    Ok(values)
}

/// The server in this process, on a free loopback port.
pub struct Serving {
    pub address: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Serving {
    /// Starts the server on `store` with `options`, in `runtime`.
    pub fn start(
        runtime: &Runtime,
        store: Store,
        options: ServerOptions,
    ) -> anyhow::Result<Serving> {
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let address = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = runtime.spawn(server::run(listener, store, options, async move {
            let _ = stopped.await;
        }));
        Ok(Serving {
            address,
            stop,
            task,
        })
    }

    /// Stops the server and waits until it has.
    pub fn stop(self, runtime: &Runtime) {
        let _ = self.stop.send(());
        let _ = runtime.block_on(self.task);
    }
}

/// Today in China Standard Time, the registry's day.
pub fn today() -> NaiveDate {
    let cst = chrono::FixedOffset::east_opt(8 * 3600).expect("CST");
    chrono::Utc::now().with_timezone(&cst).date_naive()
}

/// The line a bench's report opens with: the CPUs and the one-minute load as it starts,
/// to read its figures against.
pub fn machine_at_start() -> String {
    format!(
        "machine   nproc {}, load average {} at start",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    )
}

/// The one-minute load average ("?" where /proc/loadavg cannot be read).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|line| line.split(' ').next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Creates `teacher` with a primary-school certificate numbered `number`, registered a
/// year before `today`, and SECOND_LEVEL since 2015: eligible for a FIRST_LEVEL round. Its
/// registry number.
pub async fn create_eligible<T: Transport>(
    registry: &mut TeacherRegistryServiceClient<T>,
    teacher: pb::Teacher,
    number: String,
    today: NaiveDate,
) -> anyhow::Result<String> {
    let created = registry
        .create_teacher(pb::CreateTeacherRequest {
            teacher: Some(teacher),
            ..Default::default()
        })
        .await?
        .into_inner()
        .teacher
        .context("a created teacher")?;
    let id = created.teacher_id;
    let registered_on = today - Days::new(365);
    registry
        .issue_certificate(certificate_registered_on(&id, number, registered_on))
        .await?;
    registry.change_title(second_level_since_2015(&id)).await?;
    Ok(id)
}

/// Sends the application `request`; the application's id.
pub async fn apply<T: Transport>(
    rounds: &mut EvaluationServiceClient<T>,
    request: pb::ApplyForTitleRequest,
) -> anyhow::Result<String> {
    let application = rounds
        .apply_for_title(request)
        .await?
        .into_inner()
        .application
        .context("an application")?;
    Ok(application.application_id)
}

/// Teacher `serial` of `county`, born in 1980 (a day later every thousand), an active
/// teacher with a resident identity card number of `area`.
pub fn applicant(serial: u64, area: &str, county: &str) -> pb::Teacher {
    let birth = NaiveDate::from_ymd_opt(1980, 1, 1).expect("a date") + Days::new(serial / 1000);
    let first17 = format!("{area}{}{:03}", birth.format("%Y%m%d"), serial % 1000);
    pb::Teacher {
        id_document_type: pb::IdDocumentType::ResidentIdCard as i32,
        national_id: format!("{first17}{}", resident_check_character(first17.as_bytes())),
        name: format!("申报人{serial}"),
        gender: pb::Gender::Female as i32,
        birth_date: birth.to_string(),
        county_code: county.into(),
        school: format!("第{}中学", serial % 7 + 1),
        employment_status: pb::EmploymentStatus::Active as i32,
        ..Default::default()
    }
}

/// Issues the teacher a primary-school certificate numbered `number`, first registered on
/// `registered_on`.
pub fn certificate_registered_on(
    teacher_id: &str,
    number: String,
    registered_on: NaiveDate,
) -> pb::IssueCertificateRequest {
    pb::IssueCertificateRequest {
        teacher_id: teacher_id.into(),
        certificate: Some(pb::Certificate {
            certificate_number: number,
            kind: pb::CertificateKind::PrimarySchool as i32,
            subject: "语文".into(),
            issuing_authority: "南平市延平区教育局".into(),
            certified_on: "2016-07-01".into(),
            ..Default::default()
        }),
        first_registration_on: registered_on.to_string(),
        ..Default::default()
    }
}

/// The store's tree in sled (`store::sled_engine`).
const REGISTRY_TREE: &str = "registry";

/// Keys and bytes (key + value) by a key's first byte.
pub type Prefixes = std::collections::BTreeMap<u8, (u64, u64)>;

/// The keys and bytes under each prefix of the registry tree of the sled data directory
/// `dir`, which no store may hold open.
pub fn keys_by_prefix(dir: &Path) -> anyhow::Result<Prefixes> {
    let db = sled::Config::new().path(dir).open()?;
    let tree = db.open_tree(REGISTRY_TREE)?;
    let mut prefixes = Prefixes::new();
    for pair in tree.iter() {
        let (key, value) = pair?;
        let entry = prefixes
            .entry(key.first().copied().unwrap_or(0))
            .or_default();
        entry.0 += 1;
        entry.1 += (key.len() + value.len()) as u64;
    }
    Ok(prefixes)
}

/// The command line `[N [IN_FLIGHT]]` of the store benches: `N` of `what` (default
/// `count`), `IN_FLIGHT` writes at a time (default 256); cargo bench's `--bench` is passed
/// over.
pub fn count_and_in_flight(count: u64, what: &str) -> anyhow::Result<(u64, usize)> {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let count: u64 = match args.next() {
        Some(n) => n
            .parse()
            .with_context(|| format!("N: a number of {what}"))?,
        None => count,
    };
    let in_flight: usize = match args.next() {
        Some(n) => n.parse().context("IN_FLIGHT: a number")?,
        None => 256,
    };
    Ok((count, in_flight))
}

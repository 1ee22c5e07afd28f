//! `veche --demo`: the server on demo data of its own, seeded through the
//! real HTTP API, so a newcomer sees every feature at once.
//!
//! **Where.** SQLite in `<data-dir>/demo` (its keys live there too), or the
//! PostgreSQL database of `--database-url` with its keys in
//! `<data-dir>/demo`. A database is demo data when its `log_meta` holds
//! [`DEMO_KEY`]; [`SEEDED_KEY`] is added when seeding finished. A start that
//! finds both reuses the data; one that finds only the first (an interrupted
//! seeding) starts again from an empty directory (PostgreSQL: asks for a
//! fresh database); one that finds data without the mark refuses, so demo
//! data never mixes with real data.
//!
//! **How.** The server starts as usual; the seeding then speaks HTTP to it
//! like any client: staff and citizens register software passkeys
//! (`veche-passkey`'s `software-authenticator`), every signature is a
//! WebAuthn assertion over the signed action, every step goes through the
//! same handlers, sequencer and rules as real use. [`STEPS`] lists the
//! steps, one per feature; a new feature (polls, PB rounds) adds one.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use veche_entry::Date;
use veche_passkey::Algorithm;
use veche_passkey::software::SoftwareAuthenticator;
use veche_store::Store;

use crate::config::{ServeArgs, StorageArgs};

/// `log_meta` key marking a database as demo data.
pub const DEMO_KEY: &str = "demo";
/// `log_meta` key set once the seeding finished (its value: when).
pub const SEEDED_KEY: &str = "demo_seeded";
/// The demo log's origin unless `--origin` names another: `.invalid` is a
/// reserved name, so it can never be taken for a real service's log.
pub const DEMO_ORIGIN: &str = "veche-demo.invalid/log";
/// How many signatures the near-threshold petition lacks.
pub const SHORT_BY: u64 = 3;
/// Printed first on the line that says the demo is ready (tests wait for it).
pub const READY: &str = "Demo ready at ";

const DAY_MS: u64 = 86_400_000;
/// Environment variables holding a real installation's secrets: a demo must
/// not sign or hash with them.
const REAL_SECRETS: &[&str] = &[
    "VECHE_LOG_KEY",
    "VECHE_PEPPER",
    "VECHE_NULLIFIER_KEY",
    "VECHE_WEBHOOK_KEY",
];

// ---- the demo's content --------------------------------------------------------

/// A real jurisdiction with its official population, clearly named as demo.
pub struct DemoJurisdiction {
    pub id: &'static str,
    name_ru: &'static str,
    name_en: &'static str,
    pub population: u64,
    source: &'static str,
    population_date: &'static str,
    legislature_ru: &'static str,
    legislature_en: &'static str,
    /// Demo citizens enrolled by the seeding (roll records `citizen-NN`).
    citizens: usize,
    /// Roll records left for newcomers to enrol (`guest-NN`).
    guests: usize,
    /// First digit of the demo document numbers, distinct per jurisdiction.
    series: u8,
}

/// The town of Mamonovo: 8,104 people, so its petitions need 9 signatures.
pub const MAMONOVO: DemoJurisdiction = DemoJurisdiction {
    id: "demo-mamonovo",
    name_ru: "Мамоново (демо)",
    name_en: "Mamonovo (demo)",
    population: 8_104,
    source: "Демо-данные / demo data. Численность населения — настоящая: Росстат, Всероссийская перепись населения 2021 года, население города Мамоново Калининградской области на 1 октября 2021 г. / The population is real: Rosstat, 2021 All-Russian Population Census, town of Mamonovo, Kaliningrad Oblast, as of 1 October 2021.",
    population_date: "2021-10-01",
    legislature_ru: "Окружной Совет депутатов Мамоновского городского округа (демо)",
    legislature_en: "Council of Deputies of Mamonovo Urban Okrug (demo)",
    citizens: 10,
    guests: 20,
    series: 1,
};

/// Kaliningrad Oblast: 1,029,966 people, so 1,030 signatures are needed.
pub const KALININGRAD_OBLAST: DemoJurisdiction = DemoJurisdiction {
    id: "demo-kaliningrad-oblast",
    name_ru: "Калининградская область (демо)",
    name_en: "Kaliningrad Oblast (demo)",
    population: 1_029_966,
    source: "Демо-данные / demo data. Численность населения — настоящая: Росстат, Всероссийская перепись населения 2021 года, постоянное население Калининградской области на 1 октября 2021 г. / The population is real: Rosstat, 2021 All-Russian Population Census, resident population of Kaliningrad Oblast as of 1 October 2021.",
    population_date: "2021-10-01",
    legislature_ru: "Законодательное Собрание Калининградской области (демо)",
    legislature_en: "Legislative Assembly of Kaliningrad Oblast (demo)",
    citizens: 4,
    guests: 20,
    series: 2,
};

pub const JURISDICTIONS: [&DemoJurisdiction; 2] = [&MAMONOVO, &KALININGRAD_OBLAST];

/// Valid signatures a petition of `population` needs: the first count with
/// `count × 1000 > population` (`specs/petitions.md`).
pub fn signatures_needed(population: u64) -> u64 {
    population / 1000 + 1
}

/// One line of a demo roll.
struct RollLine {
    record_id: String,
    document_number: String,
    date_of_birth: String,
}

/// Record `n` (from 1) of `kind` (`citizen` or `guest`): document numbers
/// start with DEMO, so they cannot be anyone's passport.
fn roll_line(j: &DemoJurisdiction, kind: &str, n: usize) -> RollLine {
    let offset = if kind == "guest" { 500 } else { 0 };
    let k = n + offset;
    RollLine {
        record_id: format!("{kind}-{n:02}"),
        document_number: format!("DEMO {}{:05}", j.series, k),
        date_of_birth: format!(
            "{}-{:02}-{:02}",
            1950 + (k * 7) % 50,
            1 + (k * 5) % 12,
            1 + (k * 11) % 28
        ),
    }
}

fn roll_csv(j: &DemoJurisdiction) -> String {
    let mut csv = String::from("record_id,document_number,date_of_birth,district\n");
    let lines = (1..=j.citizens)
        .map(|n| roll_line(j, "citizen", n))
        .chain((1..=j.guests).map(|n| roll_line(j, "guest", n)));
    for l in lines {
        csv.push_str(&format!(
            "{},{},{},\n",
            l.record_id, l.document_number, l.date_of_birth
        ));
    }
    csv
}

/// What the seeding does with a petition after filing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Filed, waiting for a moderator.
    AwaitingModeration,
    /// Rejected under a published rule, with a public reason.
    Rejected {
        rule: u16,
        reason: &'static str,
        hide_text: bool,
    },
    /// Open with this many signatures.
    Open(u64),
    /// Open, [`SHORT_BY`] signatures short of the threshold.
    NearThreshold,
    /// Threshold reached and delivered; the clerk has not acknowledged it.
    Delivered,
    /// Acknowledged, consideration scheduled three weeks ahead.
    Considering,
    /// Answered: solved, with the decision as a document.
    Solved,
    /// Answered: a deadline is set.
    DeadlineSet,
    /// Answered: refused, with the motivation.
    Refused,
    /// Open with this many signatures, one of them invalidated.
    Invalidated(u64),
    /// Withdrawn by its author after this many signatures.
    Withdrawn(u64),
}

pub struct DemoPetition {
    pub jurisdiction: &'static DemoJurisdiction,
    /// Index of the author among the jurisdiction's demo citizens.
    author: usize,
    pub title: &'static str,
    text: &'static str,
    pub fate: Fate,
}

const DEMO_NOTE: &str = "\n\n(Демонстрационная петиция, созданная veche --demo. / A demo petition created by veche --demo.)";

/// Every state a petition can be in (but `expired`: a petition stays open
/// at least a month, longer than a demo waits).
pub const PETITIONS: &[DemoPetition] = &[
    DemoPetition {
        jurisdiction: &MAMONOVO,
        author: 0,
        title: "Поставить урны для раздельного сбора отходов на набережной",
        text: "Просим поставить на набережной реки Мамоновки урны для раздельного сбора пластика, стекла и бумаги и вывозить их не реже раза в неделю.\n\nСейчас на всю набережную одна общая урна, и после выходных мусор лежит на траве и уносится в реку.\n\nEnglish: we ask for separate-collection bins for plastic, glass and paper on the Mamonovka riverside, emptied at least weekly.",
        fate: Fate::AwaitingModeration,
    },
    DemoPetition {
        jurisdiction: &MAMONOVO,
        author: 1,
        title: "Открыть пункт пропуска Мамоново — Гроново для пешеходов",
        text: "Просим разрешить пешеходам переходить границу через пункт пропуска Мамоново — Гроново, чтобы жителям не приходилось ехать на машине ради короткой поездки.\n\nEnglish: we ask that pedestrians may cross the border at the Mamonovo — Grzechotki checkpoint.",
        fate: Fate::Rejected {
            rule: 1,
            reason: "Пункты пропуска через государственную границу — ведение Российской Федерации (Конституция РФ, ст. 71); Совет депутатов городского округа этот вопрос решать не вправе. Обратитесь в федеральные органы власти. / Border crossings are a federal matter; the town council has no power over them.",
            hide_text: false,
        },
    },
    DemoPetition {
        jurisdiction: &MAMONOVO,
        author: 2,
        title: "Наказать соседа, который ставит машину на газон",
        text: "Мой сосед Иван Примеров (ул. Примерная, д. 0, кв. 0, тел. +7 900 000-00-00) каждый вечер ставит машину на газон у нашего дома. Просим выписать ему штраф.\n\nEnglish: a complaint naming a neighbour, with his address and phone number.",
        fate: Fate::Rejected {
            rule: 4,
            reason: "Текст содержит имя, адрес и телефон частного лица, поэтому он скрыт; причина отклонения остаётся открытой. Автор может подать петицию заново без персональных данных — например, о запрете парковки на газонах. / The text names a private person with address and phone, so it is withheld.",
            hide_text: true,
        },
    },
    DemoPetition {
        jurisdiction: &MAMONOVO,
        author: 3,
        title: "Отремонтировать тротуар от автостанции до школы",
        text: "Тротуар от автостанции до школы весь в ямах; весной и осенью в них стоит вода, и дети идут по проезжей части. Просим включить его ремонт в план дорожных работ на следующий год.\n\nEnglish: the pavement from the bus station to the school is full of potholes; please repair it next year.",
        fate: Fate::Open(3),
    },
    DemoPetition {
        jurisdiction: &MAMONOVO,
        author: 4,
        title: "Вечерний автобус до Калининграда по пятницам и воскресеньям",
        text: "Последний автобус из Калининграда уходит слишком рано, и студенты и работающие в областном центре не успевают на него. Просим добавить рейс около 21:00 по пятницам и воскресеньям.\n\nEnglish: please add a bus from Kaliningrad at about 9 pm on Fridays and Sundays.",
        fate: Fate::NearThreshold,
    },
    DemoPetition {
        jurisdiction: &MAMONOVO,
        author: 5,
        title: "Детская площадка в сквере у Дома культуры",
        text: "В центре города нет ни одной детской площадки. Просим оборудовать её в сквере у Дома культуры: качели, горка, песочница и скамейки для родителей.\n\nEnglish: please build a playground in the square by the House of Culture.",
        fate: Fate::Delivered,
    },
    DemoPetition {
        jurisdiction: &MAMONOVO,
        author: 6,
        title: "Библиотека открыта до 20:00 в будни",
        text: "Городская библиотека закрывается в 18:00, когда большинство работающих ещё не вернулись домой. Просим продлить её работу до 20:00 в будние дни.\n\nEnglish: please keep the town library open until 8 pm on weekdays.",
        fate: Fate::Considering,
    },
    DemoPetition {
        jurisdiction: &MAMONOVO,
        author: 7,
        title: "Светофор на пешеходном переходе у школы",
        text: "Переход у школы — на оживлённой улице, машины не всегда пропускают детей. Просим поставить там светофор с кнопкой вызова.\n\nEnglish: please put a push-button traffic light on the crossing by the school.",
        fate: Fate::Solved,
    },
    DemoPetition {
        jurisdiction: &MAMONOVO,
        author: 8,
        title: "Освещение дорожки к железнодорожной станции",
        text: "Дорожка от жилых кварталов к станции не освещена, зимой утром и вечером по ней идут в полной темноте. Просим поставить фонари.\n\nEnglish: please light the footpath to the railway station.",
        fate: Fate::DeadlineSet,
    },
    DemoPetition {
        jurisdiction: &MAMONOVO,
        author: 9,
        title: "Построить в городе крытый бассейн",
        text: "Ближайший бассейн — в Калининграде, в пятидесяти километрах. Просим построить в Мамоново крытый бассейн, чтобы дети могли учиться плавать.\n\nEnglish: please build an indoor swimming pool in town.",
        fate: Fate::Refused,
    },
    DemoPetition {
        jurisdiction: &MAMONOVO,
        author: 0,
        title: "Запретить продажу петард рядом со школами",
        text: "Просим запретить продажу пиротехники в киосках ближе ста метров от школ и детских садов.\n\nEnglish: please ban selling fireworks within 100 metres of schools and kindergartens.",
        fate: Fate::Invalidated(4),
    },
    DemoPetition {
        jurisdiction: &MAMONOVO,
        author: 1,
        title: "Переименовать сквер у вокзала в Липовый",
        text: "В сквере у вокзала растут старые липы, а названия у него нет. Предлагаем назвать его Липовым сквером.\n\nEnglish: let us name the square by the station Linden Square.",
        fate: Fate::Withdrawn(2),
    },
    DemoPetition {
        jurisdiction: &KALININGRAD_OBLAST,
        author: 0,
        title: "Электрички Калининград — Мамоново каждый час",
        text: "Между Калининградом и Мамоново ходит несколько электричек в день с перерывами по три-четыре часа. Просим запустить тактовое движение: поезд каждый час с 6 до 22 часов.\n\nEnglish: please run a train between Kaliningrad and Mamonovo every hour from 6 am to 10 pm.",
        fate: Fate::Open(4),
    },
    DemoPetition {
        jurisdiction: &KALININGRAD_OBLAST,
        author: 1,
        title: "English on the timetables at Kaliningrad's South Station",
        text: "Visitors cannot read the bus and train timetables at the South Station, which are in Russian only. Please add English to the timetables and the departure boards.\n\nПо-русски: просим продублировать расписание на Южном вокзале на английском языке.",
        fate: Fate::AwaitingModeration,
    },
];

impl DemoPetition {
    /// Valid signatures the seeding gives it.
    pub fn signatures(&self) -> u64 {
        let needed = signatures_needed(self.jurisdiction.population);
        match self.fate {
            Fate::AwaitingModeration | Fate::Rejected { .. } => 0,
            Fate::Open(n) | Fate::Withdrawn(n) => n,
            Fate::Invalidated(n) => n - 1,
            Fate::NearThreshold => needed - SHORT_BY,
            Fate::Delivered | Fate::Considering | Fate::DeadlineSet | Fate::Refused => needed,
            // One more than needed: the count goes on after the threshold.
            Fate::Solved => needed + 1,
        }
    }

    /// Signatures made, counting the invalidated one.
    fn signers(&self) -> u64 {
        match self.fate {
            Fate::Invalidated(n) => n,
            _ => self.signatures(),
        }
    }

    fn text(&self) -> String {
        format!("{}{DEMO_NOTE}", self.text)
    }
}

// ---- start-up: the demo's own storage --------------------------------------------

/// The storage `--demo` uses: `<data-dir>/demo`, the same database URL, and
/// the demo origin unless `--origin` names one.
pub fn storage(real: &StorageArgs) -> StorageArgs {
    StorageArgs {
        data_dir: real.data_dir.join("demo"),
        database_url: real.database_url.clone(),
        origin: Some(real.origin.clone().unwrap_or_else(|| DEMO_ORIGIN.into())),
    }
}

fn refuse_real_secrets() -> Result<()> {
    if let Some(v) = REAL_SECRETS.iter().find(|v| std::env::var_os(v).is_some()) {
        bail!(
            "{v} is set: --demo keeps keys of its own in the demo directory, so that no real key signs or hashes demo data; unset {v} for the demo"
        );
    }
    Ok(())
}

/// For `veche --demo <command>`: the demo storage, if it holds demo data.
pub async fn existing_storage(real: &StorageArgs) -> Result<StorageArgs> {
    refuse_real_secrets()?;
    let demo = storage(real);
    if demo.database_url.is_none() && !demo.data_dir.join("veche.db").exists() {
        bail!(
            "there is no demo data in {}: start it with `veche --demo` first",
            demo.data_dir.display()
        );
    }
    let store = demo.open_store().await?;
    let marked = store.meta(DEMO_KEY).await?;
    store.close().await;
    if marked.is_none() {
        bail!("{} does not hold demo data", where_(&demo));
    }
    Ok(demo)
}

fn where_(demo: &StorageArgs) -> String {
    match &demo.database_url {
        Some(_) => "the PostgreSQL database of --database-url".into(),
        None => demo.data_dir.display().to_string(),
    }
}

/// Whether the storage is seeded already; marks a fresh one as demo data,
/// and clears an interrupted seeding (SQLite) so it starts again cleanly.
async fn prepare(demo: &StorageArgs) -> Result<bool> {
    let store = demo.open_store().await?;
    let marked = store.meta(DEMO_KEY).await?;
    let seeded = store.meta(SEEDED_KEY).await?;
    match (marked, seeded) {
        (Some(_), Some(_)) => {
            store.close().await;
            return Ok(true);
        }
        (Some(_), None) => {
            store.close().await;
            if demo.database_url.is_some() {
                bail!(
                    "the demo database of --database-url was left half-seeded by an interrupted run; drop it, create it empty again and rerun `veche --demo`"
                );
            }
            println!(
                "demo: an earlier run was interrupted while seeding; starting again from an empty {}",
                demo.data_dir.display()
            );
            // Only a directory whose database carries the demo mark gets here.
            std::fs::remove_dir_all(&demo.data_dir)
                .with_context(|| format!("removing {}", demo.data_dir.display()))?;
            let store = demo.open_store().await?;
            store.meta_set_if_absent(DEMO_KEY, "v1").await?;
            store.close().await;
        }
        (None, _) => {
            let used = store.count_entries().await? > 0 || store.meta("origin").await?.is_some();
            if used {
                store.close().await;
                bail!(
                    "{} already holds data that is not demo data; --demo never writes into it. Use another --data-dir (or an empty PostgreSQL database)",
                    where_(demo)
                );
            }
            store.meta_set_if_absent(DEMO_KEY, "v1").await?;
            store.close().await;
        }
    }
    Ok(false)
}

/// The operator token of the demo server: `VECHE_OPERATOR_TOKEN`, or
/// `<demo>/operator.token`, created here so the seeding can read it.
fn operator_token(dir: &Path) -> Result<String> {
    if let Ok(t) = std::env::var("VECHE_OPERATOR_TOKEN") {
        return Ok(t.trim().to_string());
    }
    let path = dir.join("operator.token");
    if !path.exists() {
        let mut bytes = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
        crate::config::write_secret_file(&path, &URL_SAFE_NO_PAD.encode(bytes))?;
    }
    Ok(std::fs::read_to_string(&path)
        .with_context(|| format!("reading {}", path.display()))?
        .trim()
        .to_string())
}

/// The demo legislature's inbox: a loopback endpoint that accepts the
/// server's signed webhook deliveries, so petitions reach `delivered`.
async fn start_inbox() -> Result<String> {
    let received = Arc::new(AtomicU64::new(0));
    let app = axum::Router::new().route(
        "/inbox",
        axum::routing::post(move |body: axum::body::Bytes| {
            let received = received.clone();
            async move {
                let n = received.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::info!(
                    bytes = body.len(),
                    total = n,
                    "the demo legislature received a petition"
                );
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("starting the demo legislature's inbox")?;
    let url = format!("http://{}/inbox", listener.local_addr()?);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the demo legislature's inbox stopped");
        }
    });
    Ok(url)
}

/// `veche --demo`: serves the demo data, seeding it first if needed.
pub async fn run(real: &StorageArgs, args: &ServeArgs) -> Result<()> {
    refuse_real_secrets()?;
    let demo = storage(real);
    let seeded = prepare(&demo).await?;
    crate::pages::set_demo_mode();
    let token = operator_token(&demo.data_dir)?;
    let inbox = start_inbox().await?;
    let mut args = args.clone();
    // The seeding registers every demo passkey from this machine; newcomers
    // keep the full allowance on top.
    args.limits.enrol_per_hour = args
        .limits
        .enrol_per_hour
        .saturating_add(seed_registrations());

    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let server = crate::server::serve_with(&demo, &args, Some(ready_tx));
    tokio::pin!(server);
    let (public_url, bound) = tokio::select! {
        r = &mut server => {
            r?;
            bail!("the server stopped before it started");
        }
        ready = ready_rx => ready.context("the server did not start")?,
    };
    let work = async {
        let seeder = Seeder::new(&public_url, bound, token, inbox)?;
        let store = demo.open_store().await?;
        if seeded {
            println!(
                "demo: reusing the demo data seeded at {} in {}",
                store.meta(SEEDED_KEY).await?.unwrap_or_default(),
                where_(&demo)
            );
            tokio::task::spawn_blocking(move || seeder.reconnect_inbox())
                .await
                .context("the seeding thread failed")??;
        } else {
            let admin = crate::identity_api::create_invite(
                &store,
                &public_url,
                "admin",
                None,
                None,
                3_600_000,
            )
            .await
            .map_err(|p| anyhow!("{}", p.detail))?;
            let started = Instant::now();
            tokio::task::spawn_blocking(move || seeder.seed(&admin))
                .await
                .context("the seeding thread failed")??;
            let at = veche_entry::format_timestamp_ms(now_ms()).unwrap_or_default();
            store.meta_set_if_absent(SEEDED_KEY, &at).await?;
            println!("demo: seeded in {:.1} s", started.elapsed().as_secs_f64());
        }
        let access = newcomer_access(&store, &demo, &args, &public_url).await;
        store.close().await;
        println!("{READY}{public_url}/ (demo data: the banner on every page says so)");
        println!("{}", access?);
        anyhow::Ok(())
    };
    tokio::select! {
        r = &mut server => return r,
        r = work => r?,
    }
    server.await
}

fn now_ms() -> u64 {
    use veche_store::Clock;
    veche_store::SystemClock.now_ms()
}

fn seed_registrations() -> u32 {
    // Admin, moderator, a registrar and a clerk per jurisdiction, citizens.
    let staff = 2 + 2 * JURISDICTIONS.len();
    let citizens: usize = JURISDICTIONS.iter().map(|j| j.citizens).sum();
    u32::try_from(staff + citizens).unwrap_or(u32::MAX)
}

/// Staff invites and a citizen's enrolment code for the person trying the
/// demo (passkeys cannot be handed out, so they enrol their own). Made
/// fresh on every start, in process, as `veche admin invite` makes them.
async fn newcomer_access(
    store: &Store,
    demo: &StorageArgs,
    args: &ServeArgs,
    public_url: &str,
) -> Result<String> {
    let week = 7 * DAY_MS;
    let invite = |role: &'static str, jurisdiction: Option<&'static str>| async move {
        crate::identity_api::create_invite(store, public_url, role, jurisdiction, None, week)
            .await
            .map_err(|p| anyhow!("{}", p.detail))
    };
    let moderator = invite("moderator", None).await?;
    let clerk = invite("clerk", Some(MAMONOVO.id)).await?;
    let admin = invite("admin", None).await?;

    let free: Vec<String> = store
        .roll_records(MAMONOVO.id)
        .await?
        .into_iter()
        .filter(|r| r.record_id.starts_with("guest-") && r.claimed_by.is_none() && !r.retired)
        .map(|r| r.record_id)
        .collect();
    let mut out = String::from("Try it yourself (your own passkey, in the browser):\n");
    match free.as_slice() {
        [] => out.push_str(
            "  citizen:   every guest record of Mamonovo (demo) is enrolled; ask the registrar for more\n",
        ),
        [first, rest @ ..] => {
            let hasher = crate::config::identity_hasher(&demo.data_dir, args.argon2)?;
            let (code, stored) =
                tokio::task::spawn_blocking(move || veche_roll::EnrolmentCode::generate(&hasher))
                    .await?;
            let now = now_ms();
            store
                .insert_enrolment_codes(
                    &[veche_store::identity::EnrolmentCodeRow {
                        id: stored.id.clone(),
                        jurisdiction: MAMONOVO.id.into(),
                        record_id: first.clone(),
                        secret_hash: stored.secret_hash.clone(),
                        expires_ms: now + 30 * DAY_MS,
                        used_ms: None,
                    }],
                    now,
                )
                .await?;
            out.push_str(&format!(
                "  citizen of Mamonovo (demo): enrol at {public_url}/enrol with the code {}\n",
                code.grouped().as_str()
            ));
            if let Some(n) = rest
                .first()
                .and_then(|r| r.strip_prefix("guest-"))
                .and_then(|n| n.parse().ok())
            {
                let l = roll_line(&MAMONOVO, "guest", n);
                out.push_str(&format!(
                    "             or with the passport details {}, born {}\n",
                    l.document_number, l.date_of_birth
                ));
            }
            out.push_str(&format!(
                "             then sign the petitions at {public_url}/petitions: one is {SHORT_BY} signatures short of its threshold\n"
            ));
            out.push_str(&format!(
                "             and vote in the open poll at {public_url}/polls and the open PB round at {public_url}/pb\n"
            ));
        }
    }
    out.push_str(&format!("  moderator: {moderator}\n"));
    out.push_str(&format!("  clerk of Mamonovo (demo): {clerk}\n"));
    out.push_str(&format!("  administrator: {admin}"));
    Ok(out)
}

// ---- the seeding: HTTP to the server itself --------------------------------------

/// One signed-in browser: its session cookie and CSRF token.
#[derive(Default)]
struct Session {
    cookie: Option<String>,
    csrf: Option<String>,
}

struct Citizen {
    session: Session,
    key: SoftwareAuthenticator,
}

/// Who makes a request.
enum As<'a> {
    Anyone,
    Operator,
    User(&'a mut Session),
}

enum Body<'a> {
    Empty,
    Json(&'a Value),
    Raw(&'a [u8], &'a str),
}

struct Http {
    /// Where requests go (the bound address, on loopback).
    base: String,
    /// The public URL: the WebAuthn origin passkeys are made for.
    origin: String,
    agent: ureq::Agent,
    operator_token: String,
    inbox: String,
}

impl Http {
    fn call(&self, who: As<'_>, method: &str, path: &str, body: Body<'_>) -> Result<Value> {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        let mut session = None;
        match who {
            As::Anyone => {}
            As::Operator => {
                req = req.header("Authorization", format!("Bearer {}", self.operator_token));
            }
            As::User(s) => {
                if let Some(c) = &s.cookie {
                    req = req.header("Cookie", format!("veche_session={c}"));
                }
                if let Some(t) = &s.csrf {
                    req = req.header("X-CSRF-Token", t);
                }
                session = Some(s);
            }
        }
        let bytes = match body {
            Body::Empty => Vec::new(),
            Body::Json(v) => {
                req = req.header("Content-Type", "application/json");
                serde_json::to_vec(v)?
            }
            Body::Raw(b, content_type) => {
                req = req.header("Content-Type", content_type);
                b.to_vec()
            }
        };
        let mut resp = self
            .agent
            .run(req.body(bytes)?)
            .with_context(|| format!("{method} {path}"))?;
        let status = resp.status().as_u16();
        let cookie = resp
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .and_then(|v| v.strip_prefix("veche_session="))
            .map(str::to_string);
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        if !(200..300).contains(&status) {
            let detail = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|p| p["detail"].as_str().map(str::to_string))
                .unwrap_or(text);
            bail!("{method} {path} answered {status}: {detail}");
        }
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).with_context(|| format!("{method} {path}: not JSON"))?
        };
        if let Some(s) = session {
            if let Some(c) = cookie {
                s.cookie = (!c.is_empty()).then_some(c);
            }
            if let Some(t) = value["csrf_token"].as_str() {
                s.csrf = Some(t.to_string());
            }
        }
        Ok(value)
    }

    /// A WebAuthn registration with a new software passkey: options, the
    /// authenticator, finish; the answer signs the session in.
    fn register(
        &self,
        session: &mut Session,
        options: &str,
        body: &Value,
        finish: &str,
    ) -> Result<SoftwareAuthenticator> {
        let mut key = SoftwareAuthenticator::new(Algorithm::Es256);
        let started = self.call(As::User(session), "POST", options, Body::Json(body))?;
        let credential = key
            .register(&self.origin, &started["publicKey"])
            .map_err(|e| anyhow!("the software passkey refused: {e}"))?;
        let body = json!({
            "ceremony": started["ceremony"],
            "credential": serde_json::from_str::<Value>(&credential)?,
        });
        self.call(As::User(session), "POST", finish, Body::Json(&body))?;
        Ok(key)
    }

    /// Accepts a staff invite (`id.secret`, or the whole link).
    fn accept_invite(&self, link: &str) -> Result<Session> {
        let invite = link.rsplit('/').next().unwrap_or(link);
        let mut s = Session::default();
        self.register(
            &mut s,
            "/api/v1/staff/invite/options",
            &json!({ "invite": invite }),
            "/api/v1/staff/invite/finish",
        )?;
        Ok(s)
    }
}

/// A step of the seeding: what it sets up, and the function doing it.
type Step = (&'static str, fn(&mut Seeding) -> Result<String>);

/// The seeding, one step per feature; each prints a progress line.
const STEPS: &[Step] = &[
    ("staff", Seeding::staff),
    ("jurisdictions", Seeding::jurisdictions),
    ("rolls and citizens", Seeding::citizens),
    ("petitions filed and moderated", Seeding::petitions),
    ("signatures", Seeding::signatures),
    ("the legislature's answers", Seeding::legislature),
    ("invalidation and withdrawal", Seeding::corrections),
    ("priority polls", Seeding::polls),
    ("participatory-budgeting rounds", Seeding::pb_rounds),
];

struct Seeder {
    http: Http,
}

impl Seeder {
    fn new(
        public_url: &str,
        bound: SocketAddr,
        operator_token: String,
        inbox: String,
    ) -> Result<Self> {
        // A server listening on every address is reached on loopback.
        let ip = match bound.ip() {
            std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
            ip => ip,
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .new_agent();
        Ok(Self {
            http: Http {
                base: format!("http://{}", SocketAddr::new(ip, bound.port())),
                origin: public_url.to_string(),
                agent,
                operator_token,
                inbox,
            },
        })
    }

    fn seed(self, admin_invite: &str) -> Result<()> {
        let admin = self
            .http
            .accept_invite(admin_invite)
            .context("the demo administrator's passkey")?;
        let mut s = Seeding {
            http: self.http,
            admin,
            moderator: Session::default(),
            registrars: BTreeMap::new(),
            clerks: BTreeMap::new(),
            citizens: BTreeMap::new(),
            ids: Vec::new(),
            signatures: Vec::new(),
            organiser: Session::default(),
        };
        for (name, step) in STEPS {
            let done = step(&mut s).with_context(|| format!("seeding {name}"))?;
            println!("demo: {done}");
        }
        Ok(())
    }

    /// On a reused demo: points the webhook at this run's inbox.
    fn reconnect_inbox(self) -> Result<()> {
        put_webhook(&self.http)
    }
}

fn put_webhook(http: &Http) -> Result<()> {
    http.call(
        As::Operator,
        "PUT",
        &format!("/api/v1/jurisdictions/{}/webhook", MAMONOVO.id),
        Body::Json(&json!({ "url": http.inbox })),
    )?;
    Ok(())
}

/// The seeding's state: sessions of demo staff and citizens, petition ids.
struct Seeding {
    http: Http,
    admin: Session,
    moderator: Session,
    registrars: BTreeMap<&'static str, Session>,
    clerks: BTreeMap<&'static str, Session>,
    citizens: BTreeMap<&'static str, Vec<Citizen>>,
    /// The id of each of [`PETITIONS`], in order.
    ids: Vec<u64>,
    /// The signature entries of each of [`PETITIONS`], in order.
    signatures: Vec<Vec<u64>>,
    /// Mamonovo's organiser of polls and PB rounds.
    organiser: Session,
}

fn citizen<'a>(
    citizens: &'a mut BTreeMap<&'static str, Vec<Citizen>>,
    j: &DemoJurisdiction,
    n: usize,
) -> Result<&'a mut Citizen> {
    citizens
        .get_mut(j.id)
        .and_then(|c| c.get_mut(n))
        .ok_or_else(|| anyhow!("{} has no demo citizen {n}", j.id))
}

fn date_in_days(days: u64) -> Result<String> {
    Date::from_timestamp_ms(now_ms() + days * DAY_MS)
        .map(|d| d.to_string())
        .ok_or_else(|| anyhow!("the clock is out of range"))
}

impl Seeding {
    fn invite(&mut self, role: &str, jurisdiction: Option<&str>) -> Result<Session> {
        let link = self.http.call(
            As::User(&mut self.admin),
            "POST",
            "/api/v1/staff/invites",
            Body::Json(&json!({ "role": role, "jurisdiction": jurisdiction })),
        )?;
        let link = link["link"]
            .as_str()
            .ok_or_else(|| anyhow!("no invite link in the answer"))?;
        self.http.accept_invite(link)
    }

    fn staff(&mut self) -> Result<String> {
        self.moderator = self.invite("moderator", None)?;
        for j in JURISDICTIONS {
            let registrar = self.invite("registrar", Some(j.id))?;
            self.registrars.insert(j.id, registrar);
            let clerk = self.invite("clerk", Some(j.id))?;
            self.clerks.insert(j.id, clerk);
        }
        Ok(format!(
            "staff with passkeys: an administrator, a moderator, and a registrar and a clerk for each of {} jurisdictions",
            JURISDICTIONS.len()
        ))
    }

    fn jurisdictions(&mut self) -> Result<String> {
        for j in JURISDICTIONS {
            let body = json!({
                "id": j.id,
                "name_ru": j.name_ru,
                "name_en": j.name_en,
                "population": j.population,
                "population_source": j.source,
                "population_date": j.population_date,
                "legislature_ru": j.legislature_ru,
                "legislature_en": j.legislature_en,
            });
            self.http.call(
                As::Operator,
                "POST",
                "/api/v1/jurisdictions",
                Body::Json(&body),
            )?;
        }
        put_webhook(&self.http)?;
        Ok(format!(
            "jurisdictions {} (population {}) and {} (population {}), with census figures; Mamonovo's legislature receives petitions at {}",
            MAMONOVO.name_en,
            MAMONOVO.population,
            KALININGRAD_OBLAST.name_en,
            KALININGRAD_OBLAST.population,
            self.http.inbox
        ))
    }

    fn citizens(&mut self) -> Result<String> {
        let mut enrolled = 0;
        for j in JURISDICTIONS {
            let registrar = self
                .registrars
                .get_mut(j.id)
                .ok_or_else(|| anyhow!("no registrar for {}", j.id))?;
            let csv = roll_csv(j);
            self.http.call(
                As::User(registrar),
                "PUT",
                &format!("/api/v1/jurisdictions/{}/roll", j.id),
                Body::Raw(csv.as_bytes(), "text/csv"),
            )?;
            let records: Vec<String> = (1..=j.citizens)
                .map(|n| roll_line(j, "citizen", n).record_id)
                .collect();
            let codes = self.http.call(
                As::User(registrar),
                "POST",
                &format!("/api/v1/jurisdictions/{}/enrolment-codes", j.id),
                Body::Json(&json!({ "record_ids": records, "valid_days": 30 })),
            )?;
            let codes = codes["codes"]
                .as_array()
                .ok_or_else(|| anyhow!("no codes in the answer"))?;
            let mut people = Vec::new();
            for c in codes {
                let mut session = Session::default();
                let key = self.http.register(
                    &mut session,
                    "/api/v1/enrolment/options",
                    &json!({ "method": "code", "code": c["code"] }),
                    "/api/v1/enrolment/finish",
                )?;
                people.push(Citizen { session, key });
            }
            enrolled += people.len();
            self.citizens.insert(j.id, people);
        }
        Ok(format!(
            "rolls loaded; {enrolled} demo citizens enrolled with letter codes and passkeys"
        ))
    }

    fn petitions(&mut self) -> Result<String> {
        for p in PETITIONS {
            let body = json!({ "title": p.title, "text": p.text() });
            let author = citizen(&mut self.citizens, p.jurisdiction, p.author)?;
            let filed = self.http.call(
                As::User(&mut author.session),
                "POST",
                "/api/v1/petitions",
                Body::Json(&body),
            )?;
            let id = filed["petition"]
                .as_u64()
                .ok_or_else(|| anyhow!("no petition id in the answer"))?;
            let decision = match p.fate {
                Fate::AwaitingModeration => None,
                Fate::Rejected {
                    rule,
                    reason,
                    hide_text,
                } => Some(
                    json!({ "decision": "reject", "rule": rule, "reason": reason, "hide_text": hide_text }),
                ),
                _ => Some(json!({ "decision": "open" })),
            };
            if let Some(d) = decision {
                self.http.call(
                    As::User(&mut self.moderator),
                    "POST",
                    &format!("/api/v1/petitions/{id}/moderation"),
                    Body::Json(&d),
                )?;
            }
            self.ids.push(id);
        }
        Ok(format!(
            "{} petitions filed by demo citizens and moderated",
            PETITIONS.len()
        ))
    }

    fn sign(&mut self, j: &DemoJurisdiction, n: usize, id: u64) -> Result<u64> {
        let http = &self.http;
        let c = citizen(&mut self.citizens, j, n)?;
        let started = http.call(
            As::User(&mut c.session),
            "POST",
            &format!("/api/v1/petitions/{id}/signatures/options"),
            Body::Empty,
        )?;
        let assertion = c
            .key
            .assert(&http.origin, &started["publicKey"])
            .map_err(|e| anyhow!("the software passkey refused: {e}"))?;
        let body = json!({
            "ceremony": started["ceremony"],
            "credential": serde_json::from_str::<Value>(&assertion)?,
        });
        let signed = http.call(
            As::User(&mut c.session),
            "POST",
            &format!("/api/v1/petitions/{id}/signatures"),
            Body::Json(&body),
        )?;
        signed["index"]
            .as_u64()
            .ok_or_else(|| anyhow!("no signature index in the answer"))
    }

    fn signatures(&mut self) -> Result<String> {
        let mut total = 0;
        for (p, &id) in PETITIONS.iter().zip(&self.ids.clone()) {
            let mut made = Vec::new();
            for n in 0..p.signers() as usize {
                // Citizens take turns from the author on, as neighbours would.
                let signer = (p.author + n) % p.jurisdiction.citizens;
                made.push(self.sign(p.jurisdiction, signer, id)?);
            }
            total += made.len();
            self.signatures.push(made);
        }
        Ok(format!(
            "{total} signatures, each a passkey assertion over the petition's text"
        ))
    }

    /// Waits until the webhook delivered petition `id` (the outbox is the log).
    fn await_delivery(&self, id: u64) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let p = self.http.call(
                As::Anyone,
                "GET",
                &format!("/api/v1/petitions/{id}"),
                Body::Empty,
            )?;
            let delivered = p["history"]
                .as_array()
                .is_some_and(|h| h.iter().any(|e| e["kind"] == "petition_delivered"));
            if delivered {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("petition {id} reached its threshold but was not delivered within 30 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn clerk(
        &mut self,
        j: &DemoJurisdiction,
        id: u64,
        what: &str,
        body: Option<Value>,
    ) -> Result<()> {
        let clerk = self
            .clerks
            .get_mut(j.id)
            .ok_or_else(|| anyhow!("no clerk for {}", j.id))?;
        let body = body.unwrap_or(Value::Null);
        let body = if body.is_null() {
            Body::Empty
        } else {
            Body::Json(&body)
        };
        self.http.call(
            As::User(clerk),
            "POST",
            &format!("/api/v1/petitions/{id}/{what}"),
            body,
        )?;
        Ok(())
    }

    fn legislature(&mut self) -> Result<String> {
        let today = date_in_days(0)?;
        let mut answered = 0;
        for (p, &id) in PETITIONS.iter().zip(&self.ids.clone()) {
            let j = p.jurisdiction;
            let answer = match p.fate {
                Fate::Delivered => {
                    self.await_delivery(id)?;
                    continue;
                }
                Fate::Considering => None,
                Fate::Solved => {
                    let decision = self.decision_document(j, p.title)?;
                    Some(json!({
                        "decision": "solved",
                        "text": "Светофор с кнопкой вызова установлен и включён. Спасибо жителям за обращение. / A push-button traffic light is installed and working.",
                        "document": decision,
                    }))
                }
                Fate::DeadlineSet => Some(json!({
                    "decision": "deadline_set",
                    "deadline": date_in_days(120)?,
                    "text": "Фонари включены в план благоустройства; подрядчик выбран, работы будут закончены к указанной дате. / Street lights are in the works plan and will be installed by this date.",
                })),
                Fate::Refused => Some(json!({
                    "decision": "refused",
                    "text": "Строительство крытого бассейна стоит около 300 млн рублей, что больше годового бюджета развития округа. Совет отказал в строительстве за счёт местного бюджета и поручил администрации подать заявку на областное софинансирование на следующий год. / The pool would cost more than the town's yearly development budget; the council refused to fund it locally and asked for a regional grant instead.",
                })),
                _ => continue,
            };
            self.await_delivery(id)?;
            self.clerk(j, id, "acknowledgement", None)?;
            let (date, final_answer) = match answer {
                None => (date_in_days(21)?, None),
                // Considered at today's session; the decision follows.
                Some(a) if a["decision"] != "deadline_set" => (today.clone(), Some(a)),
                Some(a) => {
                    self.clerk(j, id, "answers", Some(a))?;
                    answered += 1;
                    continue;
                }
            };
            self.clerk(j, id, "consideration", Some(json!({ "date": date })))?;
            if let Some(a) = final_answer {
                self.clerk(j, id, "answers", Some(a))?;
                answered += 1;
            }
        }
        Ok(format!(
            "threshold petitions delivered to the legislature's inbox; {answered} answered (solved, deadline set, refused), one scheduled, one awaiting acknowledgement"
        ))
    }

    /// Uploads the council's decision on `title` as a text document; returns its hash.
    fn decision_document(&mut self, j: &DemoJurisdiction, title: &str) -> Result<String> {
        let text = format!(
            "{}\n\nРЕШЕНИЕ (демонстрационный документ)\n\nРассмотрев петицию «{title}», Совет решил: установить светофор с кнопкой вызова на пешеходном переходе у школы за счёт средств дорожного фонда округа.\n\nDECISION (a demo document): the council resolved to install a push-button traffic light on the crossing by the school.\n",
            j.legislature_ru
        );
        let clerk = self
            .clerks
            .get_mut(j.id)
            .ok_or_else(|| anyhow!("no clerk for {}", j.id))?;
        let uploaded = self.http.call(
            As::User(clerk),
            "POST",
            "/api/v1/attachments",
            Body::Raw(text.as_bytes(), "text/plain; charset=utf-8"),
        )?;
        uploaded["hash"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("no hash in the answer"))
    }

    fn corrections(&mut self) -> Result<String> {
        for (i, p) in PETITIONS.iter().enumerate() {
            let id = self.ids[i];
            match p.fate {
                Fate::Invalidated(_) => {
                    let struck = *self.signatures[i]
                        .last()
                        .ok_or_else(|| anyhow!("petition {id} has no signatures"))?;
                    self.http.call(
                        As::User(&mut self.moderator),
                        "POST",
                        &format!("/api/v1/petitions/{id}/signatures/{struck}/invalidation"),
                        Body::Json(&json!({ "reason": "Регистратор сообщил, что эта запись списка использована без ведома её владельца; подпись исключена. / The registrar reported that this roll record was used without its owner's knowledge." })),
                    )?;
                }
                Fate::Withdrawn(_) => {
                    let author = citizen(&mut self.citizens, p.jurisdiction, p.author)?;
                    self.http.call(
                        As::User(&mut author.session),
                        "POST",
                        &format!("/api/v1/petitions/{id}/withdrawal"),
                        Body::Empty,
                    )?;
                }
                _ => {}
            }
        }
        Ok(
            "one signature invalidated with a public reason; one petition withdrawn by its author"
                .into(),
        )
    }
}

// ---- polls and PB rounds -------------------------------------------------------------

/// How long the demo's short windows (a poll and a PB round that end while
/// the seeding runs, so their results are on show) stay open.
const SHORT_WINDOW_MS: u64 = 2_500;

/// A demo project: title, description, location (micro-degrees of
/// latitude and longitude, in Mamonovo) and category.
type DemoProject = (&'static str, &'static str, Option<(i32, i32)>, &'static str);

/// The demo's participatory-budgeting projects.
const PB_PROJECTS: &[DemoProject] = &[
    (
        "Скамейки и урны в сквере у ДК",
        "Двенадцать скамеек и восемь урн вдоль аллеи. (Демо / demo)",
        Some((54_464_900, 19_940_300)),
        "green-spaces",
    ),
    (
        "Освещение пешеходной дорожки к вокзалу",
        "Двадцать светодиодных фонарей на 600 м дорожки. (Демо / demo)",
        Some((54_461_200, 19_934_800)),
        "lighting",
    ),
    (
        "Детская площадка на улице Мира",
        "Горка, качели и мягкое покрытие. (Демо / demo)",
        Some((54_467_500, 19_947_100)),
        "playgrounds",
    ),
    (
        "Велопарковки у школ",
        "По две велопарковки у каждой из трёх школ. (Демо / demo)",
        None,
        "streets",
    ),
    (
        "Крытый бассейн",
        "Двадцатипятиметровый бассейн. (Демо / demo)",
        None,
        "sport",
    ),
];

/// Costs in kopecks of [`PB_PROJECTS`]; `None` is reviewed infeasible.
const PB_COSTS: [Option<u64>; 5] = [
    Some(35_000_000),
    Some(60_000_000),
    Some(80_000_000),
    Some(12_000_000),
    None,
];

impl Seeding {
    fn organiser(&mut self) -> Result<()> {
        if self.organiser.cookie.is_none() {
            self.organiser = self.invite("organiser", Some(MAMONOVO.id))?;
        }
        Ok(())
    }

    /// A passkey ballot: options bound to `body`, the assertion, the cast.
    fn ballot(&mut self, n: usize, path: &str, body: &Value) -> Result<u64> {
        let http = &self.http;
        let c = citizen(&mut self.citizens, &MAMONOVO, n)?;
        let started = http.call(
            As::User(&mut c.session),
            "POST",
            &format!("{path}/ballots/options"),
            Body::Json(body),
        )?;
        let assertion = c
            .key
            .assert(&http.origin, &started["publicKey"])
            .map_err(|e| anyhow!("the software passkey refused: {e}"))?;
        let finish = json!({
            "ceremony": started["ceremony"],
            "credential": serde_json::from_str::<Value>(&assertion)?,
        });
        let cast = http.call(
            As::User(&mut c.session),
            "POST",
            &format!("{path}/ballots"),
            Body::Json(&finish),
        )?;
        cast["index"]
            .as_u64()
            .ok_or_else(|| anyhow!("no ballot index in the answer"))
    }

    /// Waits until `GET path` has `field` equal to `value` (a closer ran).
    fn await_field(&self, path: &str, field: &str, value: &str) -> Result<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v = self.http.call(As::Anyone, "GET", path, Body::Empty)?;
            if v[field] == value {
                return Ok(v);
            }
            if Instant::now() > deadline {
                bail!("{path} did not reach {field} = {value} within 30 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn open_poll(
        &mut self,
        method: &str,
        closes_at_ms: u64,
        q: [&str; 2],
        options: &[[&str; 2]],
    ) -> Result<u64> {
        let body = json!({
            "jurisdiction": MAMONOVO.id,
            "question": {"ru": q[0], "en": q[1]},
            "options": options.iter().map(|[ru, en]| json!({"ru": ru, "en": en})).collect::<Vec<_>>(),
            "method": method,
            "closes_at_ms": closes_at_ms,
        });
        let opened = self.http.call(
            As::User(&mut self.organiser),
            "POST",
            "/api/v1/polls",
            Body::Json(&body),
        )?;
        opened["poll"]
            .as_u64()
            .ok_or_else(|| anyhow!("no poll id in the answer"))
    }

    /// A closed approval poll with its declared result, and a ranked poll
    /// open for a month that a newcomer can vote in.
    fn polls(&mut self) -> Result<String> {
        self.organiser()?;
        let closed = self.open_poll(
            "approval",
            now_ms() + SHORT_WINDOW_MS,
            [
                "Что благоустроить в первую очередь? (демо)",
                "What should be improved first? (demo)",
            ],
            &[
                ["Дороги", "Roads"],
                ["Дворы", "Courtyards"],
                ["Набережную", "The embankment"],
            ],
        )?;
        let choices: [&[u16]; 6] = [&[0], &[0, 1], &[1], &[0, 2], &[0], &[1, 2]];
        for (n, c) in choices.iter().enumerate() {
            self.ballot(
                n,
                &format!("/api/v1/polls/{closed}"),
                &json!({ "choice": c }),
            )?;
        }
        let open = self.open_poll(
            "ranked_schulze",
            now_ms() + 30 * DAY_MS,
            [
                "Как назвать новый сквер? (демо)",
                "What should the new square be called? (demo)",
            ],
            &[
                ["Сквер Победы", "Victory Square"],
                ["Янтарный сквер", "Amber Square"],
                ["Сквер у залива", "Lagoon Square"],
                ["Сквер имени первых жителей", "First Settlers' Square"],
            ],
        )?;
        let rankings: [&[u16]; 5] = [&[1, 2, 0], &[2, 1], &[1, 0, 2, 3], &[0, 1], &[2, 1, 3]];
        for (n, r) in rankings.iter().enumerate() {
            self.ballot(n, &format!("/api/v1/polls/{open}"), &json!({ "choice": r }))?;
        }
        // Resident 1 changes their mind: the last ballot counts.
        self.ballot(
            1,
            &format!("/api/v1/polls/{open}"),
            &json!({ "choice": [1, 2] }),
        )?;
        self.await_field(&format!("/api/v1/polls/{closed}"), "status", "closed")?;
        Ok(format!(
            "polls: {closed} (approval, closed with its declared tally) and {open} (ranked by Schulze, open for 30 days, 5 voters, one re-vote)"
        ))
    }

    fn open_round(&mut self, proposals_close_at_ms: u64, year: u32) -> Result<u64> {
        let body = json!({
            "jurisdiction": MAMONOVO.id,
            "title": {
                "ru": format!("Народный бюджет Мамоново {year} (демо)"),
                "en": format!("Mamonovo people's budget {year} (demo)"),
            },
            "description": {
                "ru": "Жители предлагают проекты, администрация оценивает их стоимость, жители голосуют. (Демонстрационные данные.)",
                "en": "Residents propose projects, the administration costs them, residents vote. (Demo data.)",
            },
            "currency": "RUB",
            "scale": 2,
            "proposals_close_at_ms": proposals_close_at_ms,
        });
        let opened = self.http.call(
            As::User(&mut self.organiser),
            "POST",
            "/api/v1/pb-rounds",
            Body::Json(&body),
        )?;
        opened["round"]
            .as_u64()
            .ok_or_else(|| anyhow!("no round id in the answer"))
    }

    /// Proposals of [`PB_PROJECTS`] by residents; their ids.
    fn propose_projects(&mut self, round: u64) -> Result<Vec<u64>> {
        let mut ids = Vec::new();
        for (n, (title, description, location, category)) in PB_PROJECTS.iter().enumerate() {
            let body = json!({
                "title": title,
                "description": description,
                "location": location.map(|(lat, lon)| json!({"lat_e6": lat, "lon_e6": lon})),
                "category": category,
            });
            let c = citizen(&mut self.citizens, &MAMONOVO, n)?;
            let made = self.http.call(
                As::User(&mut c.session),
                "POST",
                &format!("/api/v1/pb-rounds/{round}/projects"),
                Body::Json(&body),
            )?;
            ids.push(
                made["index"]
                    .as_u64()
                    .ok_or_else(|| anyhow!("no project id in the answer"))?,
            );
        }
        Ok(ids)
    }

    fn review_all(&mut self, ids: &[u64]) -> Result<()> {
        for (id, cost) in ids.iter().zip(PB_COSTS) {
            let body = match cost {
                Some(cost) => {
                    json!({"verdict": "feasible", "cost": cost, "reason": "Смета отдела благоустройства (демо)."})
                }
                None => {
                    json!({"verdict": "infeasible", "reason": "Стоимость строительства и содержания больше годового бюджета программы. / Building and running it would cost more than the programme's yearly budget."})
                }
            };
            self.http.call(
                As::User(&mut self.organiser),
                "POST",
                &format!("/api/v1/pb-projects/{id}/reviews"),
                Body::Json(&body),
            )?;
        }
        Ok(())
    }

    /// A round already counted by the Method of Equal Shares, and a round
    /// whose vote stays open for a month (greedy, with a cost limit).
    fn pb_rounds(&mut self) -> Result<String> {
        self.organiser()?;
        let close = now_ms() + SHORT_WINDOW_MS;
        let counted = self.open_round(close, 2026)?;
        let open = self.open_round(close, 2027)?;
        let counted_ids = self.propose_projects(counted)?;
        let open_ids = self.propose_projects(open)?;
        let wait = close.saturating_sub(now_ms()) + 100;
        std::thread::sleep(Duration::from_millis(wait));
        self.review_all(&counted_ids)?;
        self.review_all(&open_ids)?;
        let voting = |budget: u64, rule: &str, cost_limit: Option<u64>, closes: u64| json!({"budget": budget, "rule": rule, "max_projects": 3, "cost_limit": cost_limit, "closes_at_ms": closes});
        self.http.call(
            As::User(&mut self.organiser),
            "POST",
            &format!("/api/v1/pb-rounds/{counted}/voting"),
            Body::Json(&voting(
                120_000_000,
                "equal_shares_add1_greedy",
                None,
                now_ms() + 3 * SHORT_WINDOW_MS,
            )),
        )?;
        self.http.call(
            As::User(&mut self.organiser),
            "POST",
            &format!("/api/v1/pb-rounds/{open}/voting"),
            Body::Json(&voting(
                150_000_000,
                "greedy",
                Some(150_000_000),
                now_ms() + 30 * DAY_MS,
            )),
        )?;
        // Ballots by index into PB_PROJECTS' feasible ones (0..=3).
        let ballots: [&[usize]; 8] = [
            &[0, 1],
            &[0, 3],
            &[2],
            &[1, 2],
            &[0, 1, 3],
            &[3],
            &[0],
            &[2, 3],
        ];
        for (n, b) in ballots.iter().enumerate() {
            let approved: Vec<u64> = b.iter().map(|&i| counted_ids[i]).collect();
            self.ballot(
                n,
                &format!("/api/v1/pb-rounds/{counted}"),
                &json!({ "approved": approved }),
            )?;
        }
        for (n, b) in ballots.iter().take(5).enumerate() {
            let approved: Vec<u64> = b.iter().map(|&i| open_ids[i]).collect();
            self.ballot(
                n,
                &format!("/api/v1/pb-rounds/{open}"),
                &json!({ "approved": approved }),
            )?;
        }
        self.ballot(
            2,
            &format!("/api/v1/pb-rounds/{open}"),
            &json!({ "approved": [open_ids[0], open_ids[3]] }),
        )?;
        self.await_field(&format!("/api/v1/pb-rounds/{counted}"), "phase", "result")?;
        Ok(format!(
            "PB rounds: {counted} (Method of Equal Shares, 8 voters, result declared) and {open} (greedy, voting open for 30 days, knapsack ballots: cost limit = budget = 1,500,000 ₽, one re-vote); {} projects each, one reviewed infeasible",
            PB_PROJECTS.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_of_the_demo_jurisdictions() {
        assert_eq!(signatures_needed(MAMONOVO.population), 9);
        assert_eq!(signatures_needed(KALININGRAD_OBLAST.population), 1_030);
        // 8 × 1000 = 8,000 is not more than 8,104; 9 × 1000 is.
        assert!(!veche_state::threshold_met(8, MAMONOVO.population));
        assert!(veche_state::threshold_met(9, MAMONOVO.population));
    }

    #[test]
    fn every_petition_can_be_seeded() {
        for p in PETITIONS {
            let j = p.jurisdiction;
            assert!(p.author < j.citizens, "{}", p.title);
            assert!(
                p.signers() as usize <= j.citizens,
                "{}: too few citizens",
                p.title
            );
            assert!(!p.title.contains('\n') && p.title.chars().count() <= 200);
            assert!(p.text().chars().count() <= 10_000);
        }
        let near = PETITIONS
            .iter()
            .find(|p| p.fate == Fate::NearThreshold)
            .unwrap();
        assert_eq!(
            near.signatures() + SHORT_BY,
            signatures_needed(near.jurisdiction.population)
        );
    }

    #[test]
    fn every_state_is_shown() {
        let has = |f: fn(&Fate) -> bool| PETITIONS.iter().any(|p| f(&p.fate));
        assert!(has(|f| *f == Fate::AwaitingModeration));
        assert!(has(|f| matches!(
            f,
            Fate::Rejected {
                hide_text: true,
                ..
            }
        )));
        assert!(has(|f| matches!(
            f,
            Fate::Rejected {
                hide_text: false,
                ..
            }
        )));
        assert!(has(|f| matches!(f, Fate::Open(_))));
        for f in [
            Fate::NearThreshold,
            Fate::Delivered,
            Fate::Considering,
            Fate::Solved,
            Fate::DeadlineSet,
            Fate::Refused,
        ] {
            assert!(has_fate(f), "{f:?}");
        }
        assert!(has(|f| matches!(f, Fate::Invalidated(_))));
        assert!(has(|f| matches!(f, Fate::Withdrawn(_))));
    }

    fn has_fate(f: Fate) -> bool {
        PETITIONS.iter().any(|p| p.fate == f)
    }

    #[test]
    fn rolls_are_valid_and_distinct() {
        for j in JURISDICTIONS {
            let csv = roll_csv(j);
            let docs: std::collections::BTreeSet<_> = csv
                .lines()
                .skip(1)
                .map(|l| l.split(',').nth(1).unwrap().to_string())
                .collect();
            assert_eq!(docs.len(), j.citizens + j.guests);
            for l in csv.lines().skip(1) {
                let dob = l.split(',').nth(2).unwrap();
                assert!(dob.parse::<Date>().is_ok(), "{dob}");
            }
        }
    }
}

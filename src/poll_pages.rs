//! Poll pages: the list (open, upcoming, closed, with turnout and
//! deadlines), the organiser's form that opens a poll, and one poll: the
//! question, the counting method in plain words, the voting window, the
//! turnout while it runs, the visitor's current ballot, the ballot form,
//! and once closed the declared result as a bar chart with its data table,
//! the winners (a tie said as such), the ranking (for Schulze with the
//! pairwise counts) and how to recompute it with `veche-verify poll ID`.
//!
//! Opening a poll is a plain form posted back here, which calls the JSON
//! API's handler (`crate::polls::open`) so that the rules are enforced in
//! one place. Voting needs the passkey, so `static/poll.js` runs the API's
//! two steps; the ballot form itself (radios, checkboxes, a select per rank)
//! is plain HTML.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::Json;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;
use veche_entry::kinds::poll::{OPTION_MAX_CHARS, QUESTION_MAX_CHARS};
use veche_entry::{Actor, Date, POLL_OPTIONS_MAX, PollMethod, PollOption};
use veche_state::{DAY_MS, PollClosing, PollStatus};

use crate::charts::{Bar, bar_chart};
use crate::i18n::{Lang, Tr};
use crate::page_kit::{
    LangParams, actor_text, api_number, jurisdiction_name, now_ms, pick, render, sign_in_redirect,
    visit,
};
use crate::pages::Nav;
use crate::petition_pages::{Badge, FormError, Opt, fill, human_time, percent, plural};
use crate::polls::{Bilingual, OpenPollRequest};
use crate::problem::Problem;
use crate::server::AppState;
use crate::session::{self, SignedIn};

fn status_badge(status: PollStatus, tr: Tr) -> Badge {
    Badge {
        class: match status {
            PollStatus::Scheduled => "neutral",
            PollStatus::Open => "open",
            PollStatus::Ended => "late",
            PollStatus::Closed => "done",
        },
        label: tr.t(&format!("poll-status-{}", status.name())),
    }
}

/// The enrolled citizen's jurisdiction and roll record, if the visitor is one.
fn citizen(me: Option<&SignedIn>) -> Option<(&str, &str)> {
    let m = me?;
    match (
        m.account.kind.as_str(),
        &m.account.jurisdiction,
        &m.account.record_id,
    ) {
        ("citizen", Some(j), Some(r)) => Some((j.as_str(), r.as_str())),
        _ => None,
    }
}

/// What a page needs of one poll, copied out under the state's read lock
/// (the poll itself holds every voter's last ballot, so it is not cloned).
struct Snap {
    id: u64,
    opened_ms: u64,
    jurisdiction: String,
    question_ru: String,
    question_en: String,
    options: Vec<PollOption>,
    method: PollMethod,
    status: PollStatus,
    opens_at_ms: u64,
    closes_at_ms: u64,
    actor: Actor,
    turnout: u64,
    ballots_cast: u64,
    closed: Option<PollClosing>,
    /// The visitor's last ballot (log index, choice), if they voted.
    mine: Option<(u64, Vec<u16>)>,
}

/// The polls, newest first; with `voter` (a citizen's jurisdiction and
/// record), their ballot in each poll of their jurisdiction.
fn snapshots(state: &AppState, only: Option<u64>, voter: Option<(&str, &str)>) -> Vec<Snap> {
    let t = now_ms();
    let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
    let polls: Vec<&veche_state::Poll> = match only {
        Some(id) => st.poll(id).into_iter().collect(),
        None => st.polls().rev().collect(),
    };
    polls
        .into_iter()
        .map(|p| Snap {
            id: p.id,
            opened_ms: p.opened_ms,
            jurisdiction: p.jurisdiction.clone(),
            question_ru: p.question_ru.clone(),
            question_en: p.question_en.clone(),
            options: p.options.clone(),
            method: p.method,
            status: p.status(t),
            opens_at_ms: p.opens_at_ms,
            closes_at_ms: p.closes_at_ms,
            actor: p.actor.clone(),
            turnout: p.turnout(),
            ballots_cast: p.ballots_cast,
            closed: p.closed.clone(),
            mine: voter
                .filter(|(j, _)| *j == p.jurisdiction)
                .and_then(|(j, r)| p.ballot_of(&state.nullifiers.poll(p.id, j, r)))
                .map(|(i, c)| (i, c.to_vec())),
        })
        .collect()
}

/// A Schulze count's pairwise matrix: `[a][b]` voters rank `a` above `b`.
type PairwiseCounts = Arc<Vec<Vec<u64>>>;

/// The pairwise counts of closed Schulze polls, computed once each: a
/// closed poll's ballots never change, and the count is O(ballots ×
/// options²).
static SCHULZE: Mutex<Option<HashMap<u64, PairwiseCounts>>> = Mutex::new(None);

fn pairwise_of(state: &AppState, id: u64) -> Option<PairwiseCounts> {
    let mut cache = SCHULZE.lock().unwrap_or_else(|p| p.into_inner());
    let cache = cache.get_or_insert_with(HashMap::new);
    if let Some(s) = cache.get(&id) {
        return Some(s.clone());
    }
    let s = {
        let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
        let p = st.poll(id).filter(|p| p.closed.is_some())?;
        Arc::new(p.schulze()?.pairwise)
    };
    cache.insert(id, s.clone());
    Some(s)
}

fn option_text(options: &[PollOption], n: u16, lang: Lang) -> String {
    options
        .get(usize::from(n))
        .map(|o| pick(lang, &o.ru, &o.en))
        .unwrap_or_else(|| format!("#{n}"))
}

/// "A, B and C" in the page's language.
fn and_list(items: &[String], tr: Tr) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {} {last}", init.join(", "), tr.t("poll-and")),
    }
}

fn turnout_text(n: u64, tr: Tr) -> String {
    fill(
        &tr.t(&format!("poll-turnout-{}", plural(n, tr.0))),
        &[&tr.0.number(n)],
    )
}

// ---- the list -------------------------------------------------------------------------

pub struct ListRow {
    pub id: u64,
    pub question: String,
    pub jurisdiction: String,
    pub status: Badge,
    pub method: String,
    /// When voting opens / closes / closed, in words.
    pub window: String,
    pub turnout: String,
    /// For a closed poll: the winner or the tie.
    pub result: String,
}

pub struct ListSection {
    pub key: &'static str,
    pub heading: String,
    pub empty: String,
    pub rows: Vec<ListRow>,
}

#[derive(Template)]
#[template(path = "polls.html")]
pub struct ListPage {
    pub tr: Tr,
    pub nav: Nav,
    pub can_open: bool,
    pub sections: Vec<ListSection>,
}

fn window_text(s: &Snap, tr: Tr) -> String {
    let lang = tr.0;
    match (&s.closed, s.status) {
        (Some(c), _) => fill(&tr.t("poll-window-closed"), &[&human_time(c.at_ms, lang)]),
        (None, PollStatus::Scheduled) => fill(
            &tr.t("poll-window-scheduled"),
            &[
                &human_time(s.opens_at_ms, lang),
                &human_time(s.closes_at_ms, lang),
            ],
        ),
        (None, _) => fill(
            &tr.t("poll-window-open"),
            &[&human_time(s.closes_at_ms, lang)],
        ),
    }
}

fn winners_text(s: &Snap, c: &PollClosing, tr: Tr) -> String {
    let lang = tr.0;
    let names: Vec<String> = c
        .tally
        .winners
        .iter()
        .map(|&w| option_text(&s.options, w, lang))
        .collect();
    if c.tally.ballots == 0 {
        tr.t("poll-result-no-votes")
    } else if names.len() == 1 {
        fill(&tr.t("poll-result-winner"), &[&names[0]])
    } else {
        fill(&tr.t("poll-result-tie"), &[&and_list(&names, tr)])
    }
}

/// `GET /polls`: open polls first, then upcoming, then closed.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LangParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let q = query.map(|q| q.0).unwrap_or_default();
    let (lang, explicit, me) = visit(&state, &headers, q.lang.as_deref()).await?;
    let tr = Tr(lang);
    let all = crate::jurisdictions::load(&state.store).await?;
    let mut sections: Vec<ListSection> = ["open", "scheduled", "closed"]
        .iter()
        .map(|&key| ListSection {
            key,
            heading: tr.t(&format!("poll-list-{key}")),
            empty: tr.t(&format!("poll-list-{key}-none")),
            rows: Vec::new(),
        })
        .collect();
    for s in snapshots(&state, None, None) {
        let section = match s.status {
            PollStatus::Open => 0,
            PollStatus::Scheduled => 1,
            PollStatus::Ended | PollStatus::Closed => 2,
        };
        let row = ListRow {
            id: s.id,
            question: pick(lang, &s.question_ru, &s.question_en),
            jurisdiction: jurisdiction_name(&all, &s.jurisdiction, lang),
            status: status_badge(s.status, tr),
            method: tr.t(&format!("poll-method-{}", s.method.name())),
            window: window_text(&s, tr),
            turnout: if s.status == PollStatus::Scheduled {
                String::new()
            } else {
                turnout_text(s.turnout, tr)
            },
            result: s
                .closed
                .as_ref()
                .map(|c| winners_text(&s, c, tr))
                .unwrap_or_default(),
        };
        sections[section].rows.push(row);
    }
    let page = ListPage {
        tr,
        nav: Nav::of(me.as_ref()),
        can_open: me.as_ref().is_some_and(|m| m.is_staff_with(&["organiser"])),
        sections,
    };
    render(page.render(), lang, explicit, StatusCode::OK)
}

// ---- one poll -------------------------------------------------------------------------

/// Who may vote, as the visitor sees it.
pub enum VoteArea {
    /// Not open for voting: no form.
    None,
    /// Signed out: how to vote.
    SignIn,
    /// A resident of the poll's jurisdiction: the ballot form.
    Form,
    /// Signed in, but cannot vote here (another jurisdiction, staff).
    Cannot(String),
}

/// An option of the ballot form (a radio or checkbox).
pub struct Choice {
    pub n: u16,
    pub label: String,
    pub checked: bool,
}

/// One rank of a Schulze ballot: a select of every option.
pub struct RankField {
    /// 1-based.
    pub rank: usize,
    pub label: String,
    pub options: Vec<Opt>,
}

/// One row of the result table.
pub struct ResultRow {
    pub n: u16,
    pub option: String,
    pub count: String,
    pub share: String,
    pub winner: bool,
}

/// One cell of the pairwise table: the count as written, and whether the
/// row option beats the column option; `None` on the diagonal.
pub type PairCell = Option<(String, bool)>;

/// The Schulze pairwise counts: `cells[r][c]` voters prefer option `r` to `c`.
pub struct Pairwise {
    pub options: Vec<String>,
    /// Per row: the option and its cells.
    pub rows: Vec<(String, Vec<PairCell>)>,
}

pub struct PollResultView {
    pub index: u64,
    pub closed_at: String,
    pub voters: String,
    pub winners: String,
    pub tie: bool,
    pub chart: String,
    pub count_heading: String,
    pub rows: Vec<ResultRow>,
    /// Every option, best first.
    pub ranking: Vec<String>,
    pub pairwise: Option<Pairwise>,
}

#[derive(Template)]
#[template(path = "poll.html")]
pub struct PollPage {
    pub tr: Tr,
    pub nav: Nav,
    pub id: u64,
    pub question: String,
    pub question_other: String,
    pub jurisdiction: String,
    pub status: Badge,
    /// `single`, `approval` or `ranked_schulze`.
    pub method: &'static str,
    pub method_name: String,
    pub method_help: String,
    pub announced_at: String,
    pub opens_at: String,
    pub closes_at: String,
    pub closed_at: String,
    pub organiser: String,
    pub options: Vec<String>,
    pub open: bool,
    pub ended: bool,
    pub scheduled: bool,
    pub turnout: String,
    pub ballots_cast: String,
    pub vote: VoteArea,
    /// The visitor's last ballot: its log index and the options, in order.
    pub mine: Option<(u64, Vec<String>)>,
    pub choices: Vec<Choice>,
    pub ranks: Vec<RankField>,
    pub result: Option<PollResultView>,
    pub notice: String,
    pub notice_entry: Option<u64>,
    pub verify_cmd: String,
}

impl PollPage {
    /// Whether the ballot form is on the page (it lists the options itself).
    pub fn shows_form(&self) -> bool {
        matches!(self.vote, VoteArea::Form)
    }
}

#[derive(Deserialize, Default)]
pub struct ShowParams {
    lang: Option<String>,
    done: Option<String>,
    entry: Option<String>,
}

fn result_view(state: &AppState, s: &Snap, c: &PollClosing, tr: Tr) -> PollResultView {
    let lang = tr.0;
    let t = &c.tally;
    let name = |n: u16| option_text(&s.options, n, lang);
    let winner = |n: u16| t.ballots > 0 && t.winners.contains(&n);
    let count_heading = tr.t(&format!("poll-count-{}", s.method.name()));
    let bars: Vec<Bar> = t
        .counts
        .iter()
        .enumerate()
        .map(|(i, &n)| Bar::count(name(i as u16), n, winner(i as u16), lang))
        .collect();
    let chart = bar_chart(
        "result-chart",
        &count_heading,
        &fill(
            &tr.t("poll-chart-desc"),
            &[&count_heading, &lang.number(t.ballots)],
        ),
        &bars,
        lang,
    );
    let rows = t
        .counts
        .iter()
        .enumerate()
        .map(|(i, &n)| ResultRow {
            n: i as u16,
            option: name(i as u16),
            count: lang.number(n),
            share: percent(n, t.ballots, lang),
            winner: winner(i as u16),
        })
        .collect();
    let pairwise = (s.method == PollMethod::RankedSchulze && t.ballots > 0)
        .then(|| pairwise_of(state, s.id))
        .flatten()
        .map(|sch| {
            let m = s.options.len();
            Pairwise {
                options: (0..m).map(|i| name(i as u16)).collect(),
                rows: (0..m)
                    .map(|r| {
                        let cells = (0..m)
                            .map(|col| {
                                (r != col).then(|| {
                                    let n = sch[r][col];
                                    (lang.number(n), n > sch[col][r])
                                })
                            })
                            .collect();
                        (name(r as u16), cells)
                    })
                    .collect(),
            }
        });
    PollResultView {
        index: c.index,
        closed_at: human_time(c.at_ms, lang),
        voters: turnout_text(t.ballots, tr),
        winners: winners_text(s, c, tr),
        tie: t.ballots > 0 && t.winners.len() > 1,
        chart,
        count_heading,
        rows,
        ranking: t.ranking.iter().map(|&n| name(n)).collect(),
        pairwise,
    }
}

fn poll_page(
    state: &AppState,
    me: Option<&SignedIn>,
    s: Snap,
    jurisdiction: String,
    tr: Tr,
    notice: (String, Option<u64>),
) -> PollPage {
    let lang = tr.0;
    let voter = citizen(me);
    let vote = if s.status != PollStatus::Open {
        VoteArea::None
    } else {
        match (me, voter) {
            (None, _) => VoteArea::SignIn,
            (Some(_), Some((j, _))) if j == s.jurisdiction => VoteArea::Form,
            (Some(_), Some(_)) => VoteArea::Cannot(fill(
                &tr.t("poll-vote-other-jurisdiction"),
                &[&jurisdiction],
            )),
            (Some(_), None) => VoteArea::Cannot(tr.t("poll-vote-staff")),
        }
    };
    let mine_choice: &[u16] = s.mine.as_ref().map(|(_, c)| c.as_slice()).unwrap_or(&[]);
    let options: Vec<String> = s.options.iter().map(|o| pick(lang, &o.ru, &o.en)).collect();
    let choices = options
        .iter()
        .enumerate()
        .map(|(i, label)| Choice {
            n: i as u16,
            label: label.clone(),
            checked: mine_choice.contains(&(i as u16)),
        })
        .collect();
    let ranks = if s.method == PollMethod::RankedSchulze {
        (0..options.len())
            .map(|r| {
                let chosen = mine_choice.get(r).copied();
                let mut opts = vec![Opt {
                    value: String::new(),
                    label: tr.t("poll-rank-none"),
                    selected: chosen.is_none(),
                }];
                opts.extend(options.iter().enumerate().map(|(i, label)| Opt {
                    value: i.to_string(),
                    label: label.clone(),
                    selected: chosen == Some(i as u16),
                }));
                RankField {
                    rank: r + 1,
                    label: fill(&tr.t("poll-rank-label"), &[&(r + 1).to_string()]),
                    options: opts,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let result = s.closed.as_ref().map(|c| result_view(state, &s, c, tr));
    PollPage {
        tr,
        nav: Nav::of(me),
        id: s.id,
        question: pick(lang, &s.question_ru, &s.question_en),
        question_other: pick(lang.other(), &s.question_ru, &s.question_en),
        jurisdiction,
        status: status_badge(s.status, tr),
        method: s.method.name(),
        method_name: tr.t(&format!("poll-method-{}", s.method.name())),
        method_help: tr.t(&format!("poll-method-{}-help", s.method.name())),
        announced_at: human_time(s.opened_ms, lang),
        opens_at: human_time(s.opens_at_ms, lang),
        closes_at: human_time(s.closes_at_ms, lang),
        closed_at: s
            .closed
            .as_ref()
            .map(|c| human_time(c.at_ms, lang))
            .unwrap_or_default(),
        organiser: actor_text(&s.actor, tr),
        open: s.status == PollStatus::Open,
        ended: s.status == PollStatus::Ended,
        scheduled: s.status == PollStatus::Scheduled,
        turnout: turnout_text(s.turnout, tr),
        ballots_cast: fill(&tr.t("poll-ballots-cast"), &[&lang.number(s.ballots_cast)]),
        vote,
        mine: s.mine.as_ref().map(|(i, c)| {
            (
                *i,
                c.iter()
                    .map(|&n| option_text(&s.options, n, lang))
                    .collect(),
            )
        }),
        options,
        choices,
        ranks,
        result,
        notice: notice.0,
        notice_entry: notice.1,
        verify_cmd: format!(
            "veche-verify poll {} --log {} --vkey '{}'",
            s.id, state.public_url, state.vkey
        ),
    }
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"{% extends "base.html" %}
{% block title %}{{ tr.t("poll-not-found-title") }} — {{ tr.t("service-name") }}{% endblock %}
{% block content %}
<h1>{{ tr.t("poll-not-found-title") }}</h1>
<p class="lead">{{ tr.t("poll-not-found-text") }}</p>
<p><a href="/polls?lang={{ tr.lang() }}">{{ tr.t("poll-back") }}</a></p>
{% endblock %}"#
)]
pub struct NotFoundPage {
    pub tr: Tr,
    pub nav: Nav,
}

/// `GET /polls/{id}`.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<u64>, PathRejection>,
    query: Result<Query<ShowParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let q = query.map(|q| q.0).unwrap_or_default();
    let (lang, explicit, me) = visit(&state, &headers, q.lang.as_deref()).await?;
    let tr = Tr(lang);
    let snap = id
        .ok()
        .and_then(|Path(id)| snapshots(&state, Some(id), citizen(me.as_ref())).pop());
    let Some(s) = snap else {
        let page = NotFoundPage {
            tr,
            nav: Nav::of(me.as_ref()),
        };
        return render(page.render(), lang, explicit, StatusCode::NOT_FOUND);
    };
    let notice = match q.done.as_deref() {
        Some(a @ ("opened" | "voted")) => tr.t(&format!("poll-done-{a}")),
        _ => String::new(),
    };
    let entry = q
        .entry
        .as_deref()
        .and_then(|e| e.parse().ok())
        .filter(|_| !notice.is_empty());
    let all = crate::jurisdictions::load(&state.store).await?;
    let jurisdiction = jurisdiction_name(&all, &s.jurisdiction, lang);
    let page = poll_page(&state, me.as_ref(), s, jurisdiction, tr, (notice, entry));
    render(page.render(), lang, explicit, StatusCode::OK)
}

// ---- opening a poll ---------------------------------------------------------------------

/// The option rows the form shows at first, and how many more "Add more
/// option rows" adds.
const OPTION_ROWS: usize = 4;

pub struct OptionRow {
    /// 0-based.
    pub n: usize,
    pub ru: String,
    pub en: String,
    /// The error shown is about this row's Russian / English text.
    pub ru_error: bool,
    pub en_error: bool,
}

impl OptionRow {
    /// 1-based, as people count.
    pub fn number(&self) -> usize {
        self.n + 1
    }
}

pub struct MethodChoice {
    pub value: &'static str,
    pub label: String,
    pub help: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "poll_new.html")]
pub struct NewPage {
    pub tr: Tr,
    pub nav: Nav,
    pub can_open: bool,
    /// The organiser's own jurisdiction (fixed), else a choice of all.
    pub fixed_jurisdiction: Option<(String, String)>,
    pub jurisdictions: Vec<Opt>,
    pub question_ru: String,
    pub question_en: String,
    pub options: Vec<OptionRow>,
    pub more_rows: bool,
    pub methods: Vec<MethodChoice>,
    pub opens_at: String,
    pub closes_at: String,
    pub error: FormError,
    pub question_max: usize,
    pub option_max: usize,
}

/// The new-poll form as posted: fixed fields and `option-N-ru` /
/// `option-N-en` pairs.
#[derive(Default)]
struct NewForm {
    csrf: String,
    jurisdiction: String,
    question_ru: String,
    question_en: String,
    options: Vec<(String, String)>,
    method: String,
    opens_at: String,
    closes_at: String,
    /// Minutes east of UTC of the browser's zone at each time (set by
    /// `static/poll.js`); empty without JavaScript, which means UTC.
    opens_tz: String,
    closes_tz: String,
    /// "Add more option rows" was pressed.
    more: bool,
}

impl NewForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = NewForm::default();
        let mut options: Vec<(String, String)> = Vec::new();
        for (k, v) in pairs {
            match k.as_str() {
                "csrf" => f.csrf = v,
                "jurisdiction" => f.jurisdiction = v,
                "question_ru" => f.question_ru = v,
                "question_en" => f.question_en = v,
                "method" => f.method = v,
                "opens_at" => f.opens_at = v,
                "closes_at" => f.closes_at = v,
                "opens_tz" => f.opens_tz = v,
                "closes_tz" => f.closes_tz = v,
                "more" => f.more = true,
                other => {
                    let Some(rest) = other.strip_prefix("option-") else {
                        continue;
                    };
                    let Some((n, side)) = rest.split_once('-') else {
                        continue;
                    };
                    let Ok(n) = n.parse::<usize>() else { continue };
                    if n >= POLL_OPTIONS_MAX {
                        continue;
                    }
                    if options.len() <= n {
                        options.resize(n + 1, Default::default());
                    }
                    match side {
                        "ru" => options[n].0 = v,
                        "en" => options[n].1 = v,
                        _ => {}
                    }
                }
            }
        }
        f.options = options;
        f
    }
}

/// A `datetime-local` value (`YYYY-MM-DDTHH:MM`, seconds optional) in the
/// zone `offset_min` minutes east of UTC, as milliseconds since the epoch.
pub fn parse_local(s: &str, offset_min: i64) -> Option<u64> {
    let (d, t) = s.trim().split_once('T')?;
    let date = Date::from_str(d).ok()?;
    let mut parts = t.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let (sec, milli) = match parts.next() {
        None => (0, 0),
        Some(s) => {
            let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
            let frac = format!("{frac:0<3}");
            (
                whole.parse::<i64>().ok()?,
                frac.get(..3)?.parse::<i64>().ok()?,
            )
        }
    };
    if parts.next().is_some() || !(0..24).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    if !(0..60).contains(&sec) || !(-14 * 60..=14 * 60).contains(&offset_min) {
        return None;
    }
    let ms = date.days_since_epoch() * DAY_MS as i64 + ((h * 60 + m) * 60 + sec) * 1000 + milli
        - offset_min * 60_000;
    u64::try_from(ms).ok()
}

fn offset(s: &str) -> i64 {
    s.trim().parse().unwrap_or(0)
}

async fn new_page(
    state: &AppState,
    me: Option<&SignedIn>,
    lang: Lang,
    form: &NewForm,
    rows: usize,
    error: FormError,
) -> Result<NewPage, Problem> {
    let tr = Tr(lang);
    let all = crate::jurisdictions::load(&state.store).await?;
    let can_open = me.is_some_and(|m| m.is_staff_with(&["organiser"]));
    let bound = me
        .filter(|m| m.account.role.as_deref() != Some("admin"))
        .and_then(|m| m.account.jurisdiction.clone());
    let fixed_jurisdiction = bound.map(|j| (jurisdiction_name(&all, &j, lang), j));
    let chosen = if form.jurisdiction.is_empty() {
        None
    } else {
        Some(form.jurisdiction.as_str())
    };
    let jurisdictions = all
        .iter()
        .map(|(id, _)| Opt {
            value: id.to_string(),
            label: jurisdiction_name(&all, id, lang),
            selected: chosen == Some(id),
        })
        .collect();
    let rows = rows.max(form.options.len()).clamp(2, POLL_OPTIONS_MAX);
    let options = (0..rows)
        .map(|n| {
            let (ru, en) = form.options.get(n).cloned().unwrap_or_default();
            OptionRow {
                n,
                ru,
                en,
                ru_error: error.on("open", &format!("option-{n}-ru")),
                en_error: error.on("open", &format!("option-{n}-en")),
            }
        })
        .collect();
    let method = if form.method.is_empty() {
        "single"
    } else {
        form.method.as_str()
    };
    let methods = PollMethod::ALL
        .into_iter()
        .map(|m| MethodChoice {
            value: m.name(),
            label: tr.t(&format!("poll-method-{}", m.name())),
            help: tr.t(&format!("poll-method-{}-help", m.name())),
            checked: m.name() == method,
        })
        .collect();
    Ok(NewPage {
        tr,
        nav: Nav::of(me),
        can_open,
        fixed_jurisdiction,
        jurisdictions,
        question_ru: form.question_ru.clone(),
        question_en: form.question_en.clone(),
        options,
        more_rows: rows < POLL_OPTIONS_MAX,
        methods,
        opens_at: form.opens_at.clone(),
        closes_at: form.closes_at.clone(),
        error,
        question_max: QUESTION_MAX_CHARS,
        option_max: OPTION_MAX_CHARS,
    })
}

/// `GET /polls/new`: the organiser's form.
pub async fn new_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LangParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let q = query.map(|q| q.0).unwrap_or_default();
    let (lang, explicit, me) = visit(&state, &headers, q.lang.as_deref()).await?;
    let page = new_page(
        &state,
        me.as_ref(),
        lang,
        &NewForm::default(),
        OPTION_ROWS,
        FormError::default(),
    )
    .await?;
    render(page.render(), lang, explicit, StatusCode::OK)
}

/// A refusal to show on the form: the field it is about and the words.
type FieldError = (String, String);

fn form_error(field: &str, message: String) -> FieldError {
    (field.to_string(), message)
}

/// Checks the form as people fill it in (in their language, next to the
/// field), then builds the API request; the API checks the rest.
fn request_of(form: &NewForm, me: &SignedIn, tr: Tr) -> Result<OpenPollRequest, FieldError> {
    let jurisdiction = match &me.account.jurisdiction {
        Some(j) if me.account.role.as_deref() != Some("admin") => j.clone(),
        _ => form.jurisdiction.trim().to_string(),
    };
    if jurisdiction.is_empty() {
        return Err(form_error("jurisdiction", tr.t("poll-err-jurisdiction")));
    }
    for (field, value) in [
        ("question_ru", &form.question_ru),
        ("question_en", &form.question_en),
    ] {
        if value.trim().is_empty() {
            return Err(form_error(field, tr.t(&format!("poll-err-{field}"))));
        }
    }
    let mut options = Vec::new();
    for (n, (ru, en)) in form.options.iter().enumerate() {
        let (ru, en) = (ru.trim(), en.trim());
        match (ru.is_empty(), en.is_empty()) {
            (true, true) => continue,
            (false, true) | (true, false) => {
                let side = if ru.is_empty() { "ru" } else { "en" };
                return Err(form_error(
                    &format!("option-{n}-{side}"),
                    fill(
                        &tr.t(&format!("poll-err-option-{side}")),
                        &[&(n + 1).to_string()],
                    ),
                ));
            }
            (false, false) => options.push(Bilingual {
                ru: ru.to_string(),
                en: en.to_string(),
            }),
        }
    }
    if options.len() < 2 {
        return Err(form_error("option-0-ru", tr.t("poll-err-options-few")));
    }
    let opens_at_ms = if form.opens_at.trim().is_empty() {
        None
    } else {
        Some(
            parse_local(&form.opens_at, offset(&form.opens_tz))
                .ok_or_else(|| form_error("opens_at", tr.t("poll-err-time")))?,
        )
    };
    if form.closes_at.trim().is_empty() {
        return Err(form_error("closes_at", tr.t("poll-err-closes-missing")));
    }
    let closes_at_ms = parse_local(&form.closes_at, offset(&form.closes_tz))
        .ok_or_else(|| form_error("closes_at", tr.t("poll-err-time")))?;
    if closes_at_ms <= opens_at_ms.unwrap_or(0) {
        return Err(form_error("closes_at", tr.t("poll-err-closes-before")));
    }
    if closes_at_ms <= now_ms() {
        return Err(form_error("closes_at", tr.t("poll-err-closes-past")));
    }
    Ok(OpenPollRequest {
        jurisdiction,
        question: Bilingual {
            ru: form.question_ru.clone(),
            en: form.question_en.clone(),
        },
        options,
        method: if form.method.is_empty() {
            "single".into()
        } else {
            form.method.clone()
        },
        opens_at_ms,
        closes_at_ms,
    })
}

/// The form field an API refusal is about, and the message to show there.
fn refusal(p: &Problem, form: &NewForm, tr: Tr) -> FieldError {
    let field = p
        .extensions
        .get("field")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    // `options[i].ru` counts the options sent, which skip empty rows: find
    // the row it came from.
    if let Some(rest) = field.strip_prefix("options[") {
        let (i, side) = rest.split_once("].").unwrap_or((rest, "ru"));
        let i: usize = i.parse().unwrap_or(0);
        let row = form
            .options
            .iter()
            .enumerate()
            .filter(|(_, (ru, en))| !ru.trim().is_empty() || !en.trim().is_empty())
            .nth(i)
            .map(|(n, _)| n)
            .unwrap_or(0);
        let key = if p.detail.contains("repeats") {
            "poll-err-option-repeat"
        } else {
            "poll-err-option-long"
        };
        return (
            format!("option-{row}-{side}"),
            fill(
                &tr.t(key),
                &[&(row + 1).to_string(), &OPTION_MAX_CHARS.to_string()],
            ),
        );
    }
    match (p.slug, field.as_str()) {
        ("invalid-field", f @ ("question_ru" | "question_en")) => (
            f.to_string(),
            fill(
                &tr.t("poll-err-question-long"),
                &[&QUESTION_MAX_CHARS.to_string()],
            ),
        ),
        ("invalid-field", "closes_at_ms") | ("window-in-past", _) => {
            ("closes_at".into(), tr.t("poll-err-closes-past"))
        }
        ("invalid-field", "opens_at_ms") => ("opens_at".into(), tr.t("poll-err-time")),
        ("invalid-field", "method") => ("method".into(), p.detail.clone()),
        ("unknown-jurisdiction", _) => ("jurisdiction".into(), tr.t("poll-err-jurisdiction")),
        ("forbidden", _) => (String::new(), tr.t("poll-err-forbidden")),
        (_, f) => (f.to_string(), p.detail.clone()),
    }
}

/// `POST /polls/new` (form): opens the poll through the API's handler and
/// shows it (303), or the form again with the error next to its field.
/// "Add more option rows" shows the form again with four more rows.
pub async fn open(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LangParams>, QueryRejection>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, Problem> {
    let q = query.map(|q| q.0).unwrap_or_default();
    let (lang, _) = crate::pages::lang_from(q.lang.as_deref(), &headers);
    let tr = Tr(lang);
    let Form(pairs) = form.map_err(|e| Problem::bad_request("invalid-form", e.body_text()))?;
    let form = NewForm::from_pairs(pairs);
    let Some(me) = session::current(&state, &headers).await? else {
        return Ok(sign_in_redirect(lang));
    };
    let rows = form.options.len().max(OPTION_ROWS);
    if form.more && form.csrf == me.csrf_token {
        let page = new_page(
            &state,
            Some(&me),
            lang,
            &form,
            rows + OPTION_ROWS,
            FormError::default(),
        )
        .await?;
        return render(page.render(), lang, false, StatusCode::OK);
    }
    let result: Result<u64, (StatusCode, FieldError)> = if form.csrf != me.csrf_token {
        Err((
            StatusCode::FORBIDDEN,
            (String::new(), tr.t("poll-err-csrf")),
        ))
    } else {
        match request_of(&form, &me, tr) {
            Err(e) => Err((StatusCode::UNPROCESSABLE_ENTITY, e)),
            Ok(req) => match crate::polls::open(State(state.clone()), me, Ok(Json(req))).await {
                Ok(resp) => Ok(api_number(resp, "poll").await?),
                Err(p) => Err((p.status, refusal(&p, &form, tr))),
            },
        }
    };
    match result {
        Ok(id) => Ok(Redirect::to(&format!(
            "/polls/{id}?lang={}&done=opened&entry={id}",
            lang.code()
        ))
        .into_response()),
        Err((status, (field, message))) => {
            let me = session::current(&state, &headers).await?;
            let error = FormError {
                action: "open".into(),
                message,
                field,
            };
            let page = new_page(&state, me.as_ref(), lang, &form, rows, error).await?;
            render(page.render(), lang, false, status)
        }
    }
}

/// `GET /static/poll.js`: voting with a passkey, and the new-poll form's
/// time zone.
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/poll.js"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_local_is_read_in_the_stated_zone() {
        // 2026-03-05T14:05Z.
        let utc = 1_772_719_500_000;
        assert_eq!(parse_local("2026-03-05T14:05", 0), Some(utc));
        assert_eq!(parse_local("2026-03-05T14:05:00", 0), Some(utc));
        assert_eq!(parse_local("2026-03-05T14:05:07.25", 0), Some(utc + 7_250));
        // Moscow (UTC+3): 17:05 there is 14:05 UTC.
        assert_eq!(parse_local("2026-03-05T17:05", 180), Some(utc));
        assert_eq!(parse_local("2026-03-05T09:05", -300), Some(utc));
        for bad in [
            "",
            "2026-03-05",
            "2026-03-05T24:00",
            "2026-03-05T12:60",
            "2026-02-30T12:00",
            "2026-03-05T12:00:00:00",
            "5.3.2026 12:00",
        ] {
            assert_eq!(parse_local(bad, 0), None, "{bad:?}");
        }
        assert_eq!(
            parse_local("2026-03-05T14:05", 15 * 60),
            None,
            "no such zone"
        );
        assert_eq!(
            parse_local("1970-01-01T00:00", 60),
            None,
            "before the epoch"
        );
    }

    #[test]
    fn the_form_keeps_option_rows_in_place() {
        let pairs = [
            ("csrf", "t"),
            ("option-2-en", "c"),
            ("option-0-ru", "а"),
            ("option-0-en", "a"),
            ("option-99-ru", "ignored"),
            ("option-x-ru", "ignored"),
            ("method", "approval"),
            ("more", "1"),
        ];
        let f = NewForm::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        assert_eq!(f.csrf, "t");
        assert_eq!(f.method, "approval");
        assert!(f.more);
        assert_eq!(
            f.options,
            [
                ("а".to_string(), "a".to_string()),
                (String::new(), String::new()),
                (String::new(), "c".to_string()),
            ]
        );
    }

    #[test]
    fn ties_are_listed_in_words() {
        let tr = Tr(Lang::En);
        let items = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(and_list(&items(&["A"]), tr), "A");
        assert_eq!(and_list(&items(&["A", "B"]), tr), "A and B");
        assert_eq!(and_list(&items(&["A", "B", "C"]), Tr(Lang::Ru)), "A, B и C");
        assert_eq!(turnout_text(1, tr), "1 person has voted");
        assert_eq!(turnout_text(21, Tr(Lang::Ru)), "Проголосовал 21 человек");
        assert_eq!(turnout_text(3, Tr(Lang::Ru)), "Проголосовали 3 человека");
        assert_eq!(turnout_text(1_000, tr), "1,000 people have voted");
    }

    fn snap(method: PollMethod, closed: Option<PollClosing>) -> Snap {
        Snap {
            id: 7,
            opened_ms: 0,
            jurisdiction: "town".into(),
            question_ru: "Вопрос <b>?".into(),
            question_en: "Question <b>?".into(),
            options: ["a", "b", "c"]
                .iter()
                .map(|o| PollOption {
                    ru: format!("{o} <ru>"),
                    en: format!("{o} <en>"),
                })
                .collect(),
            method,
            status: if closed.is_some() {
                PollStatus::Closed
            } else {
                PollStatus::Open
            },
            opens_at_ms: 0,
            closes_at_ms: DAY_MS,
            actor: Actor::new(veche_entry::StaffRole::Organiser, "organiser-abcd"),
            turnout: 3,
            ballots_cast: 4,
            closed,
            mine: Some((5, vec![2, 0])),
        }
    }

    fn page_of(s: &Snap, tr: Tr, vote: VoteArea, result: Option<PollResultView>) -> PollPage {
        let lang = tr.0;
        let options: Vec<String> = s.options.iter().map(|o| pick(lang, &o.ru, &o.en)).collect();
        PollPage {
            tr,
            nav: Nav {
                signed_in: true,
                is_staff: false,
                csrf: "tok".into(),
            },
            id: s.id,
            question: pick(lang, &s.question_ru, &s.question_en),
            question_other: pick(lang.other(), &s.question_ru, &s.question_en),
            jurisdiction: "Town".into(),
            status: status_badge(s.status, tr),
            method: s.method.name(),
            method_name: tr.t(&format!("poll-method-{}", s.method.name())),
            method_help: tr.t(&format!("poll-method-{}-help", s.method.name())),
            announced_at: human_time(0, lang),
            opens_at: human_time(0, lang),
            closes_at: human_time(DAY_MS, lang),
            closed_at: String::new(),
            organiser: actor_text(&s.actor, tr),
            open: s.status == PollStatus::Open,
            ended: false,
            scheduled: false,
            turnout: turnout_text(s.turnout, tr),
            ballots_cast: fill(&tr.t("poll-ballots-cast"), &["4"]),
            vote,
            mine: Some((5, vec![options[2].clone(), options[0].clone()])),
            choices: options
                .iter()
                .enumerate()
                .map(|(i, l)| Choice {
                    n: i as u16,
                    label: l.clone(),
                    checked: i == 2,
                })
                .collect(),
            ranks: if s.method == PollMethod::RankedSchulze {
                (1..=3)
                    .map(|rank| RankField {
                        rank,
                        label: fill(&tr.t("poll-rank-label"), &[&rank.to_string()]),
                        options: vec![Opt {
                            value: "1".into(),
                            label: options[1].clone(),
                            selected: true,
                        }],
                    })
                    .collect()
            } else {
                Vec::new()
            },
            options,
            result,
            notice: tr.t("poll-done-voted"),
            notice_entry: Some(5),
            verify_cmd: "veche-verify poll 7".into(),
        }
    }

    /// The poll pages render in both languages from sample data (no
    /// server): every text found, every poll text escaped, the form that
    /// fits the method.
    #[test]
    fn pages_render_in_both_languages() {
        for lang in [Lang::Ru, Lang::En] {
            let tr = Tr(lang);
            for (method, input) in [
                (PollMethod::Single, "type=\"radio\""),
                (PollMethod::Approval, "type=\"checkbox\""),
                (PollMethod::RankedSchulze, "data-rank=\"1\""),
            ] {
                let s = snap(method, None);
                let html = page_of(&s, tr, VoteArea::Form, None).render().unwrap();
                assert!(html.contains(input), "{method:?} {lang:?}");
                assert!(html.contains("id=\"ballot-form\""));
                assert!(html.contains("data-testid=\"my-ballot\""));
                assert!(html.contains("/receipt?index=5"));
                assert!(!html.contains("<b>") && !html.contains("<en>") && !html.contains("<ru>"));
                assert!(!html.contains("poll-"), "a missing text: {html}");
            }
            // Closed with a tie: the chart, the table, the tie in words.
            let closing = PollClosing {
                index: 9,
                at_ms: DAY_MS,
                tally: veche_entry::PollClosed {
                    poll: 7,
                    ballots: 4,
                    counts: vec![2, 0, 2],
                    ranking: vec![0, 2, 1],
                    winners: vec![0, 2],
                },
            };
            let s = snap(PollMethod::Single, Some(closing.clone()));
            let tr_words = winners_text(&s, &closing, tr);
            assert!(
                tr_words.contains(&pick(lang, "a <ru>", "a <en>")),
                "{tr_words}"
            );
            let counts = closing.tally.counts.clone();
            let result = PollResultView {
                index: 9,
                closed_at: human_time(DAY_MS, lang),
                voters: turnout_text(4, tr),
                winners: tr_words,
                tie: true,
                chart: bar_chart(
                    "result-chart",
                    "T",
                    "D",
                    &counts
                        .iter()
                        .map(|&n| Bar::count("x <y>", n, n == 2, lang))
                        .collect::<Vec<_>>(),
                    lang,
                ),
                count_heading: tr.t("poll-count-single"),
                rows: vec![ResultRow {
                    n: 0,
                    option: "a <en>".into(),
                    count: "2".into(),
                    share: percent(2, 4, lang),
                    winner: true,
                }],
                ranking: vec!["a".into()],
                pairwise: Some(Pairwise {
                    options: vec!["a".into(), "b".into()],
                    rows: vec![
                        ("a".into(), vec![None, Some(("1".into(), true))]),
                        ("b".into(), vec![Some(("0".into(), false)), None]),
                    ],
                }),
            };
            let html = page_of(&s, tr, VoteArea::None, Some(result))
                .render()
                .unwrap();
            for needle in [
                "data-testid=\"result\"",
                "<svg class=\"chart bar-chart\"",
                "data-testid=\"result-table\"",
                "class=\"winner\"",
                "data-testid=\"pairwise\"",
                "/api/v1/log/receipt/9",
                "veche-verify poll 7",
                "x &lt;y&gt;",
            ] {
                assert!(html.contains(needle), "{needle} missing in {lang:?}");
            }
            assert!(!html.contains("id=\"ballot-form\""));
            assert!(!html.contains("<y>"));
            assert!(!html.contains("poll-"), "a missing text: {html}");
        }
    }
}

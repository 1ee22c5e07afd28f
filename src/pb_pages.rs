//! Participatory-budgeting pages: the list of rounds (phase and next
//! deadline), the organiser's form that opens a round, and one round: its
//! phases with dates, the projects with their reviews (and a map of those
//! with a location), the residents' proposal form, the organisers' review
//! and open-the-vote forms, the ballot with a live budget bar, and once
//! declared the result: approvals per project, the budget used and, for the
//! Equal Shares rules, what the voters paid, each chart with its data table.
//!
//! Every form but the ballot is a plain form posted back here, which calls
//! the JSON API's handler in `crate::pb_rounds` so that the rules live in
//! one place. Voting needs the passkey, so `static/pb.js` runs the API's two
//! steps; it also keeps the budget bar live while the voter ticks projects.
//! Amounts are typed in currency units with decimals and converted to minor
//! units exactly, from the decimal string (no floating point).

use std::fmt::Write as _;

use askama::Template;
use axum::Json;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;
use veche_entry::kinds::pb::{
    DESCRIPTION_MAX_CHARS, MONEY_MAX, REVIEW_REASON_MAX_CHARS, SCALE_MAX, TITLE_MAX_CHARS,
};
use veche_entry::{Actor, Location, PbRule, Verdict};
use veche_state::{PbDeclared, PbPhase, Review, Round, Voting};

use crate::charts::{Bar, bar_chart, escape};
use crate::i18n::{Lang, Tr};
use crate::page_kit::{
    LangParams, actor_text, api_number, csrf_refused, jurisdiction_name, now_ms, pick, render,
    sign_in_redirect, visit,
};
use crate::pages::Nav;
use crate::pb_rounds::{
    BilingualText, OpenRoundRequest, OpenVotingRequest, ProposeRequest, ReviewRequest,
    SpendingView as ApiSpending,
};
use crate::petition_pages::{Badge, FormError, Opt, fill, human_time, percent, plural};
use crate::poll_pages::parse_local;
use crate::polls::Bilingual;
use crate::problem::Problem;
use crate::server::AppState;
use crate::session::{self, SignedIn};

// ---- money, decimals, places ------------------------------------------------------------

/// An amount of `minor` units at `scale` decimal places, as people write
/// it: `4 000,00 ₽` in Russian, `RUB 4,000.00` in English.
pub fn money(minor: u64, scale: u8, currency: &str, lang: Lang) -> String {
    let unit = 10u64.pow(u32::from(scale));
    let whole = lang.number(minor / unit);
    let frac = format!("{:0w$}", minor % unit, w = usize::from(scale));
    match lang {
        Lang::Ru => {
            let symbol = if currency == "RUB" { "₽" } else { currency };
            if scale == 0 {
                format!("{whole}\u{a0}{symbol}")
            } else {
                format!("{whole},{frac}\u{a0}{symbol}")
            }
        }
        Lang::En if scale == 0 => format!("{currency}\u{a0}{whole}"),
        Lang::En => format!("{currency}\u{a0}{whole}.{frac}"),
    }
}

/// An amount in minor units as the form shows it back (no grouping):
/// `4000,00` / `4000.00`.
fn amount_field(minor: u64, scale: u8, lang: Lang) -> String {
    let unit = 10u64.pow(u32::from(scale));
    if scale == 0 {
        return (minor / unit).to_string();
    }
    let sep = if lang == Lang::Ru { ',' } else { '.' };
    format!(
        "{}{sep}{:0w$}",
        minor / unit,
        minor % unit,
        w = usize::from(scale)
    )
}

/// Whole digits and at most `places` decimals as a count of
/// `10^-places` units, exactly; `None` if not such a number or too large.
fn scaled(int: &str, frac: &str, places: u8) -> Option<u64> {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return None;
    }
    if frac.len() > usize::from(places) {
        return None;
    }
    let whole: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut f = String::from(frac);
    while f.len() < usize::from(places) {
        f.push('0');
    }
    let frac: u64 = if f.is_empty() { 0 } else { f.parse().ok()? };
    whole
        .checked_mul(10u64.pow(u32::from(places)))?
        .checked_add(frac)
}

/// An amount typed in currency units (`4 000,50`, `4000.5`, `4,000.50`) as
/// minor units at `scale`. Spaces group digits in either language; in
/// Russian the decimal separator is a comma or a point, in English a point,
/// with commas allowed only as thousands separators.
pub fn parse_amount(s: &str, scale: u8, lang: Lang) -> Option<u64> {
    let s: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '_'))
        .collect();
    let (int, frac) = match lang {
        Lang::Ru => {
            if s.matches([',', '.']).count() > 1 {
                return None;
            }
            let (i, f) = s.split_once([',', '.']).unwrap_or((&s, ""));
            (i.to_string(), f.to_string())
        }
        Lang::En => {
            let (i, f) = s.split_once('.').unwrap_or((&s, ""));
            let groups: Vec<&str> = i.split(',').collect();
            if groups.len() > 1
                && (groups[0].is_empty()
                    || groups[0].len() > 3
                    || groups[1..].iter().any(|g| g.len() != 3))
            {
                return None;
            }
            (groups.concat(), f.to_string())
        }
    };
    scaled(&int, &frac, scale).filter(|&v| v <= MONEY_MAX)
}

/// Decimal degrees (`54.7104`, `-20,5`) as micro-degrees, exactly; at most
/// six decimals. The range is the API's to check.
pub fn parse_degrees(s: &str) -> Option<i32> {
    let s = s.trim().replace(',', ".");
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(&s)),
    };
    let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let v = i64::try_from(scaled(int, frac, 6)?).ok()?;
    i32::try_from(if neg { -v } else { v }).ok()
}

/// Micro-degrees as decimal degrees in the page's language: `54,7104`.
fn degrees(e6: i32, lang: Lang) -> String {
    let sign = if e6 < 0 { "−" } else { "" };
    let a = e6.unsigned_abs();
    let frac = format!("{:06}", a % 1_000_000);
    let frac = frac.trim_end_matches('0');
    let sep = if lang == Lang::Ru { "," } else { "." };
    if frac.is_empty() {
        format!("{sign}{}", a / 1_000_000)
    } else {
        format!("{sign}{}{sep}{frac}", a / 1_000_000)
    }
}

fn place_text(l: &Location, lang: Lang) -> String {
    format!("{}, {}", degrees(l.lat_e6, lang), degrees(l.lon_e6, lang))
}

/// The categories the proposal form offers (`specs/pb-rounds.md`: a slug
/// from the service's published list). Projects proposed through the API
/// with another slug show the slug itself.
pub const CATEGORIES: [&str; 8] = [
    "green-spaces",
    "streets",
    "lighting",
    "playgrounds",
    "sport",
    "culture",
    "accessibility",
    "other",
];

fn category_label(slug: &str, tr: Tr) -> String {
    if CATEGORIES.contains(&slug) {
        tr.t(&format!("pb-cat-{slug}"))
    } else {
        slug.to_string()
    }
}

fn rule_name(rule: PbRule, tr: Tr) -> String {
    tr.t(&format!("pb-rule-{}", rule.name()))
}

fn rule_help(rule: PbRule, tr: Tr) -> String {
    tr.t(&format!("pb-rule-{}-help", rule.name()))
}

fn phase_badge(phase: PbPhase, tr: Tr) -> Badge {
    Badge {
        class: match phase {
            PbPhase::Proposals | PbPhase::Voting => "open",
            PbPhase::Review => "neutral",
            PbPhase::Counting => "late",
            PbPhase::Result => "done",
        },
        label: tr.t(&format!("pb-phase-{}", phase.name())),
    }
}

fn counted(key: &str, n: u64, tr: Tr) -> String {
    fill(
        &tr.t(&format!("{key}-{}", plural(n, tr.0))),
        &[&tr.0.number(n)],
    )
}

// ---- what a page needs of a round -----------------------------------------------------

struct ProjectSnap {
    id: u64,
    proposed_ms: u64,
    title: String,
    description: String,
    location: Option<Location>,
    category: Option<String>,
    review: Option<Review>,
    reviews: usize,
}

/// One round, copied out under the state's read lock (a round holds every
/// voter's last ballot, so it is not cloned whole).
struct Snap {
    id: u64,
    opened_ms: u64,
    jurisdiction: String,
    title_ru: String,
    title_en: String,
    description_ru: String,
    description_en: String,
    currency: String,
    scale: u8,
    proposals_close_at_ms: u64,
    actor: Actor,
    phase: PbPhase,
    /// Empty in the list's copies, which need only their number.
    projects: Vec<ProjectSnap>,
    project_count: u64,
    voting: Option<Voting>,
    turnout: u64,
    ballots_cast: u64,
    result: Option<PbDeclared>,
}

impl Snap {
    /// The round at `t`; `with_projects` copies the projects too (the
    /// round page), not only their number (the list).
    fn of(r: &Round, t: u64, with_projects: bool) -> Self {
        Snap {
            id: r.id,
            opened_ms: r.opened_ms,
            jurisdiction: r.jurisdiction.clone(),
            title_ru: r.title_ru.clone(),
            title_en: r.title_en.clone(),
            description_ru: r.description_ru.clone(),
            description_en: r.description_en.clone(),
            currency: r.currency.clone(),
            scale: r.scale,
            proposals_close_at_ms: r.proposals_close_at_ms,
            actor: r.actor.clone(),
            phase: r.phase(t),
            project_count: r.projects.len() as u64,
            projects: r
                .projects
                .values()
                .take(if with_projects { usize::MAX } else { 0 })
                .map(|p| ProjectSnap {
                    id: p.id,
                    proposed_ms: p.proposed_ms,
                    title: p.title.clone(),
                    description: p.description.clone(),
                    location: p.location,
                    category: p.category.clone(),
                    review: p.review().cloned(),
                    reviews: p.reviews.len(),
                })
                .collect(),
            voting: r.voting.clone(),
            turnout: r.turnout(),
            ballots_cast: r.ballots_cast,
            result: r.result.clone(),
        }
    }

    fn money(&self, minor: u64, lang: Lang) -> String {
        money(minor, self.scale, &self.currency, lang)
    }

    fn project(&self, id: u64) -> Option<&ProjectSnap> {
        self.projects.iter().find(|p| p.id == id)
    }

    fn project_title(&self, id: u64) -> String {
        self.project(id)
            .map(|p| p.title.clone())
            .unwrap_or_else(|| format!("#{id}"))
    }

    /// The ballot's cost limit, or the budget when there is none (a ballot
    /// cannot usefully approve more than the budget): what the live bar
    /// measures against.
    fn bar_limit(&self) -> Option<u64> {
        self.voting
            .as_ref()
            .map(|v| v.cost_limit.unwrap_or(v.budget))
    }
}

fn snapshot(state: &AppState, id: u64) -> Option<Snap> {
    let t = now_ms();
    let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
    st.round(id).map(|r| Snap::of(r, t, true))
}

/// What the voters paid in a declared Equal Shares round: the API's
/// summary, which computes it once per round.
fn spending_of(state: &AppState, id: u64) -> Option<ApiSpending> {
    let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
    st.round(id).and_then(crate::pb_rounds::spending_of)
}

/// What the round is waiting for, in words.
fn next_deadline(s: &Snap, tr: Tr) -> String {
    let lang = tr.0;
    match (s.phase, &s.voting, &s.result) {
        (PbPhase::Proposals, _, _) => fill(
            &tr.t("pb-next-proposals"),
            &[&human_time(s.proposals_close_at_ms, lang)],
        ),
        (PbPhase::Review, _, _) => fill(
            &tr.t("pb-next-review"),
            &[&human_time(s.proposals_close_at_ms, lang)],
        ),
        (PbPhase::Voting, Some(v), _) => fill(
            &tr.t("pb-next-voting"),
            &[&human_time(v.closes_at_ms, lang)],
        ),
        (PbPhase::Counting, Some(v), _) => fill(
            &tr.t("pb-next-counting"),
            &[&human_time(v.closes_at_ms, lang)],
        ),
        (_, _, Some(d)) => fill(&tr.t("pb-next-result"), &[&human_time(d.at_ms, lang)]),
        _ => String::new(),
    }
}

// ---- the list -------------------------------------------------------------------------

pub struct ListRow {
    pub id: u64,
    pub title: String,
    pub jurisdiction: String,
    pub phase: Badge,
    pub next: String,
    pub facts: String,
    pub result: String,
}

pub struct ListSection {
    pub key: &'static str,
    pub heading: String,
    pub empty: String,
    pub rows: Vec<ListRow>,
}

#[derive(Template)]
#[template(path = "pb_rounds.html")]
pub struct ListPage {
    pub tr: Tr,
    pub nav: Nav,
    pub can_open: bool,
    pub sections: Vec<ListSection>,
}

/// `GET /pb`: current rounds, then finished ones, newest first.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LangParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let q = query.map(|q| q.0).unwrap_or_default();
    let (lang, explicit, me) = visit(&state, &headers, q.lang.as_deref()).await?;
    let tr = Tr(lang);
    let all = crate::jurisdictions::load(&state.store).await?;
    let snaps: Vec<Snap> = {
        let t = now_ms();
        let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
        st.rounds().rev().map(|r| Snap::of(r, t, false)).collect()
    };
    let mut sections: Vec<ListSection> = ["current", "finished"]
        .iter()
        .map(|&key| ListSection {
            key,
            heading: tr.t(&format!("pb-list-{key}")),
            empty: tr.t(&format!("pb-list-{key}-none")),
            rows: Vec::new(),
        })
        .collect();
    for s in snaps {
        let mut facts = vec![counted("pb-projects", s.project_count, tr)];
        if let Some(v) = &s.voting {
            facts.push(fill(&tr.t("pb-budget-of"), &[&s.money(v.budget, lang)]));
            facts.push(counted("pb-turnout", s.turnout, tr));
        }
        let result = s
            .result
            .as_ref()
            .map(|d| {
                fill(
                    &tr.t("pb-list-result"),
                    &[
                        &counted("pb-funded", d.result.winners.len() as u64, tr),
                        &s.money(d.result.spent, lang),
                    ],
                )
            })
            .unwrap_or_default();
        let row = ListRow {
            id: s.id,
            title: pick(lang, &s.title_ru, &s.title_en),
            jurisdiction: jurisdiction_name(&all, &s.jurisdiction, lang),
            phase: phase_badge(s.phase, tr),
            next: next_deadline(&s, tr),
            facts: facts.join(" · "),
            result,
        };
        let i = usize::from(s.phase == PbPhase::Result);
        sections[i].rows.push(row);
    }
    let page = ListPage {
        tr,
        nav: Nav::of(me.as_ref()),
        can_open: me.as_ref().is_some_and(|m| m.is_staff_with(&["organiser"])),
        sections,
    };
    render(page.render(), lang, explicit, StatusCode::OK)
}

// ---- one round ------------------------------------------------------------------------

/// One step of the round's timeline.
pub struct Step {
    pub name: String,
    pub when: String,
    /// `done`, `current` or `upcoming`.
    pub state: &'static str,
}

pub struct ProjectRow {
    pub id: u64,
    /// 1-based, as the map labels it.
    pub number: usize,
    pub title: String,
    pub description: String,
    pub category: String,
    pub place: String,
    pub proposed_at: String,
    /// The review that holds: a badge and its words.
    pub verdict: Option<Badge>,
    pub cost: String,
    pub reason: String,
    pub reviewed_at: String,
    /// "Reviewed again: the last review holds".
    pub replaced: bool,
    pub approvals: String,
    pub funded: Option<bool>,
    /// The organiser's review form, when they may review it.
    pub review_form: Option<ReviewForm>,
}

/// The review form of one project, with what was posted back on error.
pub struct ReviewForm {
    pub action: String,
    pub verdict: String,
    pub cost: String,
    pub reason: String,
    pub error_field: String,
    pub error: String,
}

impl ReviewForm {
    pub fn err(&self, field: &str) -> bool {
        !self.error.is_empty() && self.error_field == field
    }
}

/// Who may propose or vote, as the visitor sees it.
pub enum Area {
    /// Not in this phase: nothing to show.
    None,
    /// Signed out: how to take part.
    SignIn,
    /// A resident of the round's jurisdiction: the form.
    Form,
    /// Signed in, but cannot take part (another jurisdiction, staff).
    Cannot(String),
}

/// A project on the ballot.
pub struct BallotChoice {
    pub id: u64,
    pub title: String,
    pub cost: String,
    pub cost_minor: u64,
    pub checked: bool,
}

pub struct RuleChoice {
    pub value: &'static str,
    pub label: String,
    pub help: String,
    pub checked: bool,
}

/// The visitor's last ballot: its log index, the projects and their total.
pub struct MyBallot {
    pub index: u64,
    pub projects: Vec<(String, String)>,
    pub total: String,
}

pub struct ResultRow {
    pub id: u64,
    pub title: String,
    pub cost: String,
    pub approvals: String,
    pub approvals_n: u64,
    pub share: String,
    pub winner: bool,
}

pub struct SpendingSection {
    pub chart: String,
    pub rows: Vec<(String, String)>,
    pub share: String,
    pub paid_by_voters: String,
    pub greedy_completion: Option<String>,
    pub increments: Option<String>,
}

pub struct ResultView {
    pub index: u64,
    pub declared_at: String,
    pub voters: String,
    pub summary: String,
    /// The winners in the order the rule chose them: title, cost.
    pub winners: Vec<(u64, String, String)>,
    pub chart: String,
    pub rows: Vec<ResultRow>,
    pub budget_chart: String,
    pub budget: String,
    pub spent: String,
    pub left: String,
    pub spent_share: String,
    pub spending: Option<SpendingSection>,
    /// The rule does not charge voters (greedy): why there is no
    /// per-voter chart.
    pub no_spending: String,
}

pub struct MapView {
    pub svg: String,
    pub rows: Vec<(usize, String, String)>,
}

/// Values of the forms posted back with an error.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ActForm {
    pub csrf: String,
    pub action: String,
    pub title: String,
    pub description: String,
    pub category: String,
    pub lat: String,
    pub lon: String,
    pub project: String,
    pub verdict: String,
    pub cost: String,
    pub reason: String,
    pub budget: String,
    pub rule: String,
    pub max_projects: String,
    pub cost_limit: String,
    pub closes_at: String,
    pub closes_tz: String,
}

#[derive(Template)]
#[template(path = "pb_round.html")]
pub struct RoundPage {
    pub tr: Tr,
    pub nav: Nav,
    pub id: u64,
    pub title: String,
    pub title_other: String,
    pub description: String,
    pub jurisdiction: String,
    pub phase: Badge,
    /// `proposals`, `review`, `voting`, `counting` or `result`.
    pub phase_key: &'static str,
    pub steps: Vec<Step>,
    pub organiser: String,
    pub opened_at: String,
    pub currency: String,
    pub budget: String,
    pub rule_name: String,
    pub rule_help: String,
    pub max_projects: String,
    pub cost_limit: String,
    pub turnout: String,
    pub ballots_cast: String,
    pub projects: Vec<ProjectRow>,
    pub map: Option<MapView>,
    pub propose: Area,
    pub categories: Vec<Opt>,
    pub can_open_vote: bool,
    pub feasible_count: String,
    pub unreviewed_count: u64,
    pub rules: Vec<RuleChoice>,
    pub vote: Area,
    pub mine: Option<MyBallot>,
    pub choices: Vec<BallotChoice>,
    /// What the live bar measures against, in minor units, and in words.
    pub limit_minor: u64,
    pub limit_text: String,
    pub limit_is_budget: bool,
    pub max_n: String,
    pub chosen_minor: u64,
    pub chosen_text: String,
    pub chosen_count: usize,
    pub scale: u8,
    pub result: Option<ResultView>,
    pub notice: String,
    pub notice_entry: Option<u64>,
    pub error: FormError,
    pub form: ActForm,
    pub verify_cmd: String,
    pub title_max: usize,
    pub description_max: usize,
    pub reason_max: usize,
}

#[derive(Deserialize, Default)]
pub struct ShowParams {
    lang: Option<String>,
    done: Option<String>,
    entry: Option<String>,
}

/// Whether the visitor is an organiser who may act on this jurisdiction's
/// rounds (administrators and unbound organisers act everywhere).
fn organiser_of(me: Option<&SignedIn>, jurisdiction: &str) -> bool {
    me.is_some_and(|m| {
        m.is_staff_with(&["organiser"])
            && (m.account.role.as_deref() == Some("admin")
                || m.account
                    .jurisdiction
                    .as_deref()
                    .is_none_or(|j| j == jurisdiction))
    })
}

/// The enrolled citizen's jurisdiction, if the visitor is one.
fn citizen_jurisdiction(me: Option<&SignedIn>) -> Option<&str> {
    let m = me?;
    match (m.account.kind.as_str(), &m.account.jurisdiction) {
        ("citizen", Some(j)) if m.account.record_id.is_some() => Some(j.as_str()),
        _ => None,
    }
}

fn area(me: Option<&SignedIn>, s: &Snap, jurisdiction: &str, tr: Tr, staff_key: &str) -> Area {
    match (me, citizen_jurisdiction(me)) {
        (None, _) => Area::SignIn,
        (Some(_), Some(j)) if j == s.jurisdiction => Area::Form,
        (Some(_), Some(_)) => Area::Cannot(fill(&tr.t("pb-other-jurisdiction"), &[jurisdiction])),
        (Some(_), None) => Area::Cannot(tr.t(staff_key)),
    }
}

fn steps(s: &Snap, tr: Tr) -> Vec<Step> {
    let lang = tr.0;
    let current = match s.phase {
        PbPhase::Proposals => 0,
        PbPhase::Review => 1,
        PbPhase::Voting => 2,
        PbPhase::Counting => 3,
        PbPhase::Result => 4,
    };
    let state = |i: usize| match i.cmp(&current) {
        std::cmp::Ordering::Less => "done",
        std::cmp::Ordering::Equal => "current",
        std::cmp::Ordering::Greater => "upcoming",
    };
    let h = |ms: u64| human_time(ms, lang);
    let review_from = s.proposals_close_at_ms;
    vec![
        Step {
            name: tr.t("pb-step-proposals"),
            when: fill(
                &tr.t("pb-step-proposals-when"),
                &[&h(s.opened_ms), &h(s.proposals_close_at_ms)],
            ),
            state: state(0),
        },
        Step {
            name: tr.t("pb-step-review"),
            when: match &s.voting {
                Some(v) => fill(
                    &tr.t("pb-step-review-done"),
                    &[&h(review_from), &h(v.at_ms)],
                ),
                None => fill(&tr.t("pb-step-review-when"), &[&h(review_from)]),
            },
            state: state(1),
        },
        Step {
            name: tr.t("pb-step-voting"),
            when: match &s.voting {
                Some(v) => fill(
                    &tr.t("pb-step-voting-when"),
                    &[&h(v.at_ms), &h(v.closes_at_ms)],
                ),
                None => tr.t("pb-step-voting-later"),
            },
            state: state(2),
        },
        Step {
            name: tr.t("pb-step-result"),
            when: match (&s.result, &s.voting) {
                (Some(d), _) => fill(&tr.t("pb-step-result-when"), &[&h(d.at_ms)]),
                (None, Some(v)) => fill(&tr.t("pb-step-result-after"), &[&h(v.closes_at_ms)]),
                (None, None) => tr.t("pb-step-result-later"),
            },
            state: if current == 4 { "done" } else { state(3) },
        },
    ]
}

/// Layout of the budget bar, in SVG user units.
const BUDGET_WIDTH: f64 = 640.0;

/// A horizontal bar: the budget, and the part of it spent.
fn budget_svg(title: &str, desc: &str, spent: u64, budget: u64, spent_label: &str) -> String {
    let frac = if budget == 0 {
        0.0
    } else {
        spent.min(budget) as f64 / budget as f64
    };
    let w = (BUDGET_WIDTH * frac * 10.0).round() / 10.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart budget-chart" viewBox="0 0 640 56" role="img" aria-labelledby="budget-title budget-desc" data-testid="budget-chart" data-spent="{spent}" data-budget="{budget}"><title id="budget-title">{title}</title><desc id="budget-desc">{desc}</desc><g aria-hidden="true"><rect class="budget-total" x="0" y="4" width="640" height="32"></rect><rect class="budget-spent" x="0" y="4" width="{w}" height="32"></rect><text class="bar-value" x="0" y="52">{label}</text></g></svg>"#,
        title = escape(title),
        desc = escape(desc),
        label = escape(spent_label),
    );
    svg
}

/// Projects with a location as labelled points, equirectangular over their
/// bounding box (longitudes shrunk by the cosine of the mean latitude, so
/// distances look right); no map tiles, nothing fetched.
fn map_svg(points: &[(usize, String, Location)], title: &str, desc: &str) -> String {
    const W: f64 = 640.0;
    const PAD: f64 = 36.0;
    let lat = |l: &Location| f64::from(l.lat_e6) / 1e6;
    let lon = |l: &Location| f64::from(l.lon_e6) / 1e6;
    let (mut lat0, mut lat1, mut lon0, mut lon1) = (90.0f64, -90.0f64, 180.0f64, -180.0f64);
    for (_, _, l) in points {
        lat0 = lat0.min(lat(l));
        lat1 = lat1.max(lat(l));
        lon0 = lon0.min(lon(l));
        lon1 = lon1.max(lon(l));
    }
    let k = ((lat0 + lat1) / 2.0).to_radians().cos().max(0.1);
    // A single point, or points on one line, still get an area around them.
    let span_x = ((lon1 - lon0) * k).max(0.002);
    let span_y = (lat1 - lat0).max(0.002);
    let scale = ((W - 2.0 * PAD) / span_x).min(320.0 / span_y);
    let h = (span_y * scale + 2.0 * PAD).max(160.0);
    let cx = (W - span_x * scale) / 2.0;
    let cy = (h - span_y * scale) / 2.0;
    let mid_x = (lon0 + lon1) / 2.0 * k;
    let mid_y = (lat0 + lat1) / 2.0;
    let x = |l: &Location| cx + (lon(l) * k - mid_x + span_x / 2.0) * scale;
    let y = |l: &Location| cy + (mid_y - lat(l) + span_y / 2.0) * scale;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart pb-map" viewBox="0 0 {W} {h:.0}" role="img" aria-labelledby="map-title map-desc" data-testid="map"><title id="map-title">{}</title><desc id="map-desc">{}</desc><g aria-hidden="true"><rect class="map-ground" x="0" y="0" width="{W}" height="{h:.0}"></rect>"#,
        escape(title),
        escape(desc),
    );
    for (n, name, l) in points {
        let (px, py) = (x(l), y(l));
        let anchor = if px > W * 0.6 { "end" } else { "start" };
        let tx = if px > W * 0.6 { px - 14.0 } else { px + 14.0 };
        let label: String = name.chars().take(40).collect();
        let _ = write!(
            svg,
            r#"<g class="map-point"><title>{n}. {full}</title><circle cx="{px:.1}" cy="{py:.1}" r="10"></circle><text class="map-number" x="{px:.1}" y="{py:.1}" dy="0.35em" text-anchor="middle">{n}</text><text class="map-label" x="{tx:.1}" y="{py:.1}" dy="0.35em" text-anchor="{anchor}">{label}</text></g>"#,
            full = escape(name),
            label = escape(&label),
        );
    }
    svg.push_str("</g></svg>");
    svg
}

fn result_view(state: &AppState, s: &Snap, d: &PbDeclared, tr: Tr) -> Option<ResultView> {
    let lang = tr.0;
    let v = s.voting.as_ref()?;
    let r = &d.result;
    let winner = |id: u64| r.winners.contains(&id);
    let rows: Vec<ResultRow> = v
        .projects
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let n = r.approvals.get(i).copied().unwrap_or(0);
            ResultRow {
                id: p.project,
                title: s.project_title(p.project),
                cost: s.money(p.cost, lang),
                approvals: lang.number(n),
                approvals_n: n,
                share: percent(n, r.ballots, lang),
                winner: winner(p.project),
            }
        })
        .collect();
    let bars: Vec<Bar> = rows
        .iter()
        .map(|row| Bar::count(row.title.clone(), row.approvals_n, row.winner, lang))
        .collect();
    let chart = bar_chart(
        "approvals-chart",
        &tr.t("pb-chart-approvals"),
        &fill(&tr.t("pb-chart-approvals-desc"), &[&lang.number(r.ballots)]),
        &bars,
        lang,
    );
    let cost_of = |id: u64| {
        v.projects
            .iter()
            .find(|p| p.project == id)
            .map(|p| p.cost)
            .unwrap_or(0)
    };
    let spent = s.money(r.spent, lang);
    let budget = s.money(v.budget, lang);
    let spent_share = percent(r.spent, v.budget, lang);
    let budget_chart = budget_svg(
        &tr.t("pb-budget-chart"),
        &fill(
            &tr.t("pb-budget-chart-desc"),
            &[&spent, &budget, &spent_share],
        ),
        r.spent,
        v.budget,
        &fill(&tr.t("pb-budget-bar-label"), &[&spent, &budget]),
    );
    let spending = match v.rule {
        PbRule::Greedy => None,
        _ => spending_of(state, s.id).map(|sp| {
            let pct = if lang == Lang::Ru { "\u{a0}%" } else { "%" };
            let rows: Vec<(String, String)> = sp
                .histogram
                .iter()
                .enumerate()
                .map(|(k, &n)| (format!("{}–{}{pct}", k * 10, (k + 1) * 10), lang.number(n)))
                .collect();
            let bars: Vec<Bar> = sp
                .histogram
                .iter()
                .zip(&rows)
                .map(|(&n, (label, _))| Bar::count(label.clone(), n, false, lang))
                .collect();
            let exact = !sp.share.contains('/');
            let share = s.money(sp.share_units, lang);
            SpendingSection {
                chart: bar_chart(
                    "spending-chart",
                    &tr.t("pb-spending-chart"),
                    &fill(&tr.t("pb-spending-chart-desc"), &[&lang.number(r.ballots)]),
                    &bars,
                    lang,
                ),
                rows,
                share: if exact {
                    share
                } else {
                    fill(&tr.t("pb-about"), &[&share])
                },
                paid_by_voters: s.money(sp.paid_by_voters, lang),
                greedy_completion: (v.rule == PbRule::EqualSharesAdd1Greedy)
                    .then(|| s.money(sp.greedy_completion, lang)),
                increments: (sp.add1_increments > 0).then(|| {
                    fill(
                        &tr.t("pb-spending-increments"),
                        &[&s.money(
                            sp.add1_increments
                                .saturating_mul(10u64.pow(u32::from(s.scale))),
                            lang,
                        )],
                    )
                }),
            }
        }),
    };
    let summary = if r.ballots == 0 {
        tr.t("pb-result-no-votes")
    } else {
        fill(
            &tr.t("pb-result-summary"),
            &[
                &counted("pb-funded", r.winners.len() as u64, tr),
                &spent,
                &budget,
            ],
        )
    };
    Some(ResultView {
        index: d.index,
        declared_at: human_time(d.at_ms, lang),
        voters: counted("pb-turnout", r.ballots, tr),
        summary,
        winners: r
            .winners
            .iter()
            .map(|&w| (w, s.project_title(w), s.money(cost_of(w), lang)))
            .collect(),
        chart,
        rows,
        budget_chart,
        budget,
        spent,
        left: s.money(v.budget.saturating_sub(r.spent), lang),
        spent_share,
        spending,
        no_spending: if v.rule == PbRule::Greedy {
            tr.t("pb-spending-greedy")
        } else {
            String::new()
        },
    })
}

/// The page's flash: a notice after a successful form, or an error with
/// the values posted.
#[derive(Default)]
struct Flash {
    notice: String,
    notice_entry: Option<u64>,
    error: FormError,
    form: ActForm,
}

fn round_page(
    state: &AppState,
    me: Option<&SignedIn>,
    s: Snap,
    jurisdiction: String,
    tr: Tr,
    flash: Flash,
) -> RoundPage {
    let lang = tr.0;
    let organiser = organiser_of(me, &s.jurisdiction);
    let result = s
        .result
        .as_ref()
        .and_then(|d| result_view(state, &s, d, tr));
    let can_review = organiser && s.phase == PbPhase::Review;
    let f = &flash.form;
    let projects: Vec<ProjectRow> = s
        .projects
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let rv = p.review.as_ref();
            let funded = s.result.as_ref().map(|d| d.result.winners.contains(&p.id));
            let approvals = s
                .result
                .as_ref()
                .zip(s.voting.as_ref())
                .and_then(|(d, v)| {
                    let pos = v.projects.iter().position(|c| c.project == p.id)?;
                    d.result.approvals.get(pos).copied()
                })
                .map(|n| counted("pb-approvals", n, tr))
                .unwrap_or_default();
            let action = format!("review-{}", p.id);
            let posted = flash.error.action == action;
            ProjectRow {
                id: p.id,
                number: i + 1,
                title: p.title.clone(),
                description: p.description.clone(),
                category: p
                    .category
                    .as_deref()
                    .map(|c| category_label(c, tr))
                    .unwrap_or_default(),
                place: p
                    .location
                    .as_ref()
                    .map(|l| place_text(l, lang))
                    .unwrap_or_default(),
                proposed_at: human_time(p.proposed_ms, lang),
                verdict: rv.map(|r| match r.verdict {
                    Verdict::Feasible => Badge {
                        class: "done",
                        label: tr.t("pb-verdict-feasible"),
                    },
                    Verdict::Infeasible => Badge {
                        class: "bad",
                        label: tr.t("pb-verdict-infeasible"),
                    },
                }),
                cost: rv
                    .and_then(|r| r.cost)
                    .map(|c| s.money(c, lang))
                    .unwrap_or_default(),
                reason: rv.map(|r| r.reason.clone()).unwrap_or_default(),
                reviewed_at: rv
                    .map(|r| {
                        fill(
                            &tr.t("pb-reviewed-by"),
                            &[&human_time(r.at_ms, lang), &actor_text(&r.actor, tr)],
                        )
                    })
                    .unwrap_or_default(),
                replaced: p.reviews > 1,
                approvals,
                funded,
                review_form: can_review.then(|| ReviewForm {
                    verdict: if posted {
                        f.verdict.clone()
                    } else {
                        rv.map(|r| match r.verdict {
                            Verdict::Feasible => "feasible",
                            Verdict::Infeasible => "infeasible",
                        })
                        .unwrap_or("")
                        .to_string()
                    },
                    cost: if posted {
                        f.cost.clone()
                    } else {
                        rv.and_then(|r| r.cost)
                            .map(|c| amount_field(c, s.scale, lang))
                            .unwrap_or_default()
                    },
                    reason: if posted {
                        f.reason.clone()
                    } else {
                        rv.map(|r| r.reason.clone()).unwrap_or_default()
                    },
                    error_field: if posted {
                        flash.error.field.clone()
                    } else {
                        String::new()
                    },
                    error: if posted {
                        flash.error.message.clone()
                    } else {
                        String::new()
                    },
                    action,
                }),
            }
        })
        .collect();
    let points: Vec<(usize, String, Location)> = s
        .projects
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.location.map(|l| (i + 1, p.title.clone(), l)))
        .collect();
    let map = (!points.is_empty()).then(|| MapView {
        svg: map_svg(
            &points,
            &tr.t("pb-map-title"),
            &fill(&tr.t("pb-map-desc"), &[&lang.number(points.len() as u64)]),
        ),
        rows: points
            .iter()
            .map(|(n, title, l)| (*n, title.clone(), place_text(l, lang)))
            .collect(),
    });
    let propose = if s.phase == PbPhase::Proposals {
        area(me, &s, &jurisdiction, tr, "pb-propose-staff")
    } else {
        Area::None
    };
    let vote = if s.phase == PbPhase::Voting {
        area(me, &s, &jurisdiction, tr, "pb-vote-staff")
    } else {
        Area::None
    };
    let mine_raw = if matches!(vote, Area::Form) || s.phase != PbPhase::Proposals {
        me.and_then(|m| crate::pb_rounds::my_ballot(state, m, s.id))
    } else {
        None
    };
    let cost_on_ballot = |id: u64| {
        s.voting
            .as_ref()
            .and_then(|v| v.projects.iter().find(|p| p.project == id))
            .map(|p| p.cost)
            .unwrap_or(0)
    };
    let mine = mine_raw.as_ref().map(|(index, approved)| MyBallot {
        index: *index,
        projects: approved
            .iter()
            .map(|&p| (s.project_title(p), s.money(cost_on_ballot(p), lang)))
            .collect(),
        total: s.money(approved.iter().map(|&p| cost_on_ballot(p)).sum(), lang),
    });
    let ticked: &[u64] = mine_raw.as_ref().map(|(_, a)| a.as_slice()).unwrap_or(&[]);
    let choices: Vec<BallotChoice> = s
        .voting
        .as_ref()
        .map(|v| {
            v.projects
                .iter()
                .map(|p| BallotChoice {
                    id: p.project,
                    title: s.project_title(p.project),
                    cost: s.money(p.cost, lang),
                    cost_minor: p.cost,
                    checked: ticked.contains(&p.project),
                })
                .collect()
        })
        .unwrap_or_default();
    let chosen_minor: u64 = choices
        .iter()
        .filter(|c| c.checked)
        .map(|c| c.cost_minor)
        .sum();
    let chosen_count = choices.iter().filter(|c| c.checked).count();
    let limit_minor = s.bar_limit().unwrap_or(0);
    let rule_chosen = if f.rule.is_empty() {
        "greedy"
    } else {
        f.rule.as_str()
    };
    let rules = PbRule::ALL
        .into_iter()
        .map(|r| RuleChoice {
            value: r.name(),
            label: rule_name(r, tr),
            help: rule_help(r, tr),
            checked: r.name() == rule_chosen,
        })
        .collect();
    let feasible = s
        .projects
        .iter()
        .filter(|p| {
            p.review
                .as_ref()
                .is_some_and(|r| r.verdict == Verdict::Feasible)
        })
        .count() as u64;
    let unreviewed = s.projects.iter().filter(|p| p.review.is_none()).count() as u64;
    let categories = std::iter::once(Opt {
        value: String::new(),
        label: tr.t("pb-cat-none"),
        selected: f.category.is_empty(),
    })
    .chain(CATEGORIES.iter().map(|c| Opt {
        value: c.to_string(),
        label: category_label(c, tr),
        selected: f.category == *c,
    }))
    .collect();
    let v = s.voting.as_ref();
    RoundPage {
        tr,
        nav: Nav::of(me),
        id: s.id,
        title: pick(lang, &s.title_ru, &s.title_en),
        title_other: pick(lang.other(), &s.title_ru, &s.title_en),
        description: pick(lang, &s.description_ru, &s.description_en),
        jurisdiction,
        phase: phase_badge(s.phase, tr),
        phase_key: s.phase.name(),
        steps: steps(&s, tr),
        organiser: actor_text(&s.actor, tr),
        opened_at: human_time(s.opened_ms, lang),
        currency: s.currency.clone(),
        budget: v.map(|v| s.money(v.budget, lang)).unwrap_or_default(),
        rule_name: v.map(|v| rule_name(v.rule, tr)).unwrap_or_default(),
        rule_help: v.map(|v| rule_help(v.rule, tr)).unwrap_or_default(),
        max_projects: v
            .map(|v| match v.max_projects {
                Some(n) => lang.number(u64::from(n)),
                None => tr.t("pb-no-limit"),
            })
            .unwrap_or_default(),
        cost_limit: v
            .map(|v| match v.cost_limit {
                Some(c) => s.money(c, lang),
                None => tr.t("pb-no-limit"),
            })
            .unwrap_or_default(),
        turnout: counted("pb-turnout", s.turnout, tr),
        ballots_cast: fill(&tr.t("pb-ballots-cast"), &[&lang.number(s.ballots_cast)]),
        projects,
        map,
        propose,
        categories,
        can_open_vote: can_review,
        feasible_count: counted("pb-projects", feasible, tr),
        unreviewed_count: unreviewed,
        rules,
        vote,
        mine,
        choices,
        limit_minor,
        limit_text: s.money(limit_minor, lang),
        limit_is_budget: v.is_some_and(|v| v.cost_limit.is_none()),
        max_n: v
            .and_then(|v| v.max_projects)
            .map(|n| n.to_string())
            .unwrap_or_default(),
        chosen_minor,
        chosen_text: s.money(chosen_minor, lang),
        chosen_count,
        scale: s.scale,
        result,
        notice: flash.notice,
        notice_entry: flash.notice_entry,
        error: flash.error,
        form: flash.form,
        verify_cmd: format!(
            "veche-verify pb-round {} --log {} --vkey '{}'",
            s.id, state.public_url, state.vkey
        ),
        title_max: TITLE_MAX_CHARS,
        description_max: DESCRIPTION_MAX_CHARS,
        reason_max: REVIEW_REASON_MAX_CHARS,
    }
}

impl RoundPage {
    /// The live bar's starting value: the chosen total, capped at the limit
    /// (a `<progress>` cannot show more than its maximum; the words can).
    pub fn bar_value(&self) -> u64 {
        self.chosen_minor.min(self.limit_minor)
    }

    pub fn over(&self) -> bool {
        self.chosen_minor > self.limit_minor
            || self
                .max_n
                .parse::<usize>()
                .is_ok_and(|n| self.chosen_count > n)
    }

    pub fn err(&self, action: &str, field: &str) -> bool {
        self.error.on(action, field)
    }

    /// The element the error summary links to: the field, else its form.
    pub fn error_target(&self) -> String {
        if self.error.field.is_empty() {
            self.error.action.clone()
        } else {
            format!("{}-{}", self.error.action, self.error.field)
        }
    }

    /// The ballot's constraints in words.
    pub fn constraints(&self) -> String {
        let tr = self.tr;
        let count = if self.max_n.is_empty() {
            tr.t("pb-constraints-any-count")
        } else {
            fill(&tr.t("pb-constraints-count"), &[&self.max_n])
        };
        let cost = if self.limit_is_budget {
            fill(&tr.t("pb-constraints-budget"), &[&self.limit_text])
        } else {
            fill(&tr.t("pb-constraints-cost"), &[&self.limit_text])
        };
        format!("{count} {cost}")
    }

    pub fn chosen_words(&self) -> String {
        fill(
            &self.tr.t("pb-bar-chosen"),
            &[&self.chosen_text, &self.limit_text],
        )
    }

    pub fn count_words(&self) -> String {
        let n = self.chosen_count.to_string();
        if self.max_n.is_empty() {
            fill(&self.tr.t("pb-bar-count"), &[&n])
        } else {
            fill(&self.tr.t("pb-bar-count-max"), &[&n, &self.max_n])
        }
    }

    pub fn over_words(&self) -> String {
        let tr = self.tr;
        if self.chosen_minor > self.limit_minor {
            let key = if self.limit_is_budget {
                "pb-bar-over-budget"
            } else {
                "pb-bar-over-limit"
            };
            let by = money(
                self.chosen_minor - self.limit_minor,
                self.scale,
                &self.currency,
                tr.0,
            );
            fill(&tr.t(key), &[&by])
        } else if self.over() {
            fill(&tr.t("pb-bar-over-count"), &[&self.max_n])
        } else {
            String::new()
        }
    }
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"{% extends "base.html" %}
{% block title %}{{ tr.t("pb-not-found-title") }} — {{ tr.t("service-name") }}{% endblock %}
{% block content %}
<h1>{{ tr.t("pb-not-found-title") }}</h1>
<p class="lead">{{ tr.t("pb-not-found-text") }}</p>
<p><a href="/pb?lang={{ tr.lang() }}">{{ tr.t("pb-back") }}</a></p>
{% endblock %}"#
)]
pub struct NotFoundPage {
    pub tr: Tr,
    pub nav: Nav,
}

async fn show_round(
    state: &AppState,
    me: Option<&SignedIn>,
    id: u64,
    tr: Tr,
    flash: Flash,
) -> Result<Option<RoundPage>, Problem> {
    let Some(s) = snapshot(state, id) else {
        return Ok(None);
    };
    let all = crate::jurisdictions::load(&state.store).await?;
    let jurisdiction = jurisdiction_name(&all, &s.jurisdiction, tr.0);
    Ok(Some(round_page(state, me, s, jurisdiction, tr, flash)))
}

fn not_found(me: Option<&SignedIn>, tr: Tr, explicit: bool) -> Result<Response, Problem> {
    let page = NotFoundPage {
        tr,
        nav: Nav::of(me),
    };
    render(page.render(), tr.0, explicit, StatusCode::NOT_FOUND)
}

const DONE: [&str; 5] = ["opened", "proposed", "reviewed", "voting", "voted"];

/// `GET /pb/{id}`.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<u64>, PathRejection>,
    query: Result<Query<ShowParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let q = query.map(|q| q.0).unwrap_or_default();
    let (lang, explicit, me) = visit(&state, &headers, q.lang.as_deref()).await?;
    let tr = Tr(lang);
    let Ok(Path(id)) = id else {
        return not_found(me.as_ref(), tr, explicit);
    };
    let notice = match q.done.as_deref() {
        Some(a) if DONE.contains(&a) => tr.t(&format!("pb-done-{a}")),
        _ => String::new(),
    };
    let flash = Flash {
        notice_entry: q
            .entry
            .as_deref()
            .and_then(|e| e.parse().ok())
            .filter(|_| !notice.is_empty()),
        notice,
        ..Flash::default()
    };
    match show_round(&state, me.as_ref(), id, tr, flash).await? {
        Some(page) => render(page.render(), lang, explicit, StatusCode::OK),
        None => not_found(me.as_ref(), tr, explicit),
    }
}

// ---- the forms on the round page -----------------------------------------------------

/// A refusal to show next to a form field.
fn form_problem(field: &str, message: String) -> Problem {
    Problem::unprocessable("invalid-field", message).with("field", field.to_string())
}

/// The field a problem is about (`location.lat_e6` → `location`).
fn field_of(p: &Problem) -> String {
    p.extensions
        .get("field")
        .and_then(Value::as_str)
        .map(|f| f.split(['.', '[']).next().unwrap_or(f).to_string())
        .unwrap_or_default()
}

/// A problem as the page says it: in the page's language for the refusals
/// people meet, else the API's own words.
fn problem_message(p: &Problem, tr: Tr) -> String {
    const KNOWN: [&str; 15] = [
        "csrf",
        "forbidden",
        "citizens-only",
        "wrong-jurisdiction",
        "not-taking-proposals",
        "round-full",
        "not-in-review",
        "unreviewed-project",
        "no-feasible-project",
        "cost-limit-unusable",
        "window-in-past",
        "rate-limited",
        "unknown-jurisdiction",
        "over-cost-limit",
        "too-many-projects",
    ];
    if KNOWN.contains(&p.slug) {
        tr.t(&format!("pb-err-{}", p.slug))
    } else {
        p.detail.clone()
    }
}

/// Where a refusal shows: the API's field names mapped to the form's.
fn error_of(p: &Problem, action: &str, tr: Tr) -> FormError {
    let field = match (p.slug, field_of(p).as_str()) {
        ("window-in-past", _) | (_, "closes_at_ms") => "closes_at".to_string(),
        (_, "location") => "lat".to_string(),
        ("cost-limit-unusable", _) => "cost_limit".to_string(),
        (_, f) => f.to_string(),
    };
    FormError {
        action: action.to_string(),
        message: problem_message(p, tr),
        field,
    }
}

/// A textarea's text with the line breaks the log takes: browsers post
/// them as CR LF, and entries allow no control character but LF.
fn lines(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

fn optional(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

fn amount(field: &str, s: &str, scale: u8, tr: Tr) -> Result<u64, Problem> {
    if s.trim().is_empty() {
        return Err(form_problem(
            field,
            tr.t(&format!("pb-err-{field}-missing")),
        ));
    }
    parse_amount(s, scale, tr.0)
        .filter(|&v| v > 0)
        .ok_or_else(|| {
            form_problem(
                field,
                fill(
                    &tr.t("pb-err-amount"),
                    &[&amount_example(scale, tr.0), &scale.to_string()],
                ),
            )
        })
}

/// An amount as the form takes it, for the error message: `4 000,50`.
fn amount_example(scale: u8, lang: Lang) -> String {
    let unit = 10u64.pow(u32::from(scale));
    let minor = 4_000 * unit + unit / 2;
    let s = money(minor, scale, "", lang);
    s.trim_matches(|c: char| c == '\u{a0}').to_string()
}

async fn dispatch(
    state: &AppState,
    me: SignedIn,
    id: u64,
    form: &ActForm,
    tr: Tr,
) -> Result<u64, Problem> {
    let s = State(state.clone());
    let scale = crate::pb_rounds::with_round(state, id, |r| Ok(r.scale))?;
    let resp = match form.action.as_str() {
        "propose" => {
            if form.title.trim().is_empty() {
                return Err(form_problem("title", tr.t("pb-err-title")));
            }
            if form.description.trim().is_empty() {
                return Err(form_problem("description", tr.t("pb-err-description")));
            }
            let location = match (optional(&form.lat), optional(&form.lon)) {
                (None, None) => None,
                (Some(lat), Some(lon)) => {
                    let lat = parse_degrees(lat)
                        .ok_or_else(|| form_problem("lat", tr.t("pb-err-place")))?;
                    let lon = parse_degrees(lon)
                        .ok_or_else(|| form_problem("lon", tr.t("pb-err-place")))?;
                    Some(Location {
                        lat_e6: lat,
                        lon_e6: lon,
                    })
                }
                (None, Some(_)) => return Err(form_problem("lat", tr.t("pb-err-place-both"))),
                (Some(_), None) => return Err(form_problem("lon", tr.t("pb-err-place-both"))),
            };
            let req = ProposeRequest {
                title: form.title.clone(),
                description: lines(&form.description),
                location,
                category: optional(&form.category).map(str::to_string),
            };
            crate::pb_rounds::propose(s, me, Ok(Path(id)), Ok(Json(req))).await?
        }
        "review" => {
            let project: u64 = form
                .project
                .parse()
                .map_err(|_| Problem::bad_request("invalid-form", "project: not a number"))?;
            let req = match form.verdict.as_str() {
                "feasible" => ReviewRequest {
                    verdict: "feasible".into(),
                    cost: Some(amount("cost", &form.cost, scale, tr)?),
                    reason: lines(&form.reason),
                },
                "infeasible" => {
                    if form.reason.trim().is_empty() {
                        return Err(form_problem("reason", tr.t("pb-err-reason")));
                    }
                    ReviewRequest {
                        verdict: "infeasible".into(),
                        cost: None,
                        reason: lines(&form.reason),
                    }
                }
                _ => return Err(form_problem("verdict", tr.t("pb-err-verdict"))),
            };
            crate::pb_rounds::review(s, me, Ok(Path(project)), Ok(Json(req))).await?
        }
        "voting" => {
            let budget = amount("budget", &form.budget, scale, tr)?;
            let max_projects = match optional(&form.max_projects) {
                None => None,
                Some(m) => Some(
                    m.parse::<u16>()
                        .ok()
                        .filter(|&n| n >= 1)
                        .ok_or_else(|| form_problem("max_projects", tr.t("pb-err-max")))?,
                ),
            };
            let cost_limit = match optional(&form.cost_limit) {
                None => None,
                Some(c) => Some(amount("cost_limit", c, scale, tr)?),
            };
            if form.closes_at.trim().is_empty() {
                return Err(form_problem("closes_at", tr.t("pb-err-closes-missing")));
            }
            let closes_at_ms = parse_local(&form.closes_at, tz(&form.closes_tz))
                .ok_or_else(|| form_problem("closes_at", tr.t("pb-err-time")))?;
            if closes_at_ms <= now_ms() {
                return Err(form_problem("closes_at", tr.t("pb-err-window-in-past")));
            }
            let req = OpenVotingRequest {
                budget,
                rule: if form.rule.is_empty() {
                    "greedy".into()
                } else {
                    form.rule.clone()
                },
                max_projects,
                cost_limit,
                closes_at_ms,
            };
            crate::pb_rounds::open_voting(s, me, Ok(Path(id)), Ok(Json(req))).await?
        }
        other => {
            return Err(Problem::bad_request(
                "invalid-form",
                format!("unknown action {other:?}"),
            ));
        }
    };
    api_number(resp, "index").await
}

fn tz(s: &str) -> i64 {
    s.trim().parse().unwrap_or(0)
}

/// `POST /pb/{id}` (form): a resident's proposal, an organiser's review or
/// the opening of the vote, through the JSON API's handler; back to the
/// page with a notice (303) or with the error next to its field.
pub async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<u64>, PathRejection>,
    query: Result<Query<LangParams>, QueryRejection>,
    form: Result<Form<ActForm>, FormRejection>,
) -> Result<Response, Problem> {
    let q = query.map(|q| q.0).unwrap_or_default();
    let (lang, _, me) = visit(&state, &headers, q.lang.as_deref()).await?;
    let tr = Tr(lang);
    let Ok(Path(id)) = id else {
        return not_found(me.as_ref(), tr, false);
    };
    let Form(form) = form.map_err(|e| Problem::bad_request("invalid-form", e.body_text()))?;
    let Some(me) = me else {
        return Ok(sign_in_redirect(lang));
    };
    // Review errors belong to one project's form.
    let action = match form.action.as_str() {
        "review" => format!("review-{}", form.project),
        a => a.to_string(),
    };
    let result = if form.csrf != me.csrf_token {
        Err(csrf_refused())
    } else {
        dispatch(&state, me, id, &form, tr).await
    };
    match result {
        Ok(index) => {
            let (done, anchor) = match form.action.as_str() {
                "propose" => ("proposed", format!("project-{index}")),
                "review" => ("reviewed", format!("project-{}", form.project)),
                _ => ("voting", "ballot".to_string()),
            };
            Ok(Redirect::to(&format!(
                "/pb/{id}?lang={}&done={done}&entry={index}#{anchor}",
                lang.code()
            ))
            .into_response())
        }
        Err(p) => {
            let status = p.status;
            let me = session::current(&state, &headers).await?;
            let flash = Flash {
                error: error_of(&p, &action, tr),
                form,
                ..Flash::default()
            };
            match show_round(&state, me.as_ref(), id, tr, flash).await? {
                Some(page) => render(page.render(), lang, false, status),
                None => not_found(me.as_ref(), tr, false),
            }
        }
    }
}

// ---- opening a round --------------------------------------------------------------------

/// The new-round form as posted.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewForm {
    pub csrf: String,
    pub jurisdiction: String,
    pub title_ru: String,
    pub title_en: String,
    pub description_ru: String,
    pub description_en: String,
    pub currency: String,
    pub scale: String,
    pub proposals_close_at: String,
    pub proposals_tz: String,
}

#[derive(Template)]
#[template(path = "pb_new.html")]
pub struct NewPage {
    pub tr: Tr,
    pub nav: Nav,
    pub can_open: bool,
    pub fixed_jurisdiction: Option<(String, String)>,
    pub jurisdictions: Vec<Opt>,
    pub scales: Vec<Opt>,
    pub form: NewForm,
    pub error: FormError,
    pub title_max: usize,
    pub description_max: usize,
}

impl NewPage {
    pub fn err(&self, field: &str) -> bool {
        self.error.on("open", field)
    }
}

async fn new_page(
    state: &AppState,
    me: Option<&SignedIn>,
    lang: Lang,
    mut form: NewForm,
    error: FormError,
) -> Result<NewPage, Problem> {
    let tr = Tr(lang);
    let all = crate::jurisdictions::load(&state.store).await?;
    let bound = me
        .filter(|m| m.account.role.as_deref() != Some("admin"))
        .and_then(|m| m.account.jurisdiction.clone());
    let fixed_jurisdiction = bound.map(|j| (jurisdiction_name(&all, &j, lang), j));
    let jurisdictions = all
        .iter()
        .map(|(id, _)| Opt {
            value: id.to_string(),
            label: jurisdiction_name(&all, id, lang),
            selected: form.jurisdiction == *id,
        })
        .collect();
    if form.currency.is_empty() {
        form.currency = "RUB".into();
    }
    if form.scale.is_empty() {
        form.scale = "2".into();
    }
    let scales = (0..=SCALE_MAX)
        .map(|n| Opt {
            value: n.to_string(),
            label: tr.t(&format!("pb-new-scale-{n}")),
            selected: form.scale == n.to_string(),
        })
        .collect();
    Ok(NewPage {
        tr,
        nav: Nav::of(me),
        can_open: me.is_some_and(|m| m.is_staff_with(&["organiser"])),
        fixed_jurisdiction,
        jurisdictions,
        scales,
        form,
        error,
        title_max: TITLE_MAX_CHARS,
        description_max: DESCRIPTION_MAX_CHARS,
    })
}

/// `GET /pb/new`: the organiser's form.
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
        NewForm::default(),
        FormError::default(),
    )
    .await?;
    render(page.render(), lang, explicit, StatusCode::OK)
}

/// Checks the form as people fill it in (in their language, next to the
/// field), then builds the API request; the API checks the rest.
fn open_request(form: &NewForm, me: &SignedIn, tr: Tr) -> Result<OpenRoundRequest, Problem> {
    let jurisdiction = match &me.account.jurisdiction {
        Some(j) if me.account.role.as_deref() != Some("admin") => j.clone(),
        _ => form.jurisdiction.trim().to_string(),
    };
    if jurisdiction.is_empty() {
        return Err(form_problem("jurisdiction", tr.t("pb-err-jurisdiction")));
    }
    for (field, value) in [
        ("title_ru", &form.title_ru),
        ("title_en", &form.title_en),
        ("description_ru", &form.description_ru),
        ("description_en", &form.description_en),
    ] {
        if value.trim().is_empty() {
            return Err(form_problem(field, tr.t(&format!("pb-err-{field}"))));
        }
    }
    let currency = form.currency.trim().to_ascii_uppercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(form_problem("currency", tr.t("pb-err-currency")));
    }
    let scale: u8 = form
        .scale
        .trim()
        .parse()
        .ok()
        .filter(|&s| s <= SCALE_MAX)
        .ok_or_else(|| form_problem("scale", tr.t("pb-err-scale")))?;
    if form.proposals_close_at.trim().is_empty() {
        return Err(form_problem(
            "proposals_close_at",
            tr.t("pb-err-proposals-missing"),
        ));
    }
    let proposals_close_at_ms = parse_local(&form.proposals_close_at, tz(&form.proposals_tz))
        .ok_or_else(|| form_problem("proposals_close_at", tr.t("pb-err-time")))?;
    if proposals_close_at_ms <= now_ms() {
        return Err(form_problem(
            "proposals_close_at",
            tr.t("pb-err-proposals-past"),
        ));
    }
    Ok(OpenRoundRequest {
        jurisdiction,
        title: Bilingual {
            ru: form.title_ru.clone(),
            en: form.title_en.clone(),
        },
        description: BilingualText {
            ru: lines(&form.description_ru),
            en: lines(&form.description_en),
        },
        currency: Some(currency),
        scale: Some(scale),
        proposals_close_at_ms,
    })
}

/// `POST /pb/new` (form): opens the round through the API's handler and
/// shows it (303), or the form again with the error next to its field.
pub async fn open(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LangParams>, QueryRejection>,
    form: Result<Form<NewForm>, FormRejection>,
) -> Result<Response, Problem> {
    let q = query.map(|q| q.0).unwrap_or_default();
    let (lang, _) = crate::pages::lang_from(q.lang.as_deref(), &headers);
    let tr = Tr(lang);
    let Form(form) = form.map_err(|e| Problem::bad_request("invalid-form", e.body_text()))?;
    let Some(me) = session::current(&state, &headers).await? else {
        return Ok(sign_in_redirect(lang));
    };
    let result = if form.csrf != me.csrf_token {
        Err(csrf_refused())
    } else {
        match open_request(&form, &me, tr) {
            Err(p) => Err(p),
            Ok(req) => {
                match crate::pb_rounds::open(State(state.clone()), me, Ok(Json(req))).await {
                    Ok(resp) => api_number(resp, "index").await,
                    Err(p) => Err(p),
                }
            }
        }
    };
    match result {
        Ok(id) => Ok(Redirect::to(&format!(
            "/pb/{id}?lang={}&done=opened&entry={id}",
            lang.code()
        ))
        .into_response()),
        Err(p) => {
            let status = p.status;
            let mut error = error_of(&p, "open", tr);
            if error.field == "closes_at" || error.field == "proposals_close_at_ms" {
                error.field = "proposals_close_at".into();
                error.message = tr.t("pb-err-proposals-past");
            }
            let me = session::current(&state, &headers).await?;
            let page = new_page(&state, me.as_ref(), lang, form, error).await?;
            render(page.render(), lang, false, status)
        }
    }
}

/// `GET /static/pb.js`: the live budget bar, voting with a passkey, and
/// the forms' time zone.
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/pb.js"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_written_per_language() {
        assert_eq!(money(400_000, 2, "RUB", Lang::Ru), "4\u{a0}000,00\u{a0}₽");
        assert_eq!(money(400_000, 2, "RUB", Lang::En), "RUB\u{a0}4,000.00");
        assert_eq!(money(5, 2, "EUR", Lang::Ru), "0,05\u{a0}EUR");
        assert_eq!(money(1_234, 0, "JPY", Lang::En), "JPY\u{a0}1,234");
        assert_eq!(money(12_345, 3, "KWD", Lang::En), "KWD\u{a0}12.345");
    }

    #[test]
    fn amounts_parse_exactly() {
        let ru = |s| parse_amount(s, 2, Lang::Ru);
        let en = |s| parse_amount(s, 2, Lang::En);
        assert_eq!(ru("4 000,50"), Some(400_050));
        assert_eq!(ru("4\u{a0}000.5"), Some(400_050));
        assert_eq!(ru("4000"), Some(400_000));
        assert_eq!(ru(",5"), Some(50));
        assert_eq!(en("4,000.50"), Some(400_050));
        assert_eq!(en("4000.5"), Some(400_050));
        assert_eq!(en("1,234,567"), Some(123_456_700));
        // A comma in English is only a thousands separator.
        assert_eq!(en("4000,50"), None);
        assert_eq!(en("4,00"), None);
        // Too many decimals, two separators, signs, junk, overflow.
        assert_eq!(ru("1,005"), None);
        assert_eq!(ru("1,000.5"), None);
        assert_eq!(ru("-5"), None);
        assert_eq!(ru("5 ₽"), None);
        assert_eq!(ru(""), None);
        assert_eq!(ru(","), None);
        assert_eq!(ru("90071992547409.91"), Some(MONEY_MAX));
        assert_eq!(ru("90071992547409.92"), None);
        assert_eq!(parse_amount("184467440737095516.16", 2, Lang::En), None);
        assert_eq!(parse_amount("12", 0, Lang::En), Some(12));
        assert_eq!(parse_amount("12.5", 0, Lang::En), None);
    }

    #[test]
    fn amounts_round_trip_through_the_form() {
        for lang in [Lang::Ru, Lang::En] {
            for scale in 0..=SCALE_MAX {
                for minor in [1, 99, 400_050, MONEY_MAX] {
                    let typed = amount_field(minor, scale, lang);
                    assert_eq!(parse_amount(&typed, scale, lang), Some(minor), "{typed}");
                    let shown = money(minor, scale, "", lang).trim().to_string();
                    assert_eq!(parse_amount(&shown, scale, lang), Some(minor), "{shown}");
                }
            }
        }
    }

    #[test]
    fn degrees_parse_exactly() {
        assert_eq!(parse_degrees("54.7104"), Some(54_710_400));
        assert_eq!(parse_degrees("54,7104"), Some(54_710_400));
        assert_eq!(parse_degrees("-0.000001"), Some(-1));
        assert_eq!(parse_degrees("+20.5108"), Some(20_510_800));
        assert_eq!(parse_degrees("180"), Some(180_000_000));
        assert_eq!(parse_degrees("1.0000001"), None);
        assert_eq!(parse_degrees("abc"), None);
        assert_eq!(parse_degrees("3000"), None);
        assert_eq!(degrees(54_710_400, Lang::Ru), "54,7104");
        assert_eq!(degrees(-20_000_000, Lang::En), "−20");
    }

    #[test]
    fn map_points_stay_inside_and_are_escaped() {
        let pts = vec![
            (
                1,
                "<a>".to_string(),
                Location {
                    lat_e6: 54_710_400,
                    lon_e6: 20_510_800,
                },
            ),
            (
                2,
                "B".to_string(),
                Location {
                    lat_e6: 54_720_000,
                    lon_e6: 20_530_000,
                },
            ),
            (
                3,
                "C".to_string(),
                Location {
                    lat_e6: 54_700_000,
                    lon_e6: 20_500_000,
                },
            ),
        ];
        let svg = map_svg(&pts, "T", "D");
        assert!(!svg.contains("<a>"));
        assert_eq!(svg.matches("<circle").count(), 3);
        for c in svg.split("<circle ").skip(1) {
            let num = |k: &str| -> f64 {
                let v = c.split(&format!("{k}=\"")).nth(1).unwrap();
                v[..v.find('"').unwrap()].parse().unwrap()
            };
            assert!((0.0..=640.0).contains(&num("cx")), "{c}");
            assert!(num("cy") >= 0.0);
        }
        // One point alone is drawn in the middle.
        let one = map_svg(&pts[..1], "T", "D");
        assert!(one.contains("cx=\"320.0\""), "{one}");
    }
}

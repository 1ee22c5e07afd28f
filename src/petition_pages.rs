//! Petition pages: the list with filters, one petition (progress, the
//! signatures-over-time chart with its data table, the full public history,
//! how to verify, and the actions the visitor's role allows), filing, the
//! moderation rules, and the receipt page that checks a receipt in the
//! browser.
//!
//! Everything but the passkey signature and the in-browser receipt check
//! works without JavaScript: the author's, moderators' and clerks' actions
//! are plain forms posted back here, which call the JSON API's handlers
//! (`crate::petitions`) so that the rules are enforced in one place.

use std::str::FromStr;
use std::time::Duration;

use askama::Template;
use axum::Json;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;
use veche_entry::{CloseReason, Date, Decision, Jurisdictions};
use veche_state::{DAY_MS, Petition};

use crate::i18n::{Lang, Tr};
use crate::page_kit::{
    LangParams, actor_text, api_number, csrf_refused, now_ms, render, sign_in_redirect, visit,
};
use crate::pages::Nav;
use crate::petitions::{
    self, AnswerRequest, FileRequest, ListQuery, MODERATION_RULES, ModerationRequest, PetitionView,
    ScheduleRequest, TEXT_MAX_CHARS, TITLE_MAX_CHARS,
};
use crate::problem::Problem;
use crate::server::AppState;
use crate::session::{self, SignedIn};

// ---- shared helpers -----------------------------------------------------------

/// Puts `args` into a catalogue text at `%1`, `%2`, … (the catalogues keep
/// whole sentences, so word order can differ between the languages).
pub fn fill(text: &str, args: &[&str]) -> String {
    let mut out = text.to_string();
    for (i, a) in args.iter().enumerate().rev() {
        out = out.replace(&format!("%{}", i + 1), a);
    }
    out
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_RU: [&str; 12] = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
];

/// A date as people write it: `5 March 2026`, `5 марта 2026`.
pub fn human_date(d: Date, lang: Lang) -> String {
    let months = match lang {
        Lang::Ru => &MONTHS_RU,
        Lang::En => &MONTHS_EN,
    };
    let m = months[usize::from(d.month().clamp(1, 12)) - 1];
    format!("{} {m} {}", d.day(), d.year())
}

/// A moment as a date and UTC time: `5 March 2026, 14:05 UTC`.
pub fn human_time(ms: u64, lang: Lang) -> String {
    let Some(d) = Date::from_timestamp_ms(ms) else {
        return String::new();
    };
    let in_day = ms % DAY_MS;
    format!(
        "{}, {:02}:{:02} UTC",
        human_date(d, lang),
        in_day / 3_600_000,
        in_day / 60_000 % 60
    )
}

/// The date of UTC day number `day` (days since 1970-01-01).
fn day_date(day: u64, lang: Lang) -> String {
    Date::from_timestamp_ms(day.saturating_mul(DAY_MS))
        .map(|d| human_date(d, lang))
        .unwrap_or_default()
}

/// `valid` as a share of `needed`, rounded down to a tenth of a percent (so
/// it shows 100% only once the threshold is reached): `99.9%`, `99,9 %`.
pub fn percent(valid: u64, needed: u64, lang: Lang) -> String {
    if needed == 0 {
        return "—".into();
    }
    let permille = u128::from(valid) * 1000 / u128::from(needed);
    let (whole, tenth) = (permille / 10, permille % 10);
    match lang {
        Lang::Ru => format!("{whole},{tenth}\u{a0}%"),
        Lang::En => format!("{whole}.{tenth}%"),
    }
}

/// The round step and top of a value axis from 0 to at least `max`, with
/// at most five steps of 1, 2 or 5 × 10ⁿ.
pub fn axis(max: u64) -> (u64, u64) {
    let max = max.max(1);
    let mut base = 1u64;
    loop {
        for m in [1, 2, 5] {
            let step = base.saturating_mul(m);
            if max.div_ceil(step) <= 5 {
                return (step, max.div_ceil(step) * step);
            }
        }
        base = base.saturating_mul(10);
    }
}

fn jurisdiction_names(all: &Jurisdictions, id: &str, lang: Lang) -> (String, String) {
    all.get(id)
        .map(|r| match lang {
            Lang::Ru => (r.current.name_ru.clone(), r.current.legislature_ru.clone()),
            Lang::En => (r.current.name_en.clone(), r.current.legislature_en.clone()),
        })
        .unwrap_or_else(|| (id.to_string(), String::new()))
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The petition as it stands in the shared state.
fn snapshot(state: &AppState, id: u64) -> Result<Petition, Problem> {
    let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
    st.petition(id)
        .cloned()
        .ok_or_else(|| Problem::not_found(format!("There is no petition {id}.")))
}

/// A petition's status as a badge: its CSS modifier and words.
fn status_badge(status: &str, tr: Tr) -> Badge {
    Badge {
        class: match status {
            "open" => "open",
            "rejected" => "bad",
            "closed" => "done",
            _ => "neutral",
        },
        label: tr.t(&format!("pet-status-{status}")),
    }
}

fn decision_label(d: &str, tr: Tr) -> String {
    tr.t(&format!("pet-decision-{d}"))
}

pub struct Badge {
    pub class: &'static str,
    pub label: String,
}

/// An `<option>` of a filter or form select.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

// ---- the list ---------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct ListParams {
    lang: Option<String>,
    q: Option<String>,
    jurisdiction: Option<String>,
    status: Option<String>,
    threshold: Option<String>,
    overdue: Option<String>,
}

/// The plural form a catalogue text takes for the whole number `n`, by
/// the CLDR rules: Russian `one` (1, 21, 101…), `few` (2–4, 22–24…) and
/// `many` (0, 5–20, 25…); English `one` (1) and `many` for the rest. Texts
/// that put a number before a noun come in these three forms (`<key>-one`,
/// `-few`, `-many`) in both catalogues; "1 valid signatures" and
/// "3 действительных подписей" are wrong.
pub fn plural(n: u64, lang: Lang) -> &'static str {
    match lang {
        Lang::En if n == 1 => "one",
        Lang::En => "many",
        Lang::Ru => match (n % 10, n % 100) {
            (1, r) if r != 11 => "one",
            (2..=4, r) if !(12..=14).contains(&r) => "few",
            _ => "many",
        },
    }
}

/// Progress toward the threshold, ready to show.
pub struct Progress {
    pub valid: u64,
    /// At least 1 (the value of a `<progress>` max).
    pub needed: u64,
    pub valid_text: String,
    /// "valid signatures" in the form `valid` calls for.
    pub valid_label: String,
    pub percent: String,
    pub reached: bool,
    /// "1,234 of 1,033 signatures needed".
    pub summary: String,
}

impl Progress {
    fn new(valid: u64, needed: u64, reached: bool, tr: Tr) -> Self {
        let lang = tr.0;
        let valid_text = lang.number(valid);
        let needed_text = lang.number(needed);
        Self {
            valid,
            needed: needed.max(1),
            summary: fill(&tr.t("pet-progress-summary"), &[&valid_text, &needed_text]),
            valid_label: tr.t(&format!("pet-valid-signatures-{}", plural(valid, lang))),
            valid_text,
            percent: percent(valid, needed, lang),
            reached,
        }
    }

    /// The `<progress>` value (a full bar once reached).
    pub fn bar_value(&self) -> u64 {
        self.valid.min(self.needed)
    }
}

pub struct ListRow {
    pub id: u64,
    pub title: String,
    pub jurisdiction: String,
    pub status: Badge,
    pub progress: Option<Progress>,
    pub threshold_reached: bool,
    pub overdue: bool,
    pub decision: Option<String>,
    pub filed: String,
}

#[derive(Template)]
#[template(path = "petitions.html")]
pub struct ListPage {
    pub tr: Tr,
    pub nav: Nav,
    pub rows: Vec<ListRow>,
    pub q: String,
    pub jurisdictions: Vec<Opt>,
    pub statuses: Vec<Opt>,
    pub thresholds: Vec<Opt>,
    pub overdue: bool,
    pub filtered: bool,
    pub count_text: String,
}

fn list_row(v: &PetitionView, all: &Jurisdictions, tr: Tr, filed_ms: u64) -> ListRow {
    ListRow {
        id: v.id,
        title: v
            .title
            .clone()
            .unwrap_or_else(|| fill(&tr.t("pet-title-withheld"), &[&v.id.to_string()])),
        jurisdiction: jurisdiction_names(all, &v.jurisdiction, tr.0).0,
        status: status_badge(v.status, tr),
        progress: v
            .signatures_needed
            .map(|n| Progress::new(v.valid_signatures, n, v.threshold_reached, tr)),
        threshold_reached: v.threshold_reached,
        overdue: v.overdue,
        decision: v.decision.map(|d| decision_label(d, tr)),
        filed: human_time(filed_ms, tr.0),
    }
}

/// `GET /petitions`: every petition, newest first, with a search box and
/// filters (a plain GET form).
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let p = query.map(|q| q.0).unwrap_or_default();
    let (lang, explicit, me) = visit(&state, &headers, p.lang.as_deref()).await?;
    let tr = Tr(lang);
    let all = crate::jurisdictions::load(&state.store).await?;
    let jurisdiction = nonempty(p.jurisdiction).filter(|j| all.get(j).is_some());
    let status = nonempty(p.status)
        .filter(|s| ["filed", "open", "rejected", "closed"].contains(&s.as_str()));
    let threshold = match p.threshold.as_deref() {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => None,
    };
    let overdue = matches!(p.overdue.as_deref(), Some("yes" | "on" | "true"));
    let q = nonempty(p.q);
    let filter = ListQuery {
        jurisdiction: jurisdiction.clone(),
        status: status.clone(),
        threshold,
        overdue: overdue.then_some(true),
        q: q.clone(),
    };
    let views = petitions::list_views(&state, &filter).await?;
    let filed: std::collections::HashMap<u64, u64> = {
        let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
        views
            .iter()
            .filter_map(|v| st.petition(v.id).map(|p| (v.id, p.filed_ms)))
            .collect()
    };
    let rows: Vec<ListRow> = views
        .iter()
        .map(|v| list_row(v, &all, tr, filed.get(&v.id).copied().unwrap_or(0)))
        .collect();
    let mut jurisdictions = vec![Opt {
        value: String::new(),
        label: tr.t("pet-filter-any"),
        selected: jurisdiction.is_none(),
    }];
    jurisdictions.extend(all.iter().map(|(id, _)| Opt {
        value: id.to_string(),
        label: jurisdiction_names(&all, id, lang).0,
        selected: jurisdiction.as_deref() == Some(id),
    }));
    let statuses = ["", "filed", "open", "rejected", "closed"]
        .iter()
        .map(|s| Opt {
            value: s.to_string(),
            label: if s.is_empty() {
                tr.t("pet-filter-any")
            } else {
                tr.t(&format!("pet-status-{s}"))
            },
            selected: status.as_deref().unwrap_or("") == *s,
        })
        .collect();
    let thresholds = [
        ("", "pet-filter-any"),
        ("yes", "pet-filter-reached"),
        ("no", "pet-filter-not-reached"),
    ]
    .iter()
    .map(|(v, k)| Opt {
        value: v.to_string(),
        label: tr.t(k),
        selected: match threshold {
            None => v.is_empty(),
            Some(true) => *v == "yes",
            Some(false) => *v == "no",
        },
    })
    .collect();
    let filtered =
        jurisdiction.is_some() || status.is_some() || threshold.is_some() || overdue || q.is_some();
    let page = ListPage {
        tr,
        nav: Nav::of(me.as_ref()),
        count_text: fill(&tr.t("pet-count"), &[&lang.number(rows.len() as u64)]),
        rows,
        q: q.unwrap_or_default(),
        jurisdictions,
        statuses,
        thresholds,
        overdue,
        filtered,
    };
    render(page.render(), lang, explicit, StatusCode::OK)
}

// ---- the chart ----------------------------------------------------------------------

/// A label on a chart axis.
pub struct Tick {
    pub pos: f64,
    pub label: String,
}

/// The signatures-over-time chart: a cumulative step line over the days
/// the petition was open, in SVG user units.
pub struct Chart {
    pub width: u32,
    pub height: u32,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
    /// The step line's path.
    pub line: String,
    /// The same, closed down to the axis (the filled area).
    pub area: String,
    pub y_ticks: Vec<Tick>,
    pub x_start: String,
    pub x_end: String,
    /// The threshold line's height and label, if it is drawn.
    pub threshold: Option<Tick>,
}

/// One day's row of the chart's data table.
pub struct DayRow {
    pub date: String,
    pub signatures: String,
    pub cumulative: String,
}

fn r1(x: f64) -> String {
    let s = format!("{x:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// Builds the chart of `by_day` (UTC day number → valid signatures made
/// that day) over the days `first_day..=last_day`, with the threshold
/// `needed` drawn as a line.
pub fn build_chart(
    by_day: &[(u64, u64)],
    first_day: u64,
    last_day: u64,
    needed: Option<u64>,
    lang: Lang,
) -> Chart {
    let (width, height) = (560u32, 260u32);
    let (left, right, top, bottom) = (56.0, 544.0, 20.0, 224.0);
    let last_day = last_day.max(first_day);
    let span = (last_day + 1 - first_day) as f64;
    let total: u64 = by_day.iter().map(|(_, n)| n).sum();
    let (step, ymax) = axis(total.max(needed.unwrap_or(0)));
    let x = |day: u64| {
        left + (day.clamp(first_day, last_day + 1) - first_day) as f64 / span * (right - left)
    };
    let y = |v: u64| bottom - v as f64 / ymax as f64 * (bottom - top);
    let mut line = format!("M{},{}", r1(left), r1(bottom));
    let mut cumulative = 0;
    for &(day, n) in by_day {
        cumulative += n;
        line.push_str(&format!(" H{} V{}", r1(x(day)), r1(y(cumulative))));
    }
    line.push_str(&format!(" H{}", r1(right)));
    let area = format!("{line} V{} Z", r1(bottom));
    let y_ticks = (0..=ymax / step)
        .map(|i| Tick {
            pos: y(i * step),
            label: lang.number(i * step),
        })
        .collect();
    Chart {
        width,
        height,
        left,
        right,
        top,
        bottom,
        line,
        area,
        y_ticks,
        x_start: day_date(first_day, lang),
        x_end: day_date(last_day, lang),
        threshold: needed.map(|n| Tick {
            pos: y(n),
            label: lang.number(n),
        }),
    }
}

impl Chart {
    pub fn label_y(&self) -> f64 {
        self.bottom + 24.0
    }
    pub fn tick_x(&self) -> f64 {
        self.left - 8.0
    }
}

// ---- one petition --------------------------------------------------------------------

/// One step of the public history.
pub struct HistoryItem {
    pub index: u64,
    pub at: String,
    pub heading: String,
    pub lines: Vec<String>,
    /// A longer text (the legislature's answer, the rejection reason).
    pub quote: Option<String>,
    pub badge: Option<Badge>,
    /// A document: its link and hash.
    pub document: Option<String>,
}

/// A legislature deadline and how it stands.
pub struct DeadlineRow {
    pub label: String,
    pub due: String,
    pub badge: Badge,
}

/// What went wrong with a form posted back to the page.
#[derive(Default)]
pub struct FormError {
    /// The form (`action`) it belongs to.
    pub action: String,
    pub message: String,
    /// The field it is about, if one.
    pub field: String,
}

impl FormError {
    pub fn on(&self, action: &str, field: &str) -> bool {
        self.action == action && !self.message.is_empty() && self.field == field
    }
}

/// The sign area for the visitor.
pub enum SignArea {
    /// Not open for signatures: nothing to show.
    None,
    /// Signed out: how to sign.
    SignIn,
    /// A citizen of the jurisdiction who has not signed.
    Button,
    /// Already signed, at this log index.
    Signed(u64),
    /// Signed in, but cannot sign (another jurisdiction, staff).
    Cannot(String),
}

#[derive(Template)]
#[template(path = "petition.html")]
pub struct PetitionPage {
    pub tr: Tr,
    pub nav: Nav,
    pub id: u64,
    pub title: String,
    pub text: Option<String>,
    pub status: Badge,
    pub decision: Option<Badge>,
    pub threshold_reached: bool,
    pub overdue: bool,
    pub jurisdiction: String,
    pub legislature: String,
    pub filed_at: String,
    pub opened_at: String,
    pub closes_at: String,
    pub closes_label: String,
    pub rejection: Option<(String, String)>,
    pub progress: Option<Progress>,
    /// The threshold rule spelled out.
    pub rule_text: String,
    pub chart: Option<Chart>,
    pub chart_desc: String,
    pub days: Vec<DayRow>,
    pub signatures_text: String,
    pub history: Vec<HistoryItem>,
    pub deadlines: Vec<DeadlineRow>,
    pub content_hash: String,
    pub attachments: Vec<String>,
    pub verify_cmd: String,
    pub sign: SignArea,
    pub can_withdraw: bool,
    pub can_moderate: bool,
    pub can_acknowledge: bool,
    pub can_schedule: bool,
    pub can_answer: bool,
    pub rules: Vec<Opt>,
    pub decisions: Vec<Opt>,
    pub notice: String,
    pub notice_entry: Option<u64>,
    pub error: FormError,
    /// Values of the form posted back with an error.
    pub form: ActionForm,
}

impl PetitionPage {
    pub fn has_actions(&self) -> bool {
        self.can_withdraw
            || self.can_moderate
            || self.can_acknowledge
            || self.can_schedule
            || self.can_answer
    }
    pub fn form_text(&self) -> &str {
        self.form.text.as_deref().unwrap_or("")
    }
    pub fn form_reason(&self) -> &str {
        self.form.reason.as_deref().unwrap_or("")
    }
    pub fn form_date(&self) -> &str {
        self.form.date.as_deref().unwrap_or("")
    }
    pub fn form_deadline(&self) -> &str {
        self.form.deadline.as_deref().unwrap_or("")
    }
    pub fn form_document(&self) -> &str {
        self.form.document.as_deref().unwrap_or("")
    }
    pub fn hide_checked(&self) -> bool {
        self.form.hide_text.is_some()
    }
}

#[derive(Deserialize, Default)]
pub struct ShowParams {
    lang: Option<String>,
    done: Option<String>,
    entry: Option<String>,
}

/// A form on the petition page, posted to `POST /petitions/{id}`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ActionForm {
    pub csrf: String,
    pub action: String,
    pub rule: Option<String>,
    pub reason: Option<String>,
    pub hide_text: Option<String>,
    pub date: Option<String>,
    pub decision: Option<String>,
    pub deadline: Option<String>,
    pub text: Option<String>,
    pub document: Option<String>,
}

/// Whether a staff member bound to a jurisdiction may act on this one
/// (administrators and unbound staff may act everywhere).
fn staff_may_act(me: &SignedIn, roles: &[&str], jurisdiction: &str) -> bool {
    me.is_staff_with(roles)
        && (me.account.role.as_deref() == Some("admin")
            || me
                .account
                .jurisdiction
                .as_deref()
                .is_none_or(|j| j == jurisdiction))
}

fn history(p: &Petition, tr: Tr) -> Vec<HistoryItem> {
    let lang = tr.0;
    let item = |index: u64, at_ms: u64, heading: String| HistoryItem {
        index,
        at: human_time(at_ms, lang),
        heading,
        lines: Vec::new(),
        quote: None,
        badge: None,
        document: None,
    };
    let mut out = vec![item(p.id, p.filed_ms, tr.t("pet-h-filed"))];
    if let Some(o) = &p.opened {
        let mut h = item(o.index, o.at_ms, tr.t("pet-h-opened"));
        h.lines
            .push(fill(&tr.t("pet-h-by"), &[&actor_text(&o.actor, tr)]));
        h.lines.push(fill(
            &tr.t("pet-h-population"),
            &[
                &lang.number(o.population),
                &lang.number(veche_state::threshold_signatures(o.population)),
            ],
        ));
        h.lines.push(fill(
            &tr.t("pet-h-closes"),
            &[&human_time(o.closes_at_ms, lang)],
        ));
        out.push(h);
    }
    if let Some(r) = &p.rejected {
        let mut h = item(r.index, r.at_ms, tr.t("pet-h-rejected"));
        h.badge = Some(Badge {
            class: "bad",
            label: tr.t("pet-status-rejected"),
        });
        h.lines
            .push(fill(&tr.t("pet-h-by"), &[&actor_text(&r.actor, tr)]));
        h.lines.push(fill(
            &tr.t("pet-h-rule"),
            &[&r.rule.to_string(), &rule_text(r.rule, lang)],
        ));
        if r.text_hidden {
            h.lines.push(tr.t("pet-h-text-hidden"));
        }
        h.quote = Some(r.reason.clone()).filter(|s| !s.is_empty());
        out.push(h);
    }
    if let Some(t) = &p.threshold {
        let mut h = item(t.index, t.at_ms, tr.t("pet-h-threshold"));
        h.badge = Some(Badge {
            class: "done",
            label: tr.t("pet-badge-threshold"),
        });
        h.lines.push(fill(
            &tr.t("pet-h-threshold-count"),
            &[&lang.number(t.valid_signatures), &t.signature.to_string()],
        ));
        h.lines.push(fill(
            &tr.t("pet-h-deadlines"),
            &[
                &human_time(t.acknowledge_by_ms, lang),
                &human_time(t.answer_by_ms, lang),
            ],
        ));
        out.push(h);
    }
    if let Some(d) = &p.delivered {
        let mut h = item(d.index, d.at_ms, tr.t("pet-h-delivered"));
        h.lines
            .push(fill(&tr.t("pet-h-attempts"), &[&d.attempts.to_string()]));
        out.push(h);
    }
    if let Some(a) = &p.acknowledged {
        let mut h = item(a.index, a.at_ms, tr.t("pet-h-acknowledged"));
        h.lines
            .push(fill(&tr.t("pet-h-by"), &[&actor_text(&a.actor, tr)]));
        out.push(h);
    }
    for s in &p.scheduled {
        let mut h = item(
            s.index,
            s.at_ms,
            fill(&tr.t("pet-h-scheduled"), &[&human_date(s.date, lang)]),
        );
        h.lines
            .push(fill(&tr.t("pet-h-by"), &[&actor_text(&s.actor, tr)]));
        out.push(h);
    }
    for a in &p.answers {
        let d = a.answer.decision;
        let mut h = item(a.index, a.at_ms, tr.t("pet-h-answered"));
        h.badge = Some(Badge {
            class: match d {
                Decision::Solved => "done",
                Decision::DeadlineSet => "neutral",
                Decision::Refused => "bad",
            },
            label: decision_label(d.name(), tr),
        });
        if let Some(deadline) = a.answer.deadline {
            h.lines.push(fill(
                &tr.t("pet-h-answer-deadline"),
                &[&human_date(deadline, lang)],
            ));
        }
        h.lines
            .push(fill(&tr.t("pet-h-by"), &[&actor_text(&a.answer.actor, tr)]));
        h.quote = Some(a.answer.text.clone()).filter(|s| !s.is_empty());
        h.document = a.answer.document.map(hex::encode);
        out.push(h);
    }
    for inv in &p.invalidations {
        let mut h = item(
            inv.index,
            inv.at_ms,
            fill(&tr.t("pet-h-invalidated"), &[&inv.signature.to_string()]),
        );
        h.lines
            .push(fill(&tr.t("pet-h-by"), &[&actor_text(&inv.actor, tr)]));
        h.quote = Some(inv.reason.clone()).filter(|s| !s.is_empty());
        out.push(h);
    }
    if let Some(c) = &p.closed {
        let reason = match c.reason {
            CloseReason::Expired => tr.t("pet-h-closed-expired"),
            CloseReason::Withdrawn => tr.t("pet-h-closed-withdrawn"),
        };
        let mut h = item(c.index, c.at_ms, reason);
        h.lines.push(fill(
            &tr.t("pet-h-final-count"),
            &[&lang.number(c.valid_signatures)],
        ));
        out.push(h);
    }
    out.sort_by_key(|h| h.index);
    out
}

fn rule_text(n: u16, lang: Lang) -> String {
    MODERATION_RULES
        .iter()
        .find(|r| r.0 == n)
        .map(|&(_, ru, en)| match lang {
            Lang::Ru => ru.to_string(),
            Lang::En => en.to_string(),
        })
        .unwrap_or_default()
}

fn deadline_badge(status: &str, tr: Tr) -> Badge {
    Badge {
        class: match status {
            "met" => "done",
            "met_late" => "late",
            "overdue" => "bad",
            _ => "neutral",
        },
        label: tr.t(&format!("pet-deadline-{status}")),
    }
}

/// What a form post left to show on the page.
#[derive(Default)]
struct Flash {
    notice: String,
    notice_entry: Option<u64>,
    error: FormError,
    form: ActionForm,
}

async fn petition_page(
    state: &AppState,
    me: Option<&SignedIn>,
    lang: Lang,
    id: u64,
    flash: Flash,
) -> Result<PetitionPage, Problem> {
    let tr = Tr(lang);
    let p = snapshot(state, id)?;
    let v = petitions::view(state, &p, true).await?;
    let all = crate::jurisdictions::load(&state.store).await?;
    let (jurisdiction, legislature) = jurisdiction_names(&all, &p.jurisdiction, lang);
    let t = now_ms();

    let by_day: Vec<(u64, u64)> = p.signatures_by_day.iter().map(|(d, n)| (*d, *n)).collect();
    let mut chart = None;
    let mut days = Vec::new();
    let mut chart_desc = String::new();
    if let Some(o) = &p.opened {
        let first = o.at_ms / DAY_MS;
        let end_ms = p
            .closed
            .as_ref()
            .map(|c| c.at_ms)
            .unwrap_or_else(|| t.min(o.closes_at_ms.saturating_sub(1)));
        let last = (end_ms / DAY_MS).max(by_day.last().map(|d| d.0).unwrap_or(0));
        if !by_day.is_empty() {
            chart = Some(build_chart(&by_day, first, last, v.signatures_needed, lang));
            chart_desc = fill(
                &tr.t("pet-chart-desc"),
                &[
                    &day_date(first, lang),
                    &day_date(last, lang),
                    &lang.number(p.valid_signatures),
                ],
            );
        }
        let mut cumulative = 0;
        for (d, n) in &by_day {
            cumulative += n;
            days.push(DayRow {
                date: day_date(*d, lang),
                signatures: lang.number(*n),
                cumulative: lang.number(cumulative),
            });
        }
    }

    let mut deadlines = Vec::new();
    if let Some(th) = &p.threshold {
        deadlines.push(DeadlineRow {
            label: tr.t("pet-deadline-acknowledge"),
            due: human_time(th.acknowledge_by_ms, lang),
            badge: deadline_badge(v.acknowledge_status, tr),
        });
        let set = p
            .answers
            .last()
            .and_then(|a| match (a.answer.decision, a.answer.deadline) {
                (Decision::DeadlineSet, Some(d)) => Some(d),
                _ => None,
            });
        deadlines.push(DeadlineRow {
            label: if set.is_some() {
                tr.t("pet-deadline-resolve")
            } else {
                tr.t("pet-deadline-answer")
            },
            due: match set {
                Some(d) => human_date(d, lang),
                None => human_time(th.answer_by_ms, lang),
            },
            badge: deadline_badge(v.answer_status, tr),
        });
    }

    // What the visitor may do.
    let citizen = me.and_then(|m| {
        match (
            &m.account.kind[..],
            &m.account.jurisdiction,
            &m.account.record_id,
        ) {
            ("citizen", Some(j), Some(r)) => Some((j.as_str(), r.as_str())),
            _ => None,
        }
    });
    let sign = if !p.open_at(t) {
        SignArea::None
    } else {
        match (me, citizen) {
            (None, _) => SignArea::SignIn,
            (Some(_), Some((j, r))) if j == p.jurisdiction => {
                match p.signature_of(&state.nullifiers.signature(id, j, r)) {
                    Some(i) => SignArea::Signed(i),
                    None => SignArea::Button,
                }
            }
            (Some(_), Some(_)) => {
                SignArea::Cannot(fill(&tr.t("pet-sign-other-jurisdiction"), &[&jurisdiction]))
            }
            (Some(_), None) => SignArea::Cannot(tr.t("pet-sign-staff")),
        }
    };
    let is_author =
        citizen.is_some_and(|(j, r)| state.nullifiers.author(&p.content, j, r) == p.author);
    let finally_answered = p
        .answers
        .last()
        .is_some_and(|a| a.answer.decision != Decision::DeadlineSet);
    let clerk =
        me.is_some_and(|m| staff_may_act(m, &["clerk"], &p.jurisdiction)) && p.threshold.is_some();
    let rule_sel = flash.form.rule.clone().unwrap_or_default();
    let decision_sel = flash.form.decision.clone().unwrap_or_default();

    Ok(PetitionPage {
        tr,
        nav: Nav::of(me),
        id,
        title: v
            .title
            .clone()
            .unwrap_or_else(|| fill(&tr.t("pet-title-withheld"), &[&id.to_string()])),
        text: v.text.clone(),
        status: status_badge(v.status, tr),
        decision: v.decision.map(|d| Badge {
            class: match d {
                "solved" => "done",
                "refused" => "bad",
                _ => "neutral",
            },
            label: decision_label(d, tr),
        }),
        threshold_reached: v.threshold_reached,
        overdue: v.overdue,
        filed_at: human_time(p.filed_ms, lang),
        opened_at: p
            .opened
            .as_ref()
            .map(|o| human_time(o.at_ms, lang))
            .unwrap_or_default(),
        closes_at: match (&p.closed, &p.opened) {
            (Some(c), _) => human_time(c.at_ms, lang),
            (None, Some(o)) => human_time(o.closes_at_ms, lang),
            _ => String::new(),
        },
        closes_label: if p.closed.is_some() {
            tr.t("pet-closed-at")
        } else {
            tr.t("pet-closes-at")
        },
        rejection: p.rejected.as_ref().map(|r| {
            (
                fill(
                    &tr.t("pet-h-rule"),
                    &[&r.rule.to_string(), &rule_text(r.rule, lang)],
                ),
                r.reason.clone(),
            )
        }),
        progress: v
            .signatures_needed
            .map(|n| Progress::new(v.valid_signatures, n, v.threshold_reached, tr)),
        rule_text: match (v.population, v.signatures_needed) {
            (Some(pop), Some(n)) => fill(
                &tr.t("pet-rule-text"),
                &[
                    &lang.number(pop),
                    &lang.number(n),
                    if legislature.is_empty() {
                        &jurisdiction
                    } else {
                        &legislature
                    },
                ],
            ),
            _ => tr.t("pet-rule-text-unopened"),
        },
        signatures_text: fill(
            &tr.t("pet-signatures-counts"),
            &[
                &lang.number(p.signatures),
                &lang.number(p.invalidated),
                &lang.number(p.valid_signatures),
            ],
        ),
        chart,
        chart_desc,
        days,
        history: history(&p, tr),
        deadlines,
        content_hash: v.content_hash.clone(),
        attachments: v.attachments.clone(),
        verify_cmd: format!(
            "veche-verify petition {id} --log {} --vkey '{}'",
            state.public_url, state.vkey
        ),
        sign,
        can_withdraw: is_author && p.open_at(t) && p.threshold.is_none(),
        can_moderate: me.is_some_and(|m| staff_may_act(m, &["moderator"], &p.jurisdiction))
            && p.status == veche_state::PetitionStatus::Filed,
        can_acknowledge: clerk && p.acknowledged.is_none(),
        can_schedule: clerk && p.acknowledged.is_some() && !finally_answered,
        can_answer: clerk && p.acknowledged.is_some() && !finally_answered,
        rules: MODERATION_RULES
            .iter()
            .map(|&(n, ru, en)| Opt {
                value: n.to_string(),
                label: format!("{n}. {}", if lang == Lang::Ru { ru } else { en }),
                selected: rule_sel == n.to_string(),
            })
            .collect(),
        decisions: ["solved", "deadline_set", "refused"]
            .iter()
            .map(|d| Opt {
                value: d.to_string(),
                label: decision_label(d, tr),
                selected: decision_sel == *d,
            })
            .collect(),
        jurisdiction,
        legislature,
        notice: flash.notice,
        notice_entry: flash.notice_entry,
        error: flash.error,
        form: flash.form,
    })
}

/// `GET /petitions/{id}`.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<u64>, PathRejection>,
    query: Result<Query<ShowParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let Path(id) = id.map_err(|_| Problem::not_found("There is no such petition."))?;
    let q = query.map(|q| q.0).unwrap_or_default();
    let (lang, explicit, me) = visit(&state, &headers, q.lang.as_deref()).await?;
    let tr = Tr(lang);
    let notice = match q.done.as_deref() {
        Some(
            a @ ("filed" | "withdraw" | "open" | "reject" | "acknowledge" | "schedule" | "answer"),
        ) => tr.t(&format!("pet-done-{a}")),
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
    if snapshot(&state, id).is_err() {
        let page = NotFoundPage {
            tr,
            nav: Nav::of(me.as_ref()),
            id,
        };
        return render(page.render(), lang, explicit, StatusCode::NOT_FOUND);
    }
    let page = petition_page(&state, me.as_ref(), lang, id, flash).await?;
    render(page.render(), lang, explicit, StatusCode::OK)
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"{% extends "base.html" %}
{% block title %}{{ tr.t("pet-not-found-title") }} — {{ tr.t("service-name") }}{% endblock %}
{% block content %}
<h1>{{ tr.t("pet-not-found-title") }}</h1>
<p class="lead">{{ tr.t("pet-not-found-text") }} ({{ tr.t("pet-no") }} {{ id }})</p>
<p><a href="/petitions?lang={{ tr.lang() }}">{{ tr.t("pet-back") }}</a></p>
{% endblock %}"#
)]
pub struct NotFoundPage {
    pub tr: Tr,
    pub nav: Nav,
    pub id: u64,
}

/// A problem as a message for the page: in the page's language for the
/// refusals people meet, else the API's own words.
fn problem_message(p: &Problem, tr: Tr) -> String {
    let key = format!("pet-err-{}", p.slug);
    let known = [
        "csrf",
        "forbidden",
        "not-author",
        "petition-not-open",
        "duplicate-signature",
        "withdraw-after-threshold",
        "already-moderated",
        "already-acknowledged",
        "already-answered",
        "not-acknowledged",
        "deadline-in-past",
        "rate-limited",
        "citizens-only",
    ];
    if known.contains(&p.slug) {
        tr.t(&key)
    } else {
        p.detail.clone()
    }
}

fn field_of(p: &Problem) -> String {
    p.extensions
        .get("field")
        .and_then(Value::as_str)
        .map(|f| f.split('.').next().unwrap_or(f).to_string())
        .unwrap_or_default()
}

fn form_problem(field: &str, detail: &str) -> Problem {
    Problem::unprocessable("invalid-field", detail.to_string()).with("field", field.to_string())
}

fn parse_date(field: &str, s: Option<&str>, tr: Tr) -> Result<Date, Problem> {
    let s = s.unwrap_or("").trim();
    Date::from_str(s).map_err(|_| form_problem(field, &tr.t("pet-err-date")))
}

/// `POST /petitions/{id}` (form): the author's, a moderator's or a clerk's
/// action, through the JSON API's handler; back to the page with a notice
/// (303) or with the error shown next to the form.
pub async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<u64>, PathRejection>,
    query: Result<Query<ShowParams>, QueryRejection>,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Result<Response, Problem> {
    let Path(id) = id.map_err(|_| Problem::not_found("There is no such petition."))?;
    let q = query.map(|q| q.0).unwrap_or_default();
    let (lang, _) = crate::pages::lang_from(q.lang.as_deref(), &headers);
    let tr = Tr(lang);
    let Form(form) = form.map_err(|e| Problem::bad_request("invalid-form", e.body_text()))?;
    let Some(me) = session::current(&state, &headers).await? else {
        return Ok(sign_in_redirect(lang));
    };
    let action = form.action.clone();
    let result = if form.csrf != me.csrf_token {
        Err(csrf_refused())
    } else {
        dispatch(&state, me, id, &form, tr).await
    };
    match result {
        Ok(index) => Ok(Redirect::to(&format!(
            "/petitions/{id}?lang={}&done={action}&entry={index}",
            lang.code()
        ))
        .into_response()),
        Err(p) => {
            let status = p.status;
            let me = session::current(&state, &headers).await?;
            let flash = Flash {
                error: FormError {
                    action: action.clone(),
                    message: problem_message(&p, tr),
                    field: field_of(&p),
                },
                form,
                ..Flash::default()
            };
            let page = petition_page(&state, me.as_ref(), lang, id, flash).await?;
            render(page.render(), lang, false, status)
        }
    }
}

async fn dispatch(
    state: &AppState,
    me: SignedIn,
    id: u64,
    form: &ActionForm,
    tr: Tr,
) -> Result<u64, Problem> {
    let s = State(state.clone());
    let path = Ok(Path(id));
    let resp = match form.action.as_str() {
        "withdraw" => petitions::withdraw(s, me, path).await?,
        "open" => {
            let req = ModerationRequest {
                decision: "open".into(),
                rule: None,
                reason: None,
                hide_text: false,
            };
            petitions::moderate(s, me, path, Ok(Json(req))).await?
        }
        "reject" => {
            let rule = form
                .rule
                .as_deref()
                .and_then(|r| r.parse::<u16>().ok())
                .ok_or_else(|| form_problem("rule", &tr.t("pet-err-rule")))?;
            let reason = form.reason.clone().unwrap_or_default();
            if reason.trim().is_empty() {
                return Err(form_problem("reason", &tr.t("pet-err-reason")));
            }
            let req = ModerationRequest {
                decision: "reject".into(),
                rule: Some(rule),
                reason: Some(reason),
                hide_text: form.hide_text.is_some(),
            };
            petitions::moderate(s, me, path, Ok(Json(req))).await?
        }
        "acknowledge" => petitions::acknowledge(s, me, path).await?,
        "schedule" => {
            let date = parse_date("date", form.date.as_deref(), tr)?;
            petitions::schedule(s, me, path, Ok(Json(ScheduleRequest { date }))).await?
        }
        "answer" => {
            let decision = form.decision.clone().unwrap_or_default();
            let deadline = match nonempty(form.deadline.clone()) {
                None if decision == "deadline_set" => {
                    return Err(form_problem("deadline", &tr.t("pet-err-date")));
                }
                None => None,
                Some(d) => Some(parse_date("deadline", Some(&d), tr)?),
            };
            let text = form.text.clone().unwrap_or_default();
            if decision == "refused" && text.trim().is_empty() {
                return Err(form_problem("text", &tr.t("pet-err-refusal-text")));
            }
            let req = AnswerRequest {
                decision,
                deadline,
                text,
                document: nonempty(form.document.clone()),
            };
            petitions::answer(s, me, path, Ok(Json(req))).await?
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

// ---- filing ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "petition_new.html")]
pub struct NewPage {
    pub tr: Tr,
    pub nav: Nav,
    /// Signed in as a citizen: the form; else what to do instead.
    pub can_file: bool,
    pub staff: bool,
    pub jurisdiction: String,
    pub title: String,
    pub text: String,
    pub error: FormError,
    pub limits: String,
    pub title_max: usize,
    pub text_max: usize,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct FileForm {
    csrf: String,
    title: String,
    text: String,
}

async fn new_page(
    state: &AppState,
    me: Option<&SignedIn>,
    lang: Lang,
    form: FileForm,
    error: FormError,
) -> Result<NewPage, Problem> {
    let tr = Tr(lang);
    let citizen_j = me.and_then(|m| {
        (m.account.kind == "citizen")
            .then(|| m.account.jurisdiction.clone())
            .flatten()
    });
    let jurisdiction = match &citizen_j {
        Some(j) => {
            match jurisdiction_names(&crate::jurisdictions::load(&state.store).await?, j, lang) {
                (name, legislature) if legislature.is_empty() => name,
                (name, legislature) => format!("{legislature} ({name})"),
            }
        }
        None => String::new(),
    };
    Ok(NewPage {
        tr,
        nav: Nav::of(me),
        can_file: citizen_j.is_some(),
        staff: me.is_some_and(|m| m.account.kind == "staff"),
        jurisdiction,
        title: form.title,
        text: form.text,
        error,
        limits: fill(
            &tr.t("pet-new-limits"),
            &[
                &lang.number(TITLE_MAX_CHARS as u64),
                &lang.number(TEXT_MAX_CHARS as u64),
            ],
        ),
        title_max: TITLE_MAX_CHARS,
        text_max: TEXT_MAX_CHARS,
    })
}

/// `GET /petitions/new`: the filing form (for a signed-in citizen).
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
        FileForm::default(),
        FormError::default(),
    )
    .await?;
    render(page.render(), lang, explicit, StatusCode::OK)
}

/// `POST /petitions/new` (form): files the petition through the API's
/// handler, then shows it (303), or the form again with the error.
pub async fn file(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LangParams>, QueryRejection>,
    form: Result<Form<FileForm>, FormRejection>,
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
        let req = FileRequest {
            jurisdiction: None,
            title: form.title.clone(),
            text: form.text.clone(),
            attachments: Vec::new(),
        };
        match petitions::file(State(state.clone()), me, Ok(Json(req))).await {
            Ok(resp) => api_number(resp, "petition").await,
            Err(p) => Err(p),
        }
    };
    match result {
        Ok(id) => Ok(Redirect::to(&format!(
            "/petitions/{id}?lang={}&done=filed&entry={id}",
            lang.code()
        ))
        .into_response()),
        Err(p) => {
            let status = p.status;
            let field = field_of(&p);
            let message = if p.slug == "invalid-field" && field == "title" {
                fill(
                    &tr.t("pet-err-title"),
                    &[&lang.number(TITLE_MAX_CHARS as u64)],
                )
            } else if p.slug == "invalid-field" && field == "text" {
                fill(
                    &tr.t("pet-err-text"),
                    &[&lang.number(TEXT_MAX_CHARS as u64)],
                )
            } else {
                problem_message(&p, tr)
            };
            let me = session::current(&state, &headers).await?;
            let error = FormError {
                action: "file".into(),
                message,
                field,
            };
            let page = new_page(&state, me.as_ref(), lang, form, error).await?;
            render(page.render(), lang, false, status)
        }
    }
}

// ---- the moderation rules ---------------------------------------------------------------

pub struct RulesRow {
    pub jurisdiction: String,
    pub open_months: u8,
    pub acknowledge_days: u16,
    pub answer_days: u16,
    pub index: Option<u64>,
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"{% extends "base.html" %}
{% block title %}{{ tr.t("pet-rules-title") }} — {{ tr.t("service-name") }}{% endblock %}
{% block content %}
<p class="back"><a href="/petitions?lang={{ tr.lang() }}">{{ tr.t("pet-back") }}</a></p>
<h1>{{ tr.t("pet-rules-title") }}</h1>
<p class="lead">{{ tr.t("pet-rules-intro") }}</p>
<ol class="rules" data-testid="rules">
{% for r in rules %}
  <li id="rule-{{ r.0 }}" value="{{ r.0 }}"><span class="rule-main">{{ r.1 }}</span> <span class="rule-other" lang="{{ tr.other_lang() }}">{{ r.2 }}</span></li>
{% endfor %}
</ol>
<p>{{ tr.t("pet-rules-reasons") }}</p>
<h2>{{ tr.t("pet-rules-terms-heading") }}</h2>
<p>{{ tr.t("pet-rules-terms-intro") }}</p>
{% if terms.is_empty() %}
<p>{{ tr.t("pet-rules-no-jurisdictions") }}</p>
{% else %}
<div class="table-wrap">
<table>
  <caption class="visually-hidden">{{ tr.t("pet-rules-terms-heading") }}</caption>
  <thead><tr><th scope="col">{{ tr.t("pet-jurisdiction") }}</th><th scope="col" class="num">{{ tr.t("pet-rules-open-months") }}</th><th scope="col" class="num">{{ tr.t("pet-rules-ack-days") }}</th><th scope="col" class="num">{{ tr.t("pet-rules-answer-days") }}</th><th scope="col">{{ tr.t("pet-rules-source") }}</th></tr></thead>
  <tbody>
  {% for t in terms %}
  <tr><th scope="row">{{ t.jurisdiction }}</th><td class="num">{{ t.open_months }}</td><td class="num">{{ t.acknowledge_days }}</td><td class="num">{{ t.answer_days }}</td>
    <td>{% if let Some(i) = t.index %}<a href="/api/v1/log/receipt/{{ i }}">{{ tr.t("pet-log-entry") }} {{ i }}</a>{% else %}{{ tr.t("pet-rules-default") }}{% endif %}</td></tr>
  {% endfor %}
  </tbody>
</table>
</div>
{% endif %}
<h2>{{ tr.t("pet-rules-threshold-heading") }}</h2>
<p>{{ tr.t("pet-rules-threshold") }}</p>
{% endblock %}"#
)]
pub struct RulesPage {
    pub tr: Tr,
    pub nav: Nav,
    pub rules: Vec<(u16, String, String)>,
    pub terms: Vec<RulesRow>,
}

/// `GET /petitions/rules`: the numbered moderation rules (in both
/// languages: a rejection cites the number) and each jurisdiction's terms.
pub async fn rules(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LangParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let q = query.map(|q| q.0).unwrap_or_default();
    let (lang, explicit, me) = visit(&state, &headers, q.lang.as_deref()).await?;
    let all = crate::jurisdictions::load(&state.store).await?;
    let terms = {
        let st = state.log.state().read().unwrap_or_else(|p| p.into_inner());
        all.iter()
            .map(|(id, _)| {
                let r = st.rules(id);
                RulesRow {
                    jurisdiction: jurisdiction_names(&all, id, lang).0,
                    open_months: r.open_months,
                    acknowledge_days: r.acknowledge_days,
                    answer_days: r.answer_days,
                    index: r.index,
                }
            })
            .collect()
    };
    let rules = MODERATION_RULES
        .iter()
        .map(|&(n, ru, en)| match lang {
            Lang::Ru => (n, ru.to_string(), en.to_string()),
            Lang::En => (n, en.to_string(), ru.to_string()),
        })
        .collect();
    let page = RulesPage {
        tr: Tr(lang),
        nav: Nav::of(me.as_ref()),
        rules,
        terms,
    };
    render(page.render(), lang, explicit, StatusCode::OK)
}

// ---- receipts ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "receipt.html")]
pub struct ReceiptPage {
    pub tr: Tr,
    pub nav: Nav,
    pub vkey: String,
    pub public_url: String,
    /// A receipt fetched for `?index=N`, pretty-printed.
    pub receipt: String,
    pub error: String,
}

#[derive(Deserialize, Default)]
pub struct ReceiptParams {
    lang: Option<String>,
    index: Option<String>,
}

/// `GET /receipt`: checks a receipt in the browser (WebCrypto): the one
/// just received after signing, a pasted or opened file, or `?index=N`'s.
pub async fn receipt(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ReceiptParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let q = query.map(|q| q.0).unwrap_or_default();
    let (lang, explicit, me) = visit(&state, &headers, q.lang.as_deref()).await?;
    let (mut receipt, mut error) = (String::new(), String::new());
    if let Some(i) = nonempty(q.index) {
        match i.parse::<u64>() {
            Ok(index) => match crate::log_api::build_receipt(&state, index, Duration::from_secs(2))
                .await
            {
                Ok(r) => receipt = serde_json::to_string_pretty(&r).map_err(Problem::internal)?,
                Err(p) => error = p.detail,
            },
            Err(_) => error = fill(&Tr(lang).t("rcpt-bad-index"), &[&i]),
        }
    }
    let page = ReceiptPage {
        tr: Tr(lang),
        nav: Nav::of(me.as_ref()),
        vkey: state.vkey.to_string(),
        public_url: state.public_url.to_string(),
        receipt,
        error,
    };
    render(page.render(), lang, explicit, StatusCode::OK)
}

/// `GET /static/petition.js`: signing, the answer's document upload, and
/// the receipt check.
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/petition.js"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_puts_arguments_in_place() {
        assert_eq!(fill("%1 of %2", &["3", "10"]), "3 of 10");
        assert_eq!(fill("%2 из %1", &["10", "3"]), "3 из 10");
        assert_eq!(fill("no args", &[]), "no args");
    }

    #[test]
    fn percent_rounds_down_and_speaks_the_language() {
        assert_eq!(percent(1032, 1033, Lang::En), "99.9%");
        assert_eq!(percent(1033, 1033, Lang::En), "100.0%");
        assert_eq!(percent(1, 3, Lang::Ru), "33,3\u{a0}%");
        assert_eq!(percent(0, 17, Lang::En), "0.0%");
        assert_eq!(percent(5, 0, Lang::En), "—");
        assert_eq!(
            percent(u64::MAX, 1, Lang::En),
            format!("{}.0%", u128::from(u64::MAX) * 100)
        );
    }

    #[test]
    fn dates_read_like_words() {
        let d = Date::from_str("2026-03-05").unwrap();
        assert_eq!(human_date(d, Lang::En), "5 March 2026");
        assert_eq!(human_date(d, Lang::Ru), "5 марта 2026");
        // 2026-01-01T14:05:59Z
        let ms = 1_767_225_600_000 + 14 * 3_600_000 + 5 * 60_000 + 59_000;
        assert_eq!(human_time(ms, Lang::En), "1 January 2026, 14:05 UTC");
        assert_eq!(human_time(ms, Lang::Ru), "1 января 2026, 14:05 UTC");
    }

    #[test]
    fn axis_steps_are_round() {
        assert_eq!(axis(0), (1, 1));
        assert_eq!(axis(3), (1, 3));
        assert_eq!(axis(7), (2, 8));
        assert_eq!(axis(10), (2, 10));
        assert_eq!(axis(17), (5, 20));
        assert_eq!(axis(1033), (500, 1500));
        assert_eq!(axis(1000), (200, 1000));
        for max in 1..5000 {
            let (step, top) = axis(max);
            assert!(top >= max && top / step <= 5 && top % step == 0, "{max}");
        }
    }

    #[test]
    fn chart_is_a_cumulative_step_line() {
        // Days 100..=103; 2 signatures on day 100, 3 on day 102; threshold 10.
        let c = build_chart(&[(100, 2), (102, 3)], 100, 103, Some(10), Lang::En);
        // y axis 0..10 in steps of 2 over 204 units: 20.4 per signature.
        assert_eq!(c.y_ticks.len(), 6);
        assert_eq!(c.y_ticks[5].label, "10");
        assert_eq!(c.y_ticks[0].pos, c.bottom);
        // 4 days over 488 units: 122 per day.
        assert_eq!(c.line, "M56,224 H56 V183.2 H300 V122 H544");
        assert_eq!(c.area, "M56,224 H56 V183.2 H300 V122 H544 V224 Z");
        let th = c.threshold.unwrap();
        assert!((th.pos - c.top).abs() < 1e-9);
        assert_eq!(th.label, "10");
        assert_eq!(c.x_start, day_date(100, Lang::En));
        assert_eq!(c.x_end, day_date(103, Lang::En));
    }

    #[test]
    fn chart_of_one_day_and_no_threshold() {
        let c = build_chart(&[(5, 1)], 5, 5, None, Lang::Ru);
        assert_eq!(c.line, "M56,224 H56 V20 H544");
        assert!(c.threshold.is_none());
        assert_eq!(c.x_start, c.x_end);
    }

    #[test]
    fn plural_forms_follow_cldr() {
        let ru = |n| plural(n, Lang::Ru);
        for n in [1, 21, 101, 1001] {
            assert_eq!(ru(n), "one", "{n}");
        }
        for n in [2, 3, 4, 22, 34, 102] {
            assert_eq!(ru(n), "few", "{n}");
        }
        for n in [0, 5, 11, 12, 13, 14, 19, 20, 25, 111, 112, 1000] {
            assert_eq!(ru(n), "many", "{n}");
        }
        assert_eq!(plural(1, Lang::En), "one");
        for n in [0, 2, 3, 11, 21, 101] {
            assert_eq!(plural(n, Lang::En), "many", "{n}");
        }
        // Every form of every plural text exists in both languages.
        for lang in [Lang::Ru, Lang::En] {
            for form in ["one", "few", "many"] {
                let key = format!("pet-valid-signatures-{form}");
                assert!(Tr(lang).has(&key), "{key} in {lang:?}");
            }
        }
        let label = |n, lang| Progress::new(n, 3, false, Tr(lang)).valid_label;
        assert_eq!(label(1, Lang::En), "valid signature");
        assert_eq!(label(3, Lang::En), "valid signatures");
        assert_eq!(label(1, Lang::Ru), "действительная подпись");
        assert_eq!(label(3, Lang::Ru), "действительные подписи");
        assert_eq!(label(5, Lang::Ru), "действительных подписей");
    }

    #[test]
    fn progress_caps_the_bar_but_not_the_words() {
        let p = Progress::new(1200, 1033, true, Tr(Lang::En));
        assert_eq!(p.bar_value(), 1033);
        assert_eq!(p.valid_text, "1,200");
        assert!(
            p.summary.contains("1,200") && p.summary.contains("1,033"),
            "{}",
            p.summary
        );
        let p = Progress::new(0, 0, false, Tr(Lang::En));
        assert_eq!(p.needed, 1);
    }

    /// Every page renders in both languages from sample data (no server).
    #[test]
    fn pages_render_in_both_languages() {
        for lang in [Lang::Ru, Lang::En] {
            let tr = Tr(lang);
            let list = ListPage {
                tr,
                nav: Nav::default(),
                rows: vec![ListRow {
                    id: 7,
                    title: "Светофор <у школы>".into(),
                    jurisdiction: "Town".into(),
                    status: status_badge("open", tr),
                    progress: Some(Progress::new(3, 17, false, tr)),
                    threshold_reached: false,
                    overdue: true,
                    decision: None,
                    filed: human_time(0, lang),
                }],
                q: "x\"y".into(),
                jurisdictions: vec![],
                statuses: vec![],
                thresholds: vec![],
                overdue: true,
                filtered: true,
                count_text: "1".into(),
            };
            let html = list.render().unwrap();
            assert!(
                html.contains("Светофор &#60;у школы&#62;")
                    || html.contains("Светофор &lt;у школы&gt;"),
                "{html}"
            );
            assert!(html.contains("href=\"/petitions/7?lang="));
            assert!(html.contains("<progress"));
            assert!(!html.contains("pet-"), "a missing text: {html}");

            let chart = build_chart(&[(100, 2), (102, 3)], 100, 103, Some(17), lang);
            let page = PetitionPage {
                tr,
                nav: Nav {
                    signed_in: true,
                    is_staff: true,
                    csrf: "tok".into(),
                },
                id: 7,
                title: "T".into(),
                text: Some("line 1\nline 2".into()),
                status: status_badge("open", tr),
                decision: Some(Badge {
                    class: "bad",
                    label: decision_label("refused", tr),
                }),
                threshold_reached: true,
                overdue: true,
                jurisdiction: "Town".into(),
                legislature: "Council".into(),
                filed_at: "a".into(),
                opened_at: "b".into(),
                closes_at: "c".into(),
                closes_label: tr.t("pet-closes-at"),
                rejection: Some(("rule".into(), "why".into())),
                progress: Some(Progress::new(5, 17, false, tr)),
                rule_text: tr.t("pet-rule-text"),
                chart: Some(chart),
                chart_desc: "desc".into(),
                days: vec![DayRow {
                    date: "d".into(),
                    signatures: "2".into(),
                    cumulative: "2".into(),
                }],
                signatures_text: "s".into(),
                history: vec![HistoryItem {
                    index: 9,
                    at: "t".into(),
                    heading: "h".into(),
                    lines: vec!["l".into()],
                    quote: Some("q".into()),
                    badge: Some(deadline_badge("overdue", tr)),
                    document: Some("ab".repeat(32)),
                }],
                deadlines: vec![DeadlineRow {
                    label: "ack".into(),
                    due: "due".into(),
                    badge: deadline_badge("overdue", tr),
                }],
                content_hash: "00".into(),
                attachments: vec!["cd".repeat(32)],
                verify_cmd: "veche-verify petition 7".into(),
                sign: SignArea::Button,
                can_withdraw: true,
                can_moderate: true,
                can_acknowledge: true,
                can_schedule: true,
                can_answer: true,
                rules: vec![Opt {
                    value: "1".into(),
                    label: "1. r".into(),
                    selected: true,
                }],
                decisions: vec![],
                notice: "done".into(),
                notice_entry: Some(9),
                error: FormError {
                    action: "reject".into(),
                    message: "bad".into(),
                    field: "reason".into(),
                },
                form: ActionForm::default(),
            };
            let html = page.render().unwrap();
            for needle in [
                "/api/v1/log/receipt/9",
                "<svg",
                "<caption",
                "id=\"sign-form\"",
                "name=\"csrf\" value=\"tok\"",
                "value=\"withdraw\"",
                "value=\"reject\"",
                "value=\"acknowledge\"",
                "value=\"schedule\"",
                "value=\"answer\"",
                "/data/petitions/7.json",
                "/api/v1/attachments/abab",
                "aria-invalid=\"true\"",
            ] {
                assert!(html.contains(needle), "{needle} missing in {lang:?}");
            }
            assert!(!html.contains("pet-"), "a missing text: {html}");

            let new = NewPage {
                tr,
                nav: Nav::default(),
                can_file: true,
                staff: false,
                jurisdiction: "Town".into(),
                title: "t".into(),
                text: "x".into(),
                error: FormError {
                    action: "file".into(),
                    message: "m".into(),
                    field: "title".into(),
                },
                limits: "l".into(),
                title_max: 200,
                text_max: 10000,
            };
            let html = new.render().unwrap();
            assert!(html.contains("action=\"/petitions/new?lang="));
            assert!(!html.contains("pet-"), "a missing text: {html}");

            let rules = RulesPage {
                tr,
                nav: Nav::default(),
                rules: vec![(1, "a".into(), "b".into())],
                terms: vec![RulesRow {
                    jurisdiction: "T".into(),
                    open_months: 6,
                    acknowledge_days: 14,
                    answer_days: 90,
                    index: None,
                }],
            };
            assert!(!rules.render().unwrap().contains("pet-"));

            let receipt = ReceiptPage {
                tr,
                nav: Nav::default(),
                vkey: "veche.example/log+c6844620+ARl/ayPhbIUyxqvIOPrNXqeJvgx2spIDNAOb+os9No1h"
                    .into(),
                public_url: "http://localhost".into(),
                receipt: String::new(),
                error: String::new(),
            };
            let html = receipt.render().unwrap();
            assert!(html.contains("/static/petition.js"));
            assert!(!html.contains("rcpt-"), "a missing text: {html}");
        }
    }
}

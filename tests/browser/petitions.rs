//! The petition journey of issue #5 in headless Chromium, in Russian and
//! English: a citizen enrols, signs in and files two petitions through
//! /petitions/new; a moderator (a staff passkey made in the browser from an
//! invite) rejects one with a rule and a reason and opens the other; three
//! citizens sign it with their passkeys, each seeing the receipt checked in
//! the browser (and a tampered receipt refused), the third taking it over
//! the threshold; a clerk of the legislature signs in, acknowledges,
//! schedules consideration and publishes a deadline and then a motivated
//! refusal; the public page shows every step.
//!
//! Each person has a tab in a browser context of their own (own cookies and
//! storage) with their own virtual authenticator; the Chromium's first tab,
//! never signed in, is the public. Screenshots land in `target/screenshots/`.

use std::time::Instant;

use chromiumoxide::cdp::browser_protocol::input::InsertTextParams;
use serde_json::Value;
use veche_entry::Date;

use crate::setup::{js, person};
use crate::{Chromium, Lang, Tab, chromium, world_of};

/// The jurisdiction's population: ⌊2,000 / 1,000⌋ + 1 = 3 valid signatures
/// are more than 0.1% of it.
const POPULATION: u64 = 2000;
const NEEDED: usize = 3;

const DAY_MS: u64 = 86_400_000;

/// The visible texts of the petition pages the test expects (the
/// catalogues in `locales/`), per language.
struct PetitionTexts {
    new_title: &'static str,
    done_filed: &'static str,
    done_open: &'static str,
    done_reject: &'static str,
    done_acknowledge: &'static str,
    done_schedule: &'static str,
    done_answer: &'static str,
    status_filed: &'static str,
    status_open: &'static str,
    status_rejected: &'static str,
    h_filed: &'static str,
    h_opened: &'static str,
    h_population: &'static str,
    h_rejected: &'static str,
    h_rule: &'static str,
    h_threshold: &'static str,
    h_acknowledged: &'static str,
    h_scheduled: &'static str,
    h_answered: &'static str,
    h_answer_deadline: &'static str,
    h_by: &'static str,
    /// "valid signatures" after 1, after 2–4 and after 0 or 5–20.
    valid_one: &'static str,
    valid_few: &'static str,
    valid_many: &'static str,
    badge_threshold: &'static str,
    reached: &'static str,
    progress_summary: &'static str,
    decision_deadline_set: &'static str,
    decision_refused: &'static str,
    err_reason: &'static str,
    err_refusal_text: &'static str,
    err_deadline_in_past: &'static str,
    sign_button: &'static str,
    signed_heading: &'static str,
    deadline_met: &'static str,
    rcpt_title: &'static str,
    rcpt_signed_heading: &'static str,
    rcpt_valid: &'static str,
    rcpt_invalid: &'static str,
    rcpt_proof_bad: &'static str,
    rcpt_sig_bad: &'static str,
    role_moderator: &'static str,
    role_clerk: &'static str,
    /// Moderation rule 6.
    rule_6: &'static str,
    months: [&'static str; 12],
}

impl PetitionTexts {
    /// "3 valid signatures" under the progress bar, for up to 20.
    fn count(&self, n: usize) -> String {
        let label = match n {
            1 => self.valid_one,
            2..=4 => self.valid_few,
            _ => self.valid_many,
        };
        format!("{n} {label}")
    }
}

/// What the people of the journey write.
struct Writing {
    title: &'static str,
    text: &'static str,
    unclear_title: &'static str,
    unclear_text: &'static str,
    rejection: &'static str,
    deadline_answer: &'static str,
    refusal: &'static str,
}

fn texts(lang: Lang) -> (PetitionTexts, Writing) {
    match lang {
        Lang::Ru => (
            PetitionTexts {
                new_title: "Создать петицию",
                done_filed: "Петиция подана. Модератор проверит её по опубликованным правилам, после чего откроется сбор подписей.",
                done_open: "Сбор подписей открыт.",
                done_reject: "Петиция отклонена; причина опубликована.",
                done_acknowledge: "Получение подтверждено.",
                done_schedule: "Дата рассмотрения назначена.",
                done_answer: "Решение опубликовано.",
                status_filed: "Ждёт модерации",
                status_open: "Идёт сбор подписей",
                status_rejected: "Отклонена",
                h_filed: "Подана жителем",
                h_opened: "Открыта для подписей",
                h_population: "Население зафиксировано: %1; нужно подписей: %2.",
                h_rejected: "Отклонена модератором",
                h_rule: "Правило %1: %2",
                h_threshold: "Порог достигнут: направлена в орган",
                h_acknowledged: "Орган подтвердил получение",
                h_scheduled: "Рассмотрение назначено на %1",
                h_answered: "Решение законодательного органа",
                h_answer_deadline: "Срок решения: %1",
                h_by: "Кто: %1",
                valid_one: "действительная подпись",
                valid_few: "действительные подписи",
                valid_many: "действительных подписей",
                badge_threshold: "Направлена в орган",
                reached: "порог достигнут",
                progress_summary: "%1 из %2 нужных подписей",
                decision_deadline_set: "Установлен срок",
                decision_refused: "Мотивированный отказ",
                err_reason: "Укажите причину отказа.",
                err_refusal_text: "В отказе нужно указать причины: введите ответ.",
                err_deadline_in_past: "Срок должен быть в будущем.",
                sign_button: "Подписать ключом входа",
                signed_heading: "Вы подписали эту петицию",
                deadline_met: "Выполнено в срок",
                rcpt_title: "Проверка квитанции",
                rcpt_signed_heading: "Ваша подпись записана",
                rcpt_valid: "Верна: запись %1 есть в журнале %3 из %2 записей.",
                rcpt_invalid: "Неверна: эта квитанция не доказывает, что запись есть в журнале.",
                rcpt_proof_bad: "доказательство включения не ведёт к корню контрольной точки",
                rcpt_sig_bad: "у контрольной точки нет верной подписи ключом журнала",
                role_moderator: "Модератор",
                role_clerk: "Сотрудник аппарата законодательного органа",
                rule_6: "Непонятно, чего добивается петиция",
                months: [
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
                ],
            },
            Writing {
                title: "Светофор у школы № 5",
                text: "Просим установить светофор на перекрёстке у школы № 5.\nДети переходят дорогу без него.",
                unclear_title: "Сделайте лучше",
                unclear_text: "Всё должно стать лучше.",
                rejection: "Из петиции не ясно, какое решение должна принять дума.",
                deadline_answer: "Вопрос включён в план работы; решение будет принято после обследования перекрёстка.",
                refusal: "Перекрёсток не отвечает условиям установки светофора по ГОСТ Р 52289-2019; дума поручила установить искусственную неровность.",
            },
        ),
        Lang::En => (
            PetitionTexts {
                new_title: "Start a petition",
                done_filed: "Your petition is filed. A moderator will check it against the published rules; then it opens for signatures.",
                done_open: "The petition is open for signatures.",
                done_reject: "The petition is rejected; the reason is published.",
                done_acknowledge: "Receipt is acknowledged.",
                done_schedule: "The consideration date is set.",
                done_answer: "The decision is published.",
                status_filed: "Awaiting moderation",
                status_open: "Open for signatures",
                status_rejected: "Rejected",
                h_filed: "Filed by a resident",
                h_opened: "Opened for signatures",
                h_population: "Population fixed at %1; signatures needed: %2.",
                h_rejected: "Rejected by the moderator",
                h_rule: "Rule %1: %2",
                h_threshold: "Threshold reached: sent to the legislature",
                h_acknowledged: "The legislature acknowledged receipt",
                h_scheduled: "Consideration scheduled for %1",
                h_answered: "The legislature's decision",
                h_answer_deadline: "To be resolved by %1",
                h_by: "By: %1",
                valid_one: "valid signature",
                valid_few: "valid signatures",
                valid_many: "valid signatures",
                badge_threshold: "Sent to the legislature",
                reached: "the threshold is reached",
                progress_summary: "%1 of %2 signatures needed",
                decision_deadline_set: "Deadline set",
                decision_refused: "Motivated refusal",
                err_reason: "Enter the reason for the rejection.",
                err_refusal_text: "A refusal must give its reasons: enter the answer.",
                err_deadline_in_past: "The deadline must be in the future.",
                sign_button: "Sign with your passkey",
                signed_heading: "You have signed this petition",
                deadline_met: "Done in time",
                rcpt_title: "Check a receipt",
                rcpt_signed_heading: "Your signature is recorded",
                rcpt_valid: "Valid: entry %1 is in the log %3 of %2 entries.",
                rcpt_invalid: "Not valid: this receipt does not prove that the entry is in the log.",
                rcpt_proof_bad: "the inclusion proof does not lead to the checkpoint's root",
                rcpt_sig_bad: "the checkpoint has no valid signature by the log's key",
                role_moderator: "Moderator",
                role_clerk: "Legislature clerk",
                rule_6: "Unclear what the petition asks for",
                months: [
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
                ],
            },
            Writing {
                title: "A pedestrian crossing with lights by School No. 5",
                text: "Please put traffic lights at the crossroads by School No. 5.\nChildren cross the road there without them.",
                unclear_title: "Make things better",
                unclear_text: "Everything should be better.",
                rejection: "The petition does not say what the council should decide.",
                deadline_answer: "The council has put it on its work plan and will decide once the crossroads has been surveyed.",
                refusal: "The crossroads does not meet the national standard's conditions for traffic lights; the council has ordered a speed hump instead.",
            },
        ),
    }
}

/// A catalogue text with `%1`, `%2`, … filled in, as the pages do it.
fn fill(text: &str, args: &[&str]) -> String {
    let mut out = text.to_string();
    for (i, a) in args.iter().enumerate().rev() {
        out = out.replace(&format!("%{}", i + 1), a);
    }
    out
}

/// A date as the pages write it: `5 March 2026`, `5 марта 2026`.
fn human_date(d: Date, p: &PetitionTexts) -> String {
    format!(
        "{} {} {}",
        d.day(),
        p.months[usize::from(d.month()) - 1],
        d.year()
    )
}

/// The UTC date `days` from today.
fn date_in(days: i64) -> Date {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    Date::from_timestamp_ms((now + days * DAY_MS as i64) as u64).unwrap()
}

/// `2000` as the pages group it: `2,000`, `2 000` (a no-break space).
fn number(n: u64, lang: Lang) -> String {
    let sep = match lang {
        Lang::Ru => '\u{a0}',
        Lang::En => ',',
    };
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

impl Tab {
    /// Types `text` into the field as the keyboard would (CDP
    /// `Input.insertText`, which takes any script and line breaks).
    async fn insert_text(&self, selector: &str, text: &str) {
        self.eval(&format!("document.querySelector({}).focus()", js(selector)))
            .await;
        self.page
            .execute(InsertTextParams::new(text))
            .await
            .unwrap_or_else(|e| panic!("type into {selector}: {e}"));
    }

    /// Sets a field's value (a date input, a select) and tells the page.
    async fn set_value(&self, selector: &str, value: &str) {
        let done = self
            .eval(&format!(
                "(() => {{ const e = document.querySelector({}); if (!e) return false; \
                 e.value = {}; e.dispatchEvent(new Event('change', {{bubbles: true}})); \
                 return e.value === {}; }})()",
                js(selector),
                js(value),
                js(value)
            ))
            .await;
        assert_eq!(done, Some(Value::Bool(true)), "set {selector} to {value}");
    }

    async fn check(&self, selector: &str) {
        self.eval(&format!(
            "document.querySelector({}).checked = true",
            js(selector)
        ))
        .await;
    }

    /// Clicks `button` and waits for the next document (a form post's
    /// answer) to be loaded and satisfy `cond`.
    async fn submit(&self, what: &str, button: &str, cond: &str) {
        self.eval("window.__vecheBefore = true").await;
        self.click(button).await;
        self.wait_for(
            what,
            &format!("!window.__vecheBefore && document.readyState === 'complete' && ({cond})"),
        )
        .await;
    }

    /// Posts a petition page form that succeeds: back on the page with the
    /// `done` notice; returns the log index the notice names.
    async fn act(&self, what: &str, button: &str, done: &str, notice: &str) -> u64 {
        self.submit(
            what,
            button,
            &format!(
                "new URLSearchParams(location.search).get('done') === {}",
                js(done)
            ),
        )
        .await;
        assert_eq!(
            self.text("[data-testid=notice] p").await,
            notice,
            "{what}: the notice"
        );
        let entry = self
            .eval("new URLSearchParams(location.search).get('entry')")
            .await
            .and_then(|v| v.as_str().and_then(|s| s.parse().ok()))
            .unwrap_or_else(|| panic!("{what}: no entry in the page address"));
        // The notice links the entry's receipt.
        assert_eq!(
            self.count(&format!(
                "[data-testid=notice] a[href='/receipt?index={entry}&lang={}']",
                self.lang_code().await
            ))
            .await,
            1,
            "{what}: the notice links the receipt"
        );
        entry
    }

    /// Posts a petition page form that is refused: the page again, with the
    /// error summary; returns its text.
    async fn refused(&self, what: &str, button: &str) -> String {
        self.submit(
            what,
            button,
            "document.querySelector('[data-testid=error]')",
        )
        .await;
        self.text("[data-testid=error] p").await
    }

    async fn lang_code(&self) -> String {
        self.eval("document.documentElement.lang")
            .await
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    async fn strings(&self, js_array: &str) -> Vec<String> {
        match self.eval(js_array).await {
            Some(Value::Array(a)) => a
                .into_iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect(),
            other => panic!("{js_array}: {other:?}"),
        }
    }

    /// The headings of the public history, without their badges.
    async fn history(&self) -> Vec<String> {
        self.strings(
            "Array.from(document.querySelectorAll('[data-testid=history] > li > h3')) \
             .map(h => h.firstChild.textContent.trim())",
        )
        .await
    }

    /// The words of the history step at `i`.
    async fn history_step(&self, i: usize) -> String {
        self.text(&format!("[data-testid=history] > li:nth-child({})", i + 1))
            .await
    }

    /// The badges next to the petition's title.
    async fn badges(&self) -> Vec<String> {
        self.strings(
            "Array.from(document.querySelectorAll('h1 + p.meta .badge')).map(b => b.textContent.trim())",
        )
        .await
    }

    async fn hidden(&self, selector: &str) -> bool {
        self.eval(&format!("document.querySelector({}).hidden", js(selector)))
            .await
            .and_then(|v| v.as_bool())
            .unwrap_or_else(|| panic!("no {selector}"))
    }

    /// Accepts a staff invite on its page, making a passkey with this tab's
    /// authenticator; lands signed in on /staff.
    async fn accept_invite(&self, url: &str, lang: Lang, token: &str, role: &str) {
        self.goto(&format!("{url}/staff/invite/{token}?lang={}", lang.code()))
            .await;
        self.click("[data-testid=invite-submit]").await;
        self.wait_for(
            "the staff invite lands on /staff",
            "location.pathname === '/staff' && document.querySelector('[data-testid=role]')",
        )
        .await;
        assert_eq!(self.text("[data-testid=role]").await, role);
    }

    /// Files a petition on /petitions/new; returns its number.
    async fn file_petition(
        &self,
        url: &str,
        lang: Lang,
        p: &PetitionTexts,
        title: &str,
        text: &str,
        screenshot: Option<&str>,
    ) -> u64 {
        self.goto(&format!("{url}/petitions/new?lang={}", lang.code()))
            .await;
        self.assert_page(lang, p.new_title).await;
        self.insert_text("[data-testid=title]", title).await;
        self.insert_text("[data-testid=text]", text).await;
        if let Some(name) = screenshot {
            self.screenshot(name).await;
        }
        let id = self
            .act("filing", "[data-testid=file]", "filed", p.done_filed)
            .await;
        assert_eq!(
            self.path().await,
            format!("/petitions/{id}"),
            "the petition's number is its filing entry"
        );
        assert_eq!(self.text("[data-testid=petition-title]").await, title);
        let shown = self
            .eval("document.querySelector('[data-testid=petition-text]').textContent")
            .await
            .and_then(|v| v.as_str().map(str::to_string));
        assert_eq!(shown.as_deref(), Some(text), "the text, line breaks kept");
        assert_eq!(self.badges().await, [p.status_filed]);
        assert_eq!(self.history().await, [p.h_filed]);
        id
    }

    /// The receipt page verified the receipt in the textarea: the verdict
    /// names its entry, and every check passed. Returns the receipt.
    async fn assert_receipt_valid(&self, p: &PetitionTexts) -> Value {
        self.wait_for(
            "the receipt is verified",
            "document.querySelector('#receipt-verdict').classList.contains('ok')",
        )
        .await;
        let receipt: Value = serde_json::from_str(
            self.eval("document.querySelector('#receipt-json').value")
                .await
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap()
                .as_str(),
        )
        .expect("the receipt is JSON");
        let verdict = format!(
            "✓ {}",
            fill(
                p.rcpt_valid,
                &[
                    &receipt["index"].to_string(),
                    &receipt["tree_size"].to_string(),
                    receipt["origin"].as_str().unwrap(),
                ]
            )
        );
        assert_eq!(self.text("#receipt-verdict").await, verdict);
        // Format, key, checkpoint signature, origin and size, leaf hash of
        // the entry bytes, inclusion proof.
        assert_eq!(self.count("#receipt-checks li.ok").await, 6);
        assert_eq!(self.count("#receipt-checks li:not(.ok)").await, 0);
        receipt
    }

    /// Edits the receipt on the page with `edit` (JS, on the parsed receipt
    /// `r`, with `flip(base64)` changing one bit), checks it again, and
    /// returns the failed checks' words once the page says it is not valid.
    async fn assert_tampered_invalid(&self, p: &PetitionTexts, what: &str, edit: &str) -> String {
        let edited = self
            .eval(&format!(
                "(() => {{ const a = document.querySelector('#receipt-json'); \
                 const r = JSON.parse(a.value); \
                 const flip = (s) => {{ const b = Uint8Array.from(atob(s), c => c.charCodeAt(0)); \
                   b[b.length - 1] ^= 1; return btoa(String.fromCharCode(...b)); }}; \
                 {edit}; a.value = JSON.stringify(r, null, 2); return true; }})()"
            ))
            .await;
        assert_eq!(edited, Some(Value::Bool(true)), "{what}: edit the receipt");
        self.click("[data-testid=check-receipt]").await;
        self.wait_for(
            what,
            "document.querySelector('#receipt-verdict').classList.contains('bad')",
        )
        .await;
        assert_eq!(
            self.text("#receipt-verdict").await,
            format!("✗ {}", p.rcpt_invalid),
            "{what}"
        );
        self.strings(
            "Array.from(document.querySelectorAll('#receipt-checks li.bad')).map(l => l.textContent)",
        )
        .await
        .join("\n")
    }
}

/// The whole journey in one language, on a fresh server and database.
async fn petition_journey(lang: Lang) {
    let Some(exe) = chromium() else { return };
    let started = Instant::now();
    let (w, moderator_invite, clerk_invite) = tokio::task::spawn_blocking(|| {
        let mut w = world_of(POPULATION, &["r1", "r2", "r3"]);
        let moderator = w.admin.invite(&w.app, "moderator");
        let clerk = w.admin.invite(&w.app, "clerk");
        (w, moderator, clerk)
    })
    .await
    .unwrap();
    let url = w.app.url.clone();
    let l = lang.code();
    let (p, say) = texts(lang);
    let c = Chromium::launch(&exe).await;

    // 1. A citizen enrols, signs out and in again, and files two petitions.
    let author = person(&c).await;
    author.enrol_by_code(&url, lang, &w.codes[0], None).await;
    author.sign_out(&url, l).await;
    author.sign_in_with_button(&url, lang).await;
    let id = author
        .file_petition(
            &url,
            lang,
            &p,
            say.title,
            say.text,
            Some(&format!("petition-new-{l}")),
        )
        .await;
    assert_eq!(
        author.count("[data-testid=sign]").await,
        0,
        "not open for signatures before moderation"
    );
    let unclear = author
        .file_petition(&url, lang, &p, say.unclear_title, say.unclear_text, None)
        .await;

    // 2. A moderator, with a passkey made in the browser from an invite,
    // rejects the unclear petition under rule 6 and opens the other.
    let moderator = person(&c).await;
    moderator
        .accept_invite(&url, lang, &moderator_invite, "moderator")
        .await;
    moderator
        .goto(&format!("{url}/petitions/{unclear}?lang={l}"))
        .await;
    moderator.set_value("#reject-rule", "6").await;
    let error = moderator
        .refused(
            "a rejection without a reason",
            "[data-testid=moderate-reject]",
        )
        .await;
    assert_eq!(error, p.err_reason);
    assert_eq!(
        moderator.count("#reject-reason[aria-invalid=true]").await,
        1
    );
    assert_eq!(
        moderator.badges().await,
        [p.status_filed],
        "nothing changed"
    );
    assert_eq!(
        moderator
            .eval("document.querySelector('#reject-rule').value")
            .await,
        Some(Value::from("6")),
        "the chosen rule is kept"
    );
    moderator.insert_text("#reject-reason", say.rejection).await;
    moderator
        .act(
            "rejection",
            "[data-testid=moderate-reject]",
            "reject",
            p.done_reject,
        )
        .await;
    assert_eq!(moderator.badges().await, [p.status_rejected]);
    let rule = fill(p.h_rule, &["6", p.rule_6]);
    assert_eq!(moderator.text("[data-testid=rejection] p").await, rule);
    assert_eq!(
        moderator.text("[data-testid=rejection] blockquote").await,
        say.rejection
    );
    assert_eq!(moderator.history().await, [p.h_filed, p.h_rejected]);
    let step = moderator.history_step(1).await;
    assert!(
        step.contains(&rule) && step.contains(say.rejection) && step.contains(p.role_moderator),
        "{step}"
    );
    assert_eq!(moderator.count("[data-testid=moderate-open]").await, 0);
    moderator
        .screenshot(&format!("petition-rejected-{l}"))
        .await;

    moderator
        .goto(&format!("{url}/petitions/{id}?lang={l}"))
        .await;
    moderator
        .act(
            "opening",
            "[data-testid=moderate-open]",
            "open",
            p.done_open,
        )
        .await;
    assert_eq!(moderator.badges().await, [p.status_open]);
    assert_eq!(moderator.history().await, [p.h_filed, p.h_opened]);
    let step = moderator.history_step(1).await;
    let population = fill(
        p.h_population,
        &[&number(POPULATION, lang), &NEEDED.to_string()],
    );
    assert!(
        step.contains(&population) && step.contains(&fill(p.h_by, &[p.role_moderator])),
        "{step}"
    );
    assert!(
        moderator
            .text("#progress-text")
            .await
            .starts_with(&fill(p.progress_summary, &["0", &NEEDED.to_string()])),
    );
    assert_eq!(moderator.count("[data-testid=moderate-open]").await, 0);

    // 3. Three citizens sign with their passkeys; each receipt is checked in
    // the browser; the third signature reaches the threshold.
    let second = person(&c).await;
    second.enrol_by_code(&url, lang, &w.codes[1], None).await;
    let third = person(&c).await;
    third.enrol_by_code(&url, lang, &w.codes[2], None).await;
    let mut crossing = 0;
    for (n, signer) in [&author, &second, &third].into_iter().enumerate() {
        signer.goto(&format!("{url}/petitions/{id}?lang={l}")).await;
        assert_eq!(signer.text("[data-testid=sign]").await, p.sign_button);
        assert_eq!(signer.text(".progress-panel .count").await, p.count(n));
        signer.click("[data-testid=sign]").await;
        signer
            .wait_for(
                "signing lands on the receipt page",
                "location.pathname === '/receipt' && document.querySelector('#receipt-verdict')",
            )
            .await;
        signer.assert_page(lang, p.rcpt_title).await;
        let receipt = signer.assert_receipt_valid(&p).await;
        assert!(!signer.hidden("#signed-notice").await);
        assert_eq!(
            signer.text("#signed-notice h2").await,
            p.rcpt_signed_heading
        );
        let crossed = n + 1 == NEEDED;
        assert_eq!(
            signer.hidden("#signed-threshold").await,
            !crossed,
            "the threshold note after signature {}",
            n + 1
        );
        let details = signer.text("#receipt-details").await;
        assert!(
            details.contains("signature") && details.contains(&id.to_string()),
            "{details}"
        );
        if n == 0 {
            signer.screenshot(&format!("receipt-{l}")).await;
            // A receipt whose proof was changed, or whose checkpoint was
            // forged, proves nothing; the original still does.
            signer
                .eval("window.__vecheReceipt = document.querySelector('#receipt-json').value")
                .await;
            let failed = signer
                .assert_tampered_invalid(
                    &p,
                    "a changed inclusion proof",
                    "r.inclusion_proof[0] = flip(r.inclusion_proof[0])",
                )
                .await;
            assert!(
                failed.contains(p.rcpt_proof_bad) && !failed.contains(p.rcpt_sig_bad),
                "{failed}"
            );
            signer.screenshot(&format!("receipt-tampered-{l}")).await;
            signer
                .eval(
                    "document.querySelector('#receipt-json').value = window.__vecheReceipt; \
                     document.querySelector('[data-testid=check-receipt]').click()",
                )
                .await;
            signer.assert_receipt_valid(&p).await;
            let failed = signer
                .assert_tampered_invalid(
                    &p,
                    "a forged checkpoint",
                    "const lines = r.checkpoint.split('\\n'); lines[2] = flip(lines[2]); \
                     r.checkpoint = lines.join('\\n')",
                )
                .await;
            assert!(failed.contains(p.rcpt_sig_bad), "{failed}");
        }
        if crossed {
            crossing = receipt["index"].as_u64().unwrap();
        }
        // Back to the petition: signed, counted.
        signer.click("#signed-back").await;
        signer
            .wait_for(
                "back to the petition",
                &format!("location.pathname === '/petitions/{id}' && document.querySelector('[data-testid=signed]')"),
            )
            .await;
        assert_eq!(
            signer.text("[data-testid=signed] h2").await,
            p.signed_heading
        );
        assert_eq!(signer.count("[data-testid=sign]").await, 0);
        assert_eq!(signer.text(".progress-panel .count").await, p.count(n + 1));
    }

    // 4. The public sees the threshold reached.
    c.goto(&format!("{url}/petitions/{id}?lang={l}")).await;
    assert_eq!(c.badges().await, [p.status_open, p.badge_threshold]);
    let needed = NEEDED.to_string();
    let progress = c.text("#progress-text").await;
    assert!(
        progress.starts_with(&fill(p.progress_summary, &[&needed, &needed]))
            && progress.ends_with(p.reached),
        "{progress}"
    );
    assert_eq!(
        c.eval(
            "(() => { const b = document.querySelector('progress'); return [b.value, b.max]; })()"
        )
        .await,
        Some(serde_json::json!([NEEDED, NEEDED])),
        "a full progress bar"
    );
    assert_eq!(c.history().await, [p.h_filed, p.h_opened, p.h_threshold]);
    assert!(
        c.history_step(2).await.contains(&format!(" {crossing}.")),
        "the threshold step names the crossing signature {crossing}"
    );
    assert_eq!(c.count("[data-testid=deadlines] tbody tr").await, 2);
    assert_eq!(c.count("[data-testid=chart]").await, 1);
    assert_eq!(c.count("[data-testid=chart-data] tbody tr").await, 1);
    c.screenshot(&format!("petition-threshold-{l}")).await;
    // The threshold entry's receipt, from its step in the history.
    c.click("[data-testid=history] > li:nth-child(3) a[href^='/receipt?index=']")
        .await;
    c.wait_for(
        "the threshold entry's receipt page",
        "location.pathname === '/receipt' && document.querySelector('#receipt-verdict')",
    )
    .await;
    let receipt = c.assert_receipt_valid(&p).await;
    assert_eq!(receipt["index"], crossing + 1, "the entry right after");
    assert!(
        c.text("#receipt-details")
            .await
            .contains("threshold_reached")
    );
    assert!(c.hidden("#signed-notice").await, "not a fresh signature");

    // 5. A clerk of the legislature signs in and answers, through the
    // petition page's forms.
    let clerk = person(&c).await;
    clerk
        .accept_invite(&url, lang, &clerk_invite, "clerk")
        .await;
    clerk.goto(&format!("{url}/account?lang={l}")).await;
    clerk.wait_for_account("the clerk's account").await;
    clerk.sign_out(&url, l).await;
    clerk.sign_in_with_button(&url, lang).await;
    clerk.goto(&format!("{url}/petitions/{id}?lang={l}")).await;
    assert_eq!(
        clerk.count("[data-testid=answer]").await,
        0,
        "acknowledge first"
    );
    clerk
        .act(
            "acknowledgement",
            "[data-testid=acknowledge]",
            "acknowledge",
            p.done_acknowledge,
        )
        .await;
    assert_eq!(clerk.count("[data-testid=acknowledge]").await, 0);
    let consideration = date_in(14);
    clerk
        .set_value("#schedule-date", &consideration.to_string())
        .await;
    clerk
        .act(
            "scheduling",
            "[data-testid=schedule]",
            "schedule",
            p.done_schedule,
        )
        .await;
    // A refusal without reasons and a deadline in the past are refused
    // next to their fields.
    clerk.check("#decision-refused").await;
    let error = clerk
        .refused("a refusal without reasons", "[data-testid=answer]")
        .await;
    assert_eq!(error, p.err_refusal_text);
    assert_eq!(clerk.count("#answer-text[aria-invalid=true]").await, 1);
    clerk.check("#decision-deadline_set").await;
    clerk
        .set_value("#answer-deadline", &date_in(-1).to_string())
        .await;
    clerk.insert_text("#answer-text", say.deadline_answer).await;
    let error = clerk
        .refused("a deadline in the past", "[data-testid=answer]")
        .await;
    assert_eq!(error, p.err_deadline_in_past);
    assert_eq!(
        clerk
            .eval("document.querySelector('#answer-text').value")
            .await,
        Some(Value::from(say.deadline_answer)),
        "the answer typed is kept"
    );
    let deadline = date_in(60);
    clerk.check("#decision-deadline_set").await;
    clerk
        .set_value("#answer-deadline", &deadline.to_string())
        .await;
    clerk
        .act(
            "a deadline",
            "[data-testid=answer]",
            "answer",
            p.done_answer,
        )
        .await;
    assert_eq!(
        clerk.badges().await,
        [p.status_open, p.badge_threshold, p.decision_deadline_set]
    );
    clerk.check("#decision-refused").await;
    clerk.insert_text("#answer-text", say.refusal).await;
    clerk
        .act(
            "the final refusal",
            "[data-testid=answer]",
            "answer",
            p.done_answer,
        )
        .await;
    assert_eq!(
        clerk.count("[data-testid=answer]").await,
        0,
        "the final decision is published"
    );

    // The public page shows every step and the decision.
    c.goto(&format!("{url}/petitions/{id}?lang={l}")).await;
    assert_eq!(
        c.badges().await,
        [p.status_open, p.badge_threshold, p.decision_refused]
    );
    let scheduled = fill(p.h_scheduled, &[&human_date(consideration, &p)]);
    assert_eq!(
        c.history().await,
        [
            p.h_filed,
            p.h_opened,
            p.h_threshold,
            p.h_acknowledged,
            scheduled.as_str(),
            p.h_answered,
            p.h_answered,
        ]
    );
    let acknowledged = c.history_step(3).await;
    assert!(acknowledged.contains(p.role_clerk), "{acknowledged}");
    let first_answer = c.history_step(5).await;
    assert!(
        first_answer.contains(p.decision_deadline_set)
            && first_answer.contains(&fill(p.h_answer_deadline, &[&human_date(deadline, &p)]))
            && first_answer.contains(say.deadline_answer),
        "{first_answer}"
    );
    let final_answer = c.history_step(6).await;
    assert!(
        final_answer.contains(p.decision_refused) && final_answer.contains(say.refusal),
        "{final_answer}"
    );
    assert_eq!(
        c.strings(
            "Array.from(document.querySelectorAll('[data-testid=deadlines] tbody .badge')).map(b => b.textContent.trim())"
        )
        .await,
        [p.deadline_met, p.deadline_met],
        "acknowledged and answered in time"
    );
    assert_eq!(c.count("[data-testid=answer]").await, 0);
    c.screenshot(&format!("petition-answered-{l}")).await;

    c.close().await;
    eprintln!("browser petition journey ({l}): {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn petition_filed_moderated_signed_and_answered_ru() {
    petition_journey(Lang::Ru).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn petition_filed_moderated_signed_and_answered_en() {
    petition_journey(Lang::En).await;
}

//! The poll journey of issue #6 in headless Chromium, in Russian and
//! English: an organiser (a staff passkey made in the browser from an
//! invite, in a browser set to Moscow time) opens two polls through
//! /polls/new, after a refused form; three citizens vote with their
//! passkeys through the poll page, one changes their vote and the page shows
//! the new choice; the public sees the turnout while the polls run; once the
//! closer has declared the results, the pages show the chart, the table and
//! the winner (or the tie), matching what `GET /api/v1/polls/{id}` declares.
//!
//! The Russian journey's main poll is ranked (Schulze: a select per place),
//! the English one's is approval (checkboxes); both also run a
//! single-choice poll (radios) that ends in a tie. Screenshots land in
//! `target/screenshots/`.

use std::time::{Duration, Instant};

use chromiumoxide::cdp::browser_protocol::emulation::SetTimezoneOverrideParams;
use serde_json::{Value, json};

use crate::setup::{insert_text, js, person, set_value};
use crate::{Chromium, Lang, Tab, chromium, world_of};

/// Voting stays open this long after the organiser submits the form: long
/// enough for the six ballots of the journey on a busy machine.
const WINDOW_S: u64 = 15;

/// The visible texts the test expects (the catalogues in `locales/`).
struct PollTexts {
    list_title: &'static str,
    new_title: &'static str,
    done_opened: &'static str,
    done_voted: &'static str,
    status_open: &'static str,
    status_closed: &'static str,
    /// "%1 people have voted" after 1, 2–4, and 0 or 5–20.
    turnout_one: &'static str,
    turnout_few: &'static str,
    turnout_many: &'static str,
    ballots_cast: &'static str,
    err_option_en: &'static str,
    zone_browser: &'static str,
    winner: &'static str,
    tie: &'static str,
    and: &'static str,
    vote_button: &'static str,
    revote_button: &'static str,
}

impl PollTexts {
    fn turnout(&self, n: u64) -> String {
        let t = match n % 10 {
            _ if (11..=14).contains(&(n % 100)) => self.turnout_many,
            1 => self.turnout_one,
            2..=4 => self.turnout_few,
            _ => self.turnout_many,
        };
        t.replace("%1", &n.to_string())
    }
}

/// One poll as the organiser writes it.
struct Question {
    ru: &'static str,
    en: &'static str,
    options: &'static [(&'static str, &'static str)],
    method: &'static str,
}

const ROADS: Question = Question {
    ru: "Что городу сделать в первую очередь в 2027 году?",
    en: "What should the city do first in 2027?",
    options: &[
        ("Ремонт дорог", "Road repairs"),
        ("Новые детские площадки", "New playgrounds"),
        ("Освещение улиц", "Street lighting"),
    ],
    method: "",
};

const SQUARE: Question = Question {
    ru: "Как назвать новый сквер на Лесной улице?",
    en: "What should the new square on Lesnaya Street be called?",
    options: &[
        ("Сквер Учителей", "Teachers' Square"),
        ("Липовый сквер", "Linden Square"),
    ],
    method: "single",
};

fn texts(lang: Lang) -> PollTexts {
    match lang {
        Lang::Ru => PollTexts {
            list_title: "Опросы",
            new_title: "Начать опрос",
            done_opened: "Опрос открыт. Он объявлен в открытом журнале.",
            done_voted: "Ваш голос записан. Его можно изменить до закрытия опроса; учитывается только последний.",
            status_open: "Идёт голосование",
            status_closed: "Завершён",
            turnout_one: "Проголосовал %1 человек",
            turnout_few: "Проголосовали %1 человека",
            turnout_many: "Проголосовали %1 человек",
            ballots_cast: "Подано бюллетеней, включая изменённые голоса: %1",
            err_option_en: "Введите вариант 2 и по-английски.",
            zone_browser: "Время указывается в часовом поясе вашего устройства (UTC+03:00).",
            winner: "Победитель: %1",
            tie: "Ничья: первое место делят %1.",
            and: "и",
            vote_button: "Проголосовать ключом входа",
            revote_button: "Заменить мой голос",
        },
        Lang::En => PollTexts {
            list_title: "Polls",
            new_title: "Open a poll",
            done_opened: "The poll is open. It is announced in the public log.",
            done_voted: "Your vote is recorded. You can change it until the poll closes; only your last vote counts.",
            status_open: "Open for voting",
            status_closed: "Closed",
            turnout_one: "%1 person has voted",
            turnout_few: "%1 people have voted",
            turnout_many: "%1 people have voted",
            ballots_cast: "Ballots cast, changed votes included: %1",
            err_option_en: "Enter option 2 in English too.",
            zone_browser: "Times are in your device's time zone (UTC+03:00).",
            winner: "Winner: %1",
            tie: "Tie: %1 share first place.",
            and: "and",
            vote_button: "Vote with your passkey",
            revote_button: "Replace my vote",
        },
    }
}

/// Clicks `button` and waits for the next document to satisfy `cond`.
async fn submit(tab: &Tab, what: &str, button: &str, cond: &str) {
    tab.eval("window.__vecheBefore = true").await;
    tab.click(button).await;
    tab.wait_for(
        what,
        &format!("!window.__vecheBefore && document.readyState === 'complete' && ({cond})"),
    )
    .await;
}

async fn strings(tab: &Tab, js_array: &str) -> Vec<String> {
    match tab.eval(js_array).await {
        Some(Value::Array(a)) => a
            .into_iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect(),
        other => panic!("{js_array}: {other:?}"),
    }
}

/// The texts of every element `selector` matches.
async fn all_texts(tab: &Tab, selector: &str) -> Vec<String> {
    strings(
        tab,
        &format!(
            "Array.from(document.querySelectorAll({})).map(e => e.textContent.trim())",
            js(selector)
        ),
    )
    .await
}

/// `GET path` from the page, as JSON.
async fn api(tab: &Tab, path: &str) -> Value {
    tab.eval(&format!(
        "fetch({}, {{credentials: 'omit'}}).then(r => r.json())",
        js(path)
    ))
    .await
    .unwrap_or_else(|| panic!("GET {path}"))
}

/// Accepts a staff invite on its page, making a passkey with this tab's
/// authenticator; lands signed in on /staff.
async fn accept_invite(tab: &Tab, url: &str, lang: Lang, token: &str) {
    tab.goto(&format!("{url}/staff/invite/{token}?lang={}", lang.code()))
        .await;
    tab.click("[data-testid=invite-submit]").await;
    tab.wait_for(
        "the staff invite lands on /staff",
        "location.pathname === '/staff' && document.querySelector('[data-testid=role]')",
    )
    .await;
    assert_eq!(tab.text("[data-testid=role]").await, "organiser");
}

/// Fills /polls/new with `q` (in both languages), closing `WINDOW_S` from
/// now in the browser's local time, and opens it; returns the poll id and
/// the closing time the browser meant, in milliseconds.
async fn open_poll(tab: &Tab, lang: Lang, p: &PollTexts, q: &Question) -> (u64, u64) {
    for (i, (ru, en)) in q.options.iter().enumerate() {
        insert_text(tab, &format!("#option-{i}-ru"), ru).await;
        insert_text(tab, &format!("#option-{i}-en"), en).await;
    }
    insert_text(tab, "#question_ru", q.ru).await;
    insert_text(tab, "#question_en", q.en).await;
    tab.click(&format!("#method-{}", q.method)).await;
    let closes = tab
        .eval(&format!(
            "(() => {{ let t = Math.floor((Date.now() + {}) / 1000) * 1000; \
             if (new Date(t).getSeconds() === 0) t += 1000; \
             const d = new Date(t); const p = (n) => String(n).padStart(2, '0'); \
             return [d.getTime(), `${{d.getFullYear()}}-${{p(d.getMonth() + 1)}}-${{p(d.getDate())}}T${{p(d.getHours())}}:${{p(d.getMinutes())}}:${{p(d.getSeconds())}}`]; }})()",
            WINDOW_S * 1000
        ))
        .await
        .unwrap();
    let closes_ms = closes[0].as_u64().unwrap();
    set_value(tab, "#closes_at", closes[1].as_str().unwrap()).await;
    submit(
        tab,
        "opening a poll",
        "[data-testid=open]",
        "new URLSearchParams(location.search).get('done') === 'opened'",
    )
    .await;
    assert_eq!(tab.text("[data-testid=notice] p").await, p.done_opened);
    let id: u64 = tab
        .eval("new URLSearchParams(location.search).get('entry')")
        .await
        .and_then(|v| v.as_str().and_then(|s| s.parse().ok()))
        .expect("the notice names the entry");
    assert_eq!(
        tab.path().await,
        format!("/polls/{id}"),
        "a poll's id is its entry"
    );
    let question = match lang {
        Lang::Ru => q.ru,
        Lang::En => q.en,
    };
    assert_eq!(tab.text("[data-testid=question]").await, question);
    assert_eq!(tab.text("[data-testid=status-badge]").await, p.status_open);
    assert_eq!(tab.text("[data-testid=turnout]").await, p.turnout(0));
    (id, closes_ms)
}

/// Votes on the poll page with this tab's passkey: `choice` as option
/// numbers (ranked: most preferred first). Lands back on the poll page,
/// which shows the vote; returns the options it lists as the current vote.
async fn vote(
    tab: &Tab,
    url: &str,
    lang: Lang,
    p: &PollTexts,
    id: u64,
    choice: &[u16],
) -> Vec<String> {
    tab.goto(&format!("{url}/polls/{id}?lang={}", lang.code()))
        .await;
    let method = tab
        .eval("document.querySelector('#ballot-form').dataset.method")
        .await
        .and_then(|v| v.as_str().map(str::to_string))
        .expect("the ballot form");
    let voted_before = tab.count("[data-testid=my-ballot]").await == 1;
    assert_eq!(
        tab.text("[data-testid=vote]").await,
        if voted_before {
            p.revote_button
        } else {
            p.vote_button
        }
    );
    match method.as_str() {
        "ranked_schulze" => {
            let places = tab.count("select[data-rank]").await as usize;
            for place in 0..places {
                let v = choice.get(place).map(|c| c.to_string()).unwrap_or_default();
                set_value(tab, &format!("#rank-{}", place + 1), &v).await;
            }
        }
        _ => {
            let want: Vec<String> = choice.iter().map(u16::to_string).collect();
            tab.eval(&format!(
                "document.querySelectorAll('input[name=choice]').forEach(i => i.checked = {}.includes(i.value))",
                json!(want)
            ))
            .await;
        }
    }
    tab.click("[data-testid=vote]").await;
    tab.wait_for(
        "voting lands on the poll page with the vote",
        "new URLSearchParams(location.search).get('done') === 'voted' \
         && document.readyState === 'complete' && document.querySelector('[data-testid=my-ballot]')",
    )
    .await;
    assert_eq!(tab.text("[data-testid=notice] p").await, p.done_voted);
    all_texts(tab, "[data-testid=my-choice]").await
}

/// The option texts in `lang`.
fn named(q: &Question, lang: Lang, choice: &[u16]) -> Vec<String> {
    choice
        .iter()
        .map(|&i| {
            let (ru, en) = q.options[usize::from(i)];
            match lang {
                Lang::Ru => ru.to_string(),
                Lang::En => en.to_string(),
            }
        })
        .collect()
}

/// Reloads the public poll page until the closer's result is on it.
async fn wait_for_result(tab: &Tab, url: &str, lang: Lang, id: u64, closes_ms: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let deadline =
        Instant::now() + Duration::from_millis(closes_ms.saturating_sub(now)) + crate::STEP;
    loop {
        tab.goto(&format!("{url}/polls/{id}?lang={}", lang.code()))
            .await;
        if tab.count("[data-testid=result]").await == 1 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "poll {id}: no result by {closes_ms} + {:?}",
            crate::STEP
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
}

/// The result on the page equals the declared one: the winner line, one
/// bar and one table row per option with the declared count, the ranking.
async fn assert_result_shown(tab: &Tab, lang: Lang, p: &PollTexts, q: &Question, declared: &Value) {
    let counts: Vec<u64> = declared["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    let winners: Vec<u16> = declared["winners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_u64().unwrap() as u16)
        .collect();
    let ranking: Vec<u16> = declared["ranking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_u64().unwrap() as u16)
        .collect();
    assert_eq!(
        tab.text("[data-testid=status-badge]").await,
        p.status_closed
    );
    let names = named(q, lang, &winners);
    let expected = if names.len() == 1 {
        p.winner.replace("%1", &names[0])
    } else {
        let (last, init) = names.split_last().unwrap();
        p.tie
            .replace("%1", &format!("{} {} {last}", init.join(", "), p.and))
    };
    assert_eq!(tab.text("[data-testid=winner]").await, expected);
    // The chart: one bar per option, its value the declared count, the
    // winners' bars marked.
    let bars = strings(
        tab,
        "Array.from(document.querySelectorAll('[data-testid=bar-chart] .bar-row')).map(g => g.dataset.value)",
    )
    .await;
    let want: Vec<String> = counts.iter().map(u64::to_string).collect();
    assert_eq!(bars, want, "bar values");
    assert_eq!(
        tab.count("[data-testid=bar-chart] rect.win").await as usize,
        winners.len()
    );
    // The table beside it: the same counts, in the same order.
    let rows = all_texts(tab, "[data-testid=result-table] tbody td:nth-of-type(1)").await;
    assert_eq!(rows, want, "table counts");
    let winner_rows = strings(
        tab,
        "Array.from(document.querySelectorAll('[data-testid=result-table] tr.winner')).map(r => r.dataset.option)",
    )
    .await;
    let want_winners: Vec<String> = winners.iter().map(u16::to_string).collect();
    assert_eq!(winner_rows, want_winners);
    assert_eq!(
        all_texts(tab, "[data-testid=ranking] li").await,
        named(q, lang, &ranking)
    );
    assert!(
        tab.text("[data-testid=verify-command]")
            .await
            .starts_with("veche-verify poll "),
    );
}

async fn poll_journey(lang: Lang) {
    let Some(exe) = chromium() else { return };
    let started = Instant::now();
    let (w, organiser_invite) = tokio::task::spawn_blocking(|| {
        let mut w = world_of(crate::setup::POPULATION, &["r1", "r2", "r3"]);
        let organiser = w.admin.invite(&w.app, "organiser");
        (w, organiser)
    })
    .await
    .unwrap();
    let url = w.app.url.clone();
    let l = lang.code();
    let p = texts(lang);
    let main = Question {
        method: match lang {
            Lang::Ru => "ranked_schulze",
            Lang::En => "approval",
        },
        ..ROADS
    };
    let c = Chromium::launch(&exe).await;

    // 1. Three citizens enrol.
    let mut citizens = Vec::new();
    for code in &w.codes {
        let t = person(&c).await;
        t.enrol_by_code(&url, lang, code, None).await;
        citizens.push(t);
    }

    // 2. The organiser, in Moscow time, opens two polls; a form with an
    // option in one language only is refused next to the field.
    let organiser = person(&c).await;
    organiser
        .page
        .execute(SetTimezoneOverrideParams::new("Europe/Moscow"))
        .await
        .expect("Emulation.setTimezoneOverride");
    accept_invite(&organiser, &url, lang, &organiser_invite).await;
    organiser.goto(&format!("{url}/polls?lang={l}")).await;
    organiser.assert_page(lang, p.list_title).await;
    organiser.click("[data-testid=open-poll]").await;
    organiser
        .wait_for(
            "the new-poll form",
            "location.pathname === '/polls/new' && document.querySelector('#new-poll')",
        )
        .await;
    organiser.assert_page(lang, p.new_title).await;
    assert_eq!(organiser.text("#time-zone-hint").await, p.zone_browser);
    insert_text(&organiser, "#question_ru", main.ru).await;
    insert_text(&organiser, "#question_en", main.en).await;
    insert_text(&organiser, "#option-0-ru", main.options[0].0).await;
    insert_text(&organiser, "#option-0-en", main.options[0].1).await;
    insert_text(&organiser, "#option-1-ru", main.options[1].0).await;
    organiser.screenshot(&format!("poll-new-{l}")).await;
    submit(
        &organiser,
        "a form with an option in Russian only",
        "[data-testid=open]",
        "document.querySelector('[data-testid=error]')",
    )
    .await;
    assert_eq!(
        organiser.text("[data-testid=error] p").await,
        p.err_option_en
    );
    assert_eq!(organiser.count("#option-1-en[aria-invalid=true]").await, 1);
    assert_eq!(
        organiser
            .eval("document.querySelector('#option-1-ru').value")
            .await,
        Some(Value::from(main.options[1].0)),
        "what was typed is kept"
    );
    organiser.screenshot(&format!("poll-new-error-{l}")).await;
    eprintln!("poll journey ({l}): set up in {:?}", started.elapsed());
    let opening = Instant::now();
    let (id, closes_ms) = open_poll(&organiser, lang, &p, &main).await;
    let opened = api(&organiser, &format!("/api/v1/polls/{id}")).await;
    assert_eq!(opened["method"], main.method);
    assert_eq!(opened["status"], "open");
    assert_eq!(
        opened["closes_at_ms"].as_u64(),
        Some(closes_ms),
        "the closing time typed in Moscow time is the instant the browser meant"
    );
    organiser.goto(&format!("{url}/polls/new?lang={l}")).await;
    let (square, square_closes_ms) = open_poll(&organiser, lang, &p, &SQUARE).await;

    // 3. The citizens vote; the first changes their vote.
    let votes: [(usize, &[u16]); 4] = match lang {
        // Ranked: the first ranks only two options when changing the vote.
        Lang::Ru => [
            (0, &[0, 1, 2]),
            (1, &[2, 1, 0]),
            (2, &[0, 2, 1]),
            (0, &[2, 0]),
        ],
        Lang::En => [(0, &[0, 2]), (1, &[1, 2]), (2, &[1]), (0, &[1])],
    };
    for (n, (who, choice)) in votes.iter().enumerate() {
        let shown = vote(&citizens[*who], &url, lang, &p, id, choice).await;
        assert_eq!(
            shown,
            named(&main, lang, choice),
            "vote {n}: the page shows it"
        );
        let voters = if n < 3 { n as u64 + 1 } else { 3 };
        assert_eq!(
            citizens[*who].text("[data-testid=turnout]").await,
            p.turnout(voters)
        );
        assert_eq!(
            citizens[*who].text("[data-testid=ballots-cast]").await,
            p.ballots_cast.replace("%1", &(n + 1).to_string())
        );
        if n == 0 {
            citizens[0].screenshot(&format!("poll-voted-{l}")).await;
        }
    }
    // The changed vote is the one the form now holds.
    citizens[0]
        .goto(&format!("{url}/polls/{id}?lang={l}"))
        .await;
    assert_eq!(
        all_texts(&citizens[0], "[data-testid=my-choice]").await,
        named(&main, lang, votes[3].1)
    );
    for (who, choice) in [(0usize, 0u16), (1, 1)] {
        let shown = vote(&citizens[who], &url, lang, &p, square, &[choice]).await;
        assert_eq!(shown, named(&SQUARE, lang, &[choice]));
    }

    eprintln!(
        "poll journey ({l}): six ballots cast {:?} after opening (the window is {WINDOW_S} s)",
        opening.elapsed()
    );

    // 4. The public sees the turnout, not the counts, while the polls run.
    c.goto(&format!("{url}/polls/{id}?lang={l}")).await;
    let view = api(&c, &format!("/api/v1/polls/{id}")).await;
    if view["status"] == "open" {
        assert_eq!(c.text("[data-testid=turnout]").await, p.turnout(3));
        assert_eq!(c.count("[data-testid=result]").await, 0);
        assert_eq!(
            c.count("[data-testid=ballot-form], #ballot-form").await,
            0,
            "signed out"
        );
        c.goto(&format!("{url}/polls?lang={l}")).await;
        let open = all_texts(&c, "[data-testid=polls-open] .turnout").await;
        assert_eq!(open, [p.turnout(2), p.turnout(3)], "newest first");
    } else {
        eprintln!("poll {id} closed before the public looked: the machine is slow");
    }

    // 5. After the close, the results match the declared tallies.
    wait_for_result(&c, &url, lang, id, closes_ms).await;
    let declared = api(&c, &format!("/api/v1/polls/{id}")).await["result"].clone();
    // Recounted by hand from the last ballots.
    let (counts, winners, ranking) = match lang {
        // First preferences 2→A, 2→B, 0→C; 2 beats 0 (2:1) and 1 (3:0); 0 beats 1 (2:1).
        Lang::Ru => (json!([1, 0, 2]), json!([2]), json!([2, 0, 1])),
        Lang::En => (json!([0, 3, 1]), json!([1]), json!([1, 2, 0])),
    };
    assert_eq!(declared["ballots"], 3);
    assert_eq!(declared["counts"], counts);
    assert_eq!(declared["winners"], winners);
    assert_eq!(declared["ranking"], ranking);
    assert_result_shown(&c, lang, &p, &main, &declared).await;
    assert_eq!(
        c.count("[data-testid=pairwise]").await,
        u64::from(matches!(lang, Lang::Ru)),
        "pairwise counts for a ranked poll"
    );
    c.screenshot(&format!("poll-result-{l}")).await;

    wait_for_result(&c, &url, lang, square, square_closes_ms).await;
    let declared = api(&c, &format!("/api/v1/polls/{square}")).await["result"].clone();
    assert_eq!(declared["counts"], json!([1, 1]));
    assert_eq!(declared["winners"], json!([0, 1]), "a tie");
    assert_result_shown(&c, lang, &p, &SQUARE, &declared).await;
    c.screenshot(&format!("poll-tie-{l}")).await;

    // The list shows both as closed, with their results.
    c.goto(&format!("{url}/polls?lang={l}")).await;
    assert_eq!(
        c.count("[data-testid=polls-closed] [data-testid=row]")
            .await,
        2
    );
    assert_eq!(c.count("[data-testid=polls-open]").await, 0);

    c.close().await;
    eprintln!("browser poll journey ({l}): {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn polls_opened_voted_revoted_and_closed_ru() {
    poll_journey(Lang::Ru).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn polls_opened_voted_revoted_and_closed_en() {
    poll_journey(Lang::En).await;
}

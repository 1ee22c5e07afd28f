//! One mapping from the log rules' refusals to HTTP problems, and the one
//! way handlers append entries.
//!
//! The sequencer checks every entry against `veche_state` inside its batch
//! and refuses with a [`Violation`] whose `code` names the rule (the codes
//! of `specs/petitions.md`, `specs/polls.md` and `specs/pb-rounds.md`).
//! Each code maps to one status here, whichever handler met it: a missing
//! subject is 404, a role the actor lacks 403, a request that breaks a rule
//! by its own content 422, and a request that comes at the wrong moment
//! (a phase, a duplicate, a closed window) 409. The passkey counter's
//! refusals, checked in the same batch, come back as the passkey problems
//! the sign-in path gives.

use axum::http::StatusCode;
use veche_entry::Entry;
use veche_state::Violation;
use veche_store::sequencer::Appended;

use crate::identity_api::{passkey_problem, replayed};
use crate::problem::Problem;
use crate::server::AppState;

/// The problem for a refusal by the log rules.
pub fn violation_problem(v: Violation) -> Problem {
    match v.code {
        "sign-count-not-increasing" => return replayed(),
        "credential-revoked" => {
            return passkey_problem(veche_passkey::PasskeyError::UnknownCredential);
        }
        _ => {}
    }
    let status = match v.code {
        "unknown-petition" | "unknown-signature" | "unknown-poll" | "unknown-round"
        | "unknown-project" => StatusCode::NOT_FOUND,
        "wrong-role" => StatusCode::FORBIDDEN,
        // The request itself breaks the rule: asking again unchanged fails
        // again.
        "deadline-in-past"
        | "unknown-jurisdiction"
        | "window-in-past"
        | "no-such-option"
        | "single-choice-expected"
        | "approval-not-ascending"
        | "not-on-ballot"
        | "too-many-projects"
        | "over-cost-limit"
        | "cost-limit-unusable"
        | "unreviewed-project"
        | "ballot-projects-mismatch" => StatusCode::UNPROCESSABLE_ENTITY,
        // The moment is wrong: the subject's state refuses it now.
        _ => StatusCode::CONFLICT,
    };
    let title = match v.code {
        "duplicate-signature" => "Already signed",
        "petition-not-open" => "Petition not open",
        "unknown-poll" => "No such poll",
        "poll-not-open" => "Poll not open",
        "no-such-option" => "No such option",
        "single-choice-expected" => "Choose exactly one option",
        "approval-not-ascending" => "Approved options out of order",
        "unknown-round" => "No such PB round",
        "unknown-project" => "No such project",
        "not-taking-proposals" => "Not taking proposals",
        "not-in-review" => "Not in review",
        "voting-not-open" => "Voting not open",
        "not-on-ballot" => "Project not on the ballot",
        "too-many-projects" => "Too many projects",
        "over-cost-limit" => "Over the cost limit",
        "unreviewed-project" => "A project has no review",
        "round-full" => "Round full",
        _ => "Refused by the log rules",
    };
    Problem::new(status, v.code, title, v.message)
}

/// A field of an entry that breaks its format rule.
pub fn field_problem(e: veche_entry::ValidationError) -> Problem {
    Problem::unprocessable("invalid-field", e.to_string()).with_field(e.field.clone())
}

/// Appends entries through the sequencer; a refusal is the rule's problem
/// (`From<AppendError> for Problem` uses [`violation_problem`]).
pub async fn submit(
    state: &AppState,
    entries: Vec<Entry>,
    checkpoint: bool,
) -> Result<Appended, Problem> {
    let bytes = entries
        .iter()
        .map(|e| {
            e.encode()
                .map_err(|err| Problem::unprocessable("invalid-entry", err.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(state.log.submit(bytes, checkpoint).await?)
}

/// Entries the clock makes due at time `t`, each with its subject's id:
/// petitions past their closing date, polls whose window ended, PB rounds
/// whose vote closed.
pub type DueAt = fn(&veche_state::State, u64) -> Vec<(u64, Entry)>;

/// Appends, every second, what the clock makes due. `due` reads the state
/// under its read lock, off the async workers (a recount may take a
/// while); each entry is appended on its own, so one refusal (a signature
/// or ballot that landed between the reading and the append changes the
/// count) leaves the others, and the next tick tries again.
pub fn spawn_every_second(state: AppState, what: &'static str, due: DueAt) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            let t = veche_store::Clock::now_ms(&veche_store::SystemClock);
            let st = state.clone();
            let entries = tokio::task::spawn_blocking(move || {
                let s = st.log.state().read().unwrap_or_else(|p| p.into_inner());
                due(&s, t)
            })
            .await
            .unwrap_or_default();
            for (id, entry) in entries {
                match submit(&state, vec![entry], true).await {
                    Ok(a) => tracing::info!(subject = id, index = a.first, "{what}"),
                    Err(p) if p.status == StatusCode::CONFLICT => {
                        tracing::debug!(subject = id, problem = p.slug, "{what}: next tick")
                    }
                    Err(p) => {
                        tracing::warn!(subject = id, problem = p.slug, detail = %p.detail, "{what}: refused")
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: &'static str) -> u16 {
        violation_problem(Violation {
            code,
            message: String::new(),
        })
        .status
        .as_u16()
    }

    #[test]
    fn one_status_per_rule_code_whatever_the_domain() {
        for (code, want) in [
            ("unknown-petition", 404),
            ("unknown-poll", 404),
            ("unknown-round", 404),
            ("unknown-project", 404),
            ("wrong-role", 403),
            ("window-in-past", 422),
            ("over-cost-limit", 422),
            ("no-such-option", 422),
            ("duplicate-signature", 409),
            ("poll-not-open", 409),
            ("voting-not-open", 409),
            ("not-in-review", 409),
            ("sign-count-not-increasing", 422),
        ] {
            assert_eq!(status(code), want, "{code}");
        }
    }
}

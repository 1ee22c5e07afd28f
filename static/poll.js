// Veche poll pages: voting with a passkey (the one step that needs
// JavaScript: the ballot form itself is plain HTML; the passkey steps are
// `VechePasskey.wireBallot` in passkey.js), and the new-poll form's time zone.
"use strict";
(function () {
  const $ = (sel) => document.querySelector(sel);

  // ---- the new-poll form ---------------------------------------------------------------
  // A datetime-local value has no zone: without this script the server reads
  // it as UTC (the page says so); with it, each time is sent with the
  // browser's offset at that date, and the page names the zone.
  const newForm = $("#new-poll");
  if (newForm) {
    const zone = (d) => {
      const m = -d.getTimezoneOffset();
      const a = Math.abs(m);
      return "UTC" + (m < 0 ? "\u2212" : "+") + String(Math.floor(a / 60)).padStart(2, "0") + ":" + String(a % 60).padStart(2, "0");
    };
    const hint = $("#time-zone-hint");
    if (hint && hint.dataset.browser) hint.textContent = hint.dataset.browser.replace("%1", zone(new Date()));
    newForm.addEventListener("submit", () => {
      for (const input of newForm.querySelectorAll("input[data-tz-field]")) {
        const target = newForm.querySelector('input[name="' + input.dataset.tzField + '"]');
        if (!target) continue;
        const d = input.value ? new Date(input.value) : new Date();
        target.value = isNaN(d.getTime()) ? "" : String(-d.getTimezoneOffset());
      }
    });
  }

  // ---- voting --------------------------------------------------------------------------
  const ballot = $("#ballot-form");
  if (!ballot) return;
  // The choice as the API takes it: one option, an ascending set, or a
  // ranking (most preferred first; blank ranks left out).
  function choice() {
    if (ballot.dataset.method === "ranked_schulze") {
      const ranked = [];
      for (const s of ballot.querySelectorAll("select[data-rank]")) if (s.value !== "") ranked.push(Number(s.value));
      if (new Set(ranked).size !== ranked.length) throw new Error(ballot.dataset.msgDuplicate);
      return ranked;
    }
    return Array.from(ballot.querySelectorAll("input[name=choice]:checked"), (i) => Number(i.value)).sort((a, b) => a - b);
  }

  const id = ballot.dataset.poll;
  window.VechePasskey.wireBallot(ballot, {
    api: "/api/v1/polls/" + id,
    page: "/polls/" + id,
    choose: () => {
      const chosen = choice();
      if (chosen.length === 0) throw new Error(ballot.dataset.msgNone);
      return { choice: chosen };
    },
    refusal: (e) => (e && e.slug === "poll-not-open" ? ballot.dataset.msgClosed : (e && e.message ? e.message : String(e))),
  });
})();

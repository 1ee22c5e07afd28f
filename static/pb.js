// Veche PB-round pages: the live budget bar of the ballot, voting with a
// passkey (the one step that needs JavaScript: every other form on the page
// is plain HTML posted to the server; the passkey steps are
// `VechePasskey.wireBallot` in passkey.js), and the forms' time zone.
"use strict";
(function () {
  const $ = (sel) => document.querySelector(sel);
  const lang = document.documentElement.lang || "ru";
  const fill = (text, args) => args.reduceRight((t, a, i) => t.split("%" + (i + 1)).join(a), text || "");

  // ---- time zones ----------------------------------------------------------------------
  // A datetime-local value has no zone: without this script the server reads
  // it as UTC (the page says so); with it, each time goes with the browser's
  // offset at that date, and the page names the zone.
  const zone = (d) => {
    const m = -d.getTimezoneOffset();
    const a = Math.abs(m);
    return "UTC" + (m < 0 ? "\u2212" : "+") + String(Math.floor(a / 60)).padStart(2, "0") + ":" + String(a % 60).padStart(2, "0");
  };
  for (const form of document.querySelectorAll("form[data-tz-form]")) {
    const hint = form.querySelector("#time-zone-hint");
    if (hint && hint.dataset.browser) hint.textContent = fill(hint.dataset.browser, [zone(new Date())]);
    form.addEventListener("submit", () => {
      for (const input of form.querySelectorAll("input[data-tz-field]")) {
        const target = form.querySelector('input[name="' + input.dataset.tzField + '"]');
        if (!target) continue;
        const d = input.value ? new Date(input.value) : new Date();
        target.value = isNaN(d.getTime()) ? "" : String(-d.getTimezoneOffset());
      }
    });
  }

  const ballot = $("#pb-ballot");
  if (!ballot) return;

  // ---- money, written as the server writes it (src/pb_pages.rs `money`) ------------------
  const scale = Number(ballot.dataset.scale || 0);
  const currency = ballot.dataset.currency || "";
  const group = (n, sep) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, sep);
  function money(minor) {
    // Amounts are at most 2^53 - 1 minor units: exact in a JS number.
    const unit = 10 ** scale;
    const whole = Math.floor(minor / unit);
    const frac = String(minor % unit).padStart(scale, "0");
    if (lang === "ru") {
      const symbol = currency === "RUB" ? "\u20bd" : currency;
      return group(whole, "\u00a0") + (scale ? "," + frac : "") + "\u00a0" + symbol;
    }
    return currency + "\u00a0" + group(whole, ",") + (scale ? "." + frac : "");
  }

  // ---- the live budget bar -------------------------------------------------------------
  const limit = Number(ballot.dataset.limit || 0);
  const max = ballot.dataset.max ? Number(ballot.dataset.max) : null;
  const boxes = Array.from(ballot.querySelectorAll("input[name=approved]"));
  const meter = $("#pb-meter");
  const bar = $("#pb-bar");
  const chosenText = $("#pb-chosen");
  const countText = $("#pb-count");
  const overText = $("#pb-over");

  function update() {
    const picked = boxes.filter((b) => b.checked);
    const total = picked.reduce((sum, b) => sum + Number(b.dataset.cost), 0);
    bar.value = Math.min(total, limit);
    chosenText.textContent = fill(ballot.dataset.msgChosen, [money(total), money(limit)]);
    countText.textContent = max === null
      ? fill(ballot.dataset.msgCount, [String(picked.length)])
      : fill(ballot.dataset.msgCountMax, [String(picked.length), String(max)]);
    let warning = "";
    if (total > limit) warning = fill(ballot.dataset.msgOverCost, [money(total - limit)]);
    else if (max !== null && picked.length > max) warning = fill(ballot.dataset.msgOverCount, [String(max)]);
    meter.classList.toggle("over", warning !== "");
    overText.textContent = warning;
    overText.hidden = warning === "";
  }
  for (const b of boxes) b.addEventListener("change", update);
  update();

  // ---- voting --------------------------------------------------------------------------
  // The refusals voters meet, in the page's language; others in the server's words.
  const refusal = (e) => {
    const key = "msg" + (e.slug || "").split("-").map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("");
    return (e.slug && ballot.dataset[key]) || (e && e.message) || String(e);
  };

  const id = ballot.dataset.round;
  window.VechePasskey.wireBallot(ballot, {
    api: "/api/v1/pb-rounds/" + id,
    page: "/pb/" + id,
    // Not checked here against the limits: the server is the judge, and says
    // precisely what a ballot breaks.
    choose: () => {
      const approved = boxes.filter((b) => b.checked).map((b) => Number(b.value)).sort((a, b) => a - b);
      if (approved.length === 0) throw Object.assign(new Error(ballot.dataset.msgNone), { slug: "none" });
      return { approved };
    },
    refusal,
  });
})();

/* The review queue from the keyboard: j/k move, a approves, r rejects (Enter confirms,
   Esc cancels), x selects, Shift+A approves every candidate the filter shows.
   Decisions go to the JSON endpoint; the page updates in place. */
(function () {
  "use strict";

  var queue, decideUrl, cards, current = -1;

  function undecided() {
    return cards.filter(function (card) { return !card.classList.contains("decided"); });
  }

  function focusCard(index, scroll) {
    if (index < 0 || index >= cards.length) { return; }
    if (current >= 0 && cards[current]) { cards[current].classList.remove("current"); }
    current = index;
    var card = cards[current];
    card.classList.add("current");
    card.focus({ preventScroll: true });
    if (scroll !== false) { card.scrollIntoView({ block: "nearest", behavior: "smooth" }); }
  }

  function step(direction) {
    for (var i = current + direction; i >= 0 && i < cards.length; i += direction) {
      if (!cards[i].classList.contains("decided")) { focusCard(i); return; }
    }
  }

  function nextUndecided() {
    var after = cards.slice(current + 1).concat(cards.slice(0, Math.max(current, 0)));
    var next = after.find(function (card) { return !card.classList.contains("decided"); });
    if (next) { focusCard(cards.indexOf(next)); } else { pageDone(); }
  }

  function pageDone() {
    if (document.getElementById("page-done")) { return; }
    var note = document.createElement("p");
    note.id = "page-done";
    note.className = "msg msg-success";
    note.setAttribute("role", "status");
    var params = new URLSearchParams(window.location.search);
    params.delete("page");
    var link = document.createElement("a");
    link.href = window.location.pathname + (params.toString() ? "?" + params : "");
    link.textContent = "Load the next candidates";
    note.append("Everything on this page is decided. ", link);
    queue.after(note);
    link.focus();
  }

  function startReject(card) {
    card.classList.add("rejecting");
    var input = card.querySelector('input[name="reason"]');
    input.focus();
  }

  function cancelReject(card) {
    card.classList.remove("rejecting");
    card.focus({ preventScroll: true });
  }

  function updateSelection() {
    var picked = selectedIds().length;
    document.getElementById("selected-count").textContent = picked + " selected";
    document.querySelectorAll('[data-scope="selected"]').forEach(function (button) {
      button.disabled = picked === 0;
    });
    var visible = document.getElementById("visible-count");
    if (visible) {
      visible.textContent = String(undecided().length);
      visible.closest("button").disabled = undecided().length === 0;
    }
  }

  function selectedIds() {
    return undecided().filter(function (card) {
      return card.querySelector(".pick-box").checked;
    }).map(function (card) { return card.dataset.id; });
  }

  function cardFor(id) { return document.getElementById("card-" + id); }

  function showResult(result, decision) {
    var card = cardFor(result.id);
    if (!card) { return; }
    card.classList.remove("busy", "rejecting");
    var line = card.querySelector(".decision-line");
    line.hidden = false;
    if (!result.ok) {
      card.classList.add("failed");
      line.textContent = result.error.message + ". " + result.error.fix;
      return;
    }
    card.classList.remove("failed");
    card.classList.add("decided", result.asset_status === "rejected" ? "rejected" : "approved");
    card.querySelector(".pick-box").checked = false;
    var rejected = result.asset_status === "rejected";
    var text = (rejected ? "Rejected" : "Approved") + " by " + result.decided_by + " · " +
      result.decided_at_display +
      (rejected ? "" : " · now " + result.asset_status + " (" + result.promotion_status + ")");
    if (result.decision_reason) { text += " — “" + result.decision_reason + "”"; }
    line.textContent = text;
  }

  function showCharacters(states) {
    Object.keys(states || {}).forEach(function (id) {
      var state = states[id];
      document.querySelectorAll('[data-readiness-for="' + id + '"]').forEach(function (badge) {
        var before = badge.getAttribute("data-readiness");
        badge.className = "badge readiness-" + state.readiness;
        badge.setAttribute("data-readiness", state.readiness);
        badge.textContent = state.readiness_label;
        if (before !== state.readiness) {
          void badge.offsetWidth;
          badge.classList.add("flash");
        }
      });
      document.querySelectorAll('[data-held-for="' + id + '"]').forEach(function (node) {
        node.textContent = String(state.held);
      });
    });
  }

  function decide(ids, decision, reason) {
    if (!ids.length) { return Promise.resolve(); }
    ids.forEach(function (id) { var c = cardFor(id); if (c) { c.classList.add("busy"); } });
    return window.Curate.postJSON(decideUrl, { ids: ids, decision: decision, reason: reason || "" })
      .then(function (response) {
        if (response.status !== 200) {
          var detail = (response.body && response.body.detail) || {};
          ids.forEach(function (id) {
            showResult({ id: id, ok: false, error: { message: detail.message || "refused", fix: detail.fix || "Reload the page." } });
          });
          return;
        }
        response.body.results.forEach(function (result) { showResult(result, decision); });
        showCharacters(response.body.characters);
        var remaining = document.getElementById("remaining");
        var done = response.body.results.filter(function (r) { return r.ok; }).length;
        if (remaining) { remaining.textContent = String(Math.max(0, Number(remaining.textContent) - done)); }
      })
      .catch(function () {
        ids.forEach(function (id) {
          showResult({ id: id, ok: false, error: { message: "Network error", fix: "Check the connection and try again." } });
        });
      })
      .finally(function () {
        updateSelection();
        if (cards[current] && cards[current].classList.contains("decided")) { nextUndecided(); }
      });
  }

  function decideCurrent(decision, reason) {
    var card = cards[current];
    if (!card || card.classList.contains("decided")) { return; }
    decide([card.dataset.id], decision, reason);
  }

  function approveVisible() {
    var ids = undecided().map(function (card) { return card.dataset.id; });
    if (!ids.length) { return; }
    if (!window.confirm("Approve all " + ids.length + " visible candidate(s)?")) { return; }
    decide(ids, "approve", "");
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    var typing = target.matches && target.matches("input, textarea, select");
    if (typing) {
      if (target.name === "reason") {
        var card = target.closest(".rcard");
        if (event.key === "Enter") {
          event.preventDefault();
          focusCard(cards.indexOf(card), false);
          decideCurrent("reject", target.value);
        } else if (event.key === "Escape") {
          event.preventDefault();
          cancelReject(card);
        }
      }
      return;
    }
    switch (event.key) {
      case "j": step(1); break;
      case "k": step(-1); break;
      case "a": decideCurrent("approve", ""); break;
      case "A": approveVisible(); break;
      case "r":
        if (cards[current] && !cards[current].classList.contains("decided")) { startReject(cards[current]); }
        break;
      case "x":
        if (cards[current] && !cards[current].classList.contains("decided")) {
          var box = cards[current].querySelector(".pick-box");
          box.checked = !box.checked;
          updateSelection();
        }
        break;
      default: return;
    }
    event.preventDefault();
  }

  document.addEventListener("DOMContentLoaded", function () {
    queue = document.getElementById("queue");
    if (!queue) { return; }
    decideUrl = queue.getAttribute("data-decide-url");
    cards = Array.prototype.slice.call(queue.querySelectorAll(".rcard"));

    cards.forEach(function (card, index) {
      card.addEventListener("click", function (event) {
        if (!event.target.closest("button, a, input")) { focusCard(index, false); }
      });
      card.querySelector(".pick-box").addEventListener("change", function () {
        focusCard(index, false);
        updateSelection();
      });
      card.querySelector("form").addEventListener("submit", function (event) {
        event.preventDefault();
        focusCard(index, false);
        var decision = event.submitter ? event.submitter.value : "approve";
        if (decision === "reject" && !card.classList.contains("rejecting")) {
          startReject(card);
          return;
        }
        decideCurrent(decision, decision === "reject" ? card.querySelector('input[name="reason"]').value : "");
      });
    });

    document.querySelectorAll("[data-bulk]").forEach(function (button) {
      button.addEventListener("click", function () {
        var decision = button.getAttribute("data-bulk");
        if (button.getAttribute("data-scope") === "visible") { approveVisible(); return; }
        decide(selectedIds(), decision, "");
      });
    });

    document.addEventListener("keydown", onKey);
    updateSelection();
    if (cards.length) { focusCard(0, false); }
  });
})();

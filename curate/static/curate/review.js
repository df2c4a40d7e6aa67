/* The review queue from the keyboard: j/k move, Enter opens the focus view, a approves,
   r rejects (Enter confirms, Esc cancels), 1–9 reject with a preset reason, x selects,
   Shift+E / Shift+R approve / reject the selected, Shift+A approves every candidate the
   filter shows, u undoes your last decision, ? lists the shortcuts.
   Every decision sends the state the card showed (its ETag); a candidate someone else
   decided meanwhile is refused and the card then shows who decided it and when. */
(function () {
  "use strict";

  var queue, decideUrl, cards = [], current = -1, presets = [], undoStack = [];
  var focusDialog, helpDialog, zoom = { scale: 1, x: 0, y: 0 };

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
    if (focusDialog && focusDialog.open) { fillFocus(card); }
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
    if (focusDialog && focusDialog.open) { focusDialog.close(); }
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
    if (focusDialog && focusDialog.open) { focusDialog.close(); }
    card.classList.add("rejecting");
    card.querySelector('input[name="reason"]').focus();
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
    var undo = document.querySelector("[data-undo]");
    if (undo) { undo.disabled = undoStack.length === 0; }
  }

  function selectedIds() {
    return undecided().filter(function (card) {
      return card.querySelector(".pick-box").checked;
    }).map(function (card) { return card.dataset.id; });
  }

  function cardFor(id) { return document.getElementById("card-" + id); }

  function describe(state) {
    var rejected = state.asset_status === "rejected";
    var text = (rejected ? "Rejected" : state.asset_status === "candidate" ? "Reopened" : "Approved") +
      " by " + (state.decided_by || "someone") + " · " + state.decided_at_display;
    if (!rejected && state.asset_status !== "candidate") {
      text += " · now " + state.asset_status + " (" + state.promotion_status + ")";
    }
    if (state.decision_reason) { text += " — “" + state.decision_reason + "”"; }
    return text;
  }

  function markDecided(card, state) {
    card.classList.remove("failed", "approved", "rejected", "decided");
    card.dataset.etag = state.etag;
    card.querySelector('input[name="etag"]').value = state.etag;
    if (state.asset_status === "candidate") { return; }
    card.classList.add("decided", state.asset_status === "rejected" ? "rejected" : "approved");
    card.querySelector(".pick-box").checked = false;
  }

  function showResult(result) {
    var card = cardFor(result.id);
    if (!card) { return; }
    card.classList.remove("busy", "rejecting");
    var line = card.querySelector(".decision-line");
    line.hidden = false;
    if (!result.ok) {
      if (result.current) {
        /* Someone else decided meanwhile: show their decision, not ours. */
        markDecided(card, result.current);
        card.classList.add("conflict");
        line.textContent = "Already decided — " + describe(result.current) +
          ". Your decision was not applied.";
      } else {
        card.classList.add("failed");
        line.textContent = result.error.message + ". " + result.error.fix;
      }
      return;
    }
    markDecided(card, result);
    line.textContent = describe(result);
    if (result.asset_status === "candidate") { line.hidden = true; }
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
    var etags = {};
    ids.forEach(function (id) {
      var c = cardFor(id);
      if (c) { c.classList.add("busy"); etags[id] = c.dataset.etag; }
    });
    return window.Curate.postJSON(decideUrl, { ids: ids, decision: decision, reason: reason || "", etags: etags })
      .then(function (response) {
        if (response.status !== 200) {
          var detail = (response.body && response.body.detail) || {};
          ids.forEach(function (id) {
            showResult({ id: id, ok: false, error: { message: detail.message || "refused", fix: detail.fix || "Reload the page." } });
          });
          return;
        }
        var done = 0;
        response.body.results.forEach(function (result) {
          showResult(result);
          if (!result.ok && result.current && result.current.asset_status !== "candidate") {
            done += 1;  /* decided by someone else: no longer held either */
          }
          if (result.ok) {
            done += 1;
            if (decision !== "undo") { undoStack.push(result.id); }
          }
        });
        showCharacters(response.body.characters);
        var remaining = document.getElementById("remaining");
        if (remaining) {
          var delta = decision === "undo" ? -done : done;
          remaining.textContent = String(Math.max(0, Number(remaining.textContent) - delta));
        }
      })
      .catch(function () {
        ids.forEach(function (id) {
          showResult({ id: id, ok: false, error: { message: "Network error", fix: "Check the connection and try again." } });
        });
      })
      .finally(function () {
        updateSelection();
        if (decision === "undo") { return; }
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
    if (!window.confirm("Approve all " + ids.length + " visible candidate" + (ids.length === 1 ? "" : "s") + "?")) { return; }
    decide(ids, "approve", "");
  }

  function undo() {
    var id = undoStack.pop();
    if (!id) { return; }
    var card = cardFor(id);
    decide([id], "undo", "").then(function () {
      if (card && !card.classList.contains("decided")) {
        var line = card.querySelector(".decision-line");
        line.hidden = false;
        line.textContent = "Undone: back in the queue.";
        focusCard(cards.indexOf(card));
      }
    });
  }

  /* --- Focus view: the candidate large beside the identity portrait -------------- */

  function applyZoom() {
    var img = document.getElementById("focus-image");
    img.style.transform = "translate(" + zoom.x + "px, " + zoom.y + "px) scale(" + zoom.scale + ")";
    document.getElementById("focus-zoom").textContent = Math.round(zoom.scale * 100) + "%";
  }

  function setZoom(scale) {
    zoom.scale = Math.min(8, Math.max(1, scale));
    if (zoom.scale === 1) { zoom.x = 0; zoom.y = 0; }
    applyZoom();
  }

  function pan(dx, dy) {
    if (zoom.scale === 1) { return; }
    zoom.x += dx; zoom.y += dy;
    applyZoom();
  }

  function fillFocus(card) {
    var image = document.getElementById("focus-image");
    image.src = card.dataset.large;
    image.alt = card.getAttribute("aria-label");
    var portrait = document.getElementById("focus-portrait");
    portrait.hidden = !card.dataset.portrait;
    if (card.dataset.portrait) { portrait.src = card.dataset.portrait; }
    var parentFig = document.getElementById("focus-parent-fig");
    parentFig.hidden = !card.dataset.parent;
    if (card.dataset.parent) { document.getElementById("focus-parent").src = card.dataset.parent; }
    document.getElementById("focus-title").textContent = card.getAttribute("aria-label");
    var checks = document.getElementById("focus-checks");
    checks.replaceChildren(card.querySelector("template.checks-of").content.cloneNode(true));
    var line = card.querySelector(".decision-line");
    document.getElementById("focus-line").textContent = line.hidden ? "" : line.textContent;
    setZoom(1);
  }

  function openFocus() {
    var card = cards[current];
    if (!card || !focusDialog) { return; }
    fillFocus(card);
    if (!focusDialog.open) { focusDialog.showModal(); }
    document.getElementById("zoomport").focus();
  }

  function onFocusKey(event) {
    switch (event.key) {
      case "+": case "=": setZoom(zoom.scale * 1.5); break;
      case "-": case "_": setZoom(zoom.scale / 1.5); break;
      case "0": setZoom(1); break;
      case "ArrowLeft": pan(40, 0); break;
      case "ArrowRight": pan(-40, 0); break;
      case "ArrowUp": pan(0, 40); break;
      case "ArrowDown": pan(0, -40); break;
      default: return false;
    }
    return true;
  }

  function bindFocus() {
    focusDialog = document.getElementById("focus");
    if (!focusDialog) { return; }
    var port = document.getElementById("zoomport");
    port.addEventListener("wheel", function (event) {
      event.preventDefault();
      setZoom(zoom.scale * (event.deltaY < 0 ? 1.25 : 0.8));
    }, { passive: false });
    var drag = null;
    port.addEventListener("pointerdown", function (event) {
      drag = { x: event.clientX, y: event.clientY };
      port.setPointerCapture(event.pointerId);
    });
    port.addEventListener("pointermove", function (event) {
      if (!drag) { return; }
      pan(event.clientX - drag.x, event.clientY - drag.y);
      drag = { x: event.clientX, y: event.clientY };
    });
    port.addEventListener("pointerup", function () { drag = null; });
    port.addEventListener("dblclick", function () { setZoom(zoom.scale > 1 ? 1 : 2.5); });
    focusDialog.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        var how = button.getAttribute("data-zoom");
        setZoom(how === "in" ? zoom.scale * 1.5 : how === "out" ? zoom.scale / 1.5 : 1);
      });
    });
    focusDialog.querySelector("[data-close]").addEventListener("click", function () { focusDialog.close(); });
    focusDialog.querySelectorAll("[data-focus-decide]").forEach(function (button) {
      button.addEventListener("click", function () {
        var decision = button.getAttribute("data-focus-decide");
        if (decision === "reject") { startReject(cards[current]); } else { decideCurrent("approve", ""); }
      });
    });
    focusDialog.addEventListener("close", function () {
      if (cards[current]) { cards[current].focus({ preventScroll: true }); }
    });
  }

  /* --- Keys ---------------------------------------------------------------------- */

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
    if (helpDialog && helpDialog.open) { return; }
    if (focusDialog && focusDialog.open && onFocusKey(event)) { event.preventDefault(); return; }
    var preset = /^[1-9]$/.test(event.key) ? presets[Number(event.key) - 1] : undefined;
    if (preset !== undefined) {
      decideCurrent("reject", preset);
      event.preventDefault();
      return;
    }
    switch (event.key) {
      case "j": step(1); break;
      case "k": step(-1); break;
      case "Enter":
        if (target.closest && target.closest("a, button") && !target.classList.contains("rcard")) { return; }
        openFocus();
        break;
      case "a": decideCurrent("approve", ""); break;
      case "A": approveVisible(); break;
      case "E": decide(selectedIds(), "approve", ""); break;
      case "R": decide(selectedIds(), "reject", ""); break;
      case "u": undo(); break;
      case "?": if (helpDialog) { helpDialog.showModal(); } break;
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
    helpDialog = document.getElementById("help");
    document.querySelectorAll("[data-help]").forEach(function (button) {
      button.addEventListener("click", function () { helpDialog.showModal(); });
    });
    queue = document.getElementById("queue");
    if (!queue) {
      document.addEventListener("keydown", function (event) {
        if (event.key === "?" && helpDialog && !event.target.matches("input, textarea, select")) {
          helpDialog.showModal();
        }
      });
      return;
    }
    decideUrl = queue.getAttribute("data-decide-url");
    var presetData = document.getElementById("reason-presets");
    presets = presetData ? JSON.parse(presetData.textContent) : [];
    cards = Array.prototype.slice.call(queue.querySelectorAll(".rcard"));
    bindFocus();

    cards.forEach(function (card, index) {
      card.addEventListener("click", function (event) {
        if (!event.target.closest("button, a, input")) { focusCard(index, false); }
      });
      card.querySelector("[data-focus]").addEventListener("click", function (event) {
        event.preventDefault();
        focusCard(index, false);
        openFocus();
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
    var undoButton = document.querySelector("[data-undo]");
    if (undoButton) { undoButton.addEventListener("click", undo); }

    document.addEventListener("keydown", onKey);
    updateSelection();
    if (cards.length) { focusCard(0, false); }
  });
})();

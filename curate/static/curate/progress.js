/* Pages that wait for images: a report that is still generating, and a batch. */
(function () {
  "use strict";
  var INTERVAL = 1000;

  function pollReport(container) {
    var url = container.getAttribute("data-poll-url");
    function tick() {
      window.Curate.getJSON(url).then(function (data) {
        container.innerHTML = data.html;
        if (data.done) {
          container.removeAttribute("data-poll-url");
          document.title = document.title.replace(/^Report/, "Report (" + data.state + ")");
          return;
        }
        window.setTimeout(tick, INTERVAL);
      }).catch(function () { window.setTimeout(tick, INTERVAL * 3); });
    }
    window.setTimeout(tick, INTERVAL);
  }

  function itemNode(item) {
    var li = document.createElement("li");
    li.className = "batch-item";
    var link = document.createElement("a");
    link.href = item.report;
    var inFlight = item.state === "queued" || item.state === "generating";
    if (item.thumb && !inFlight) {
      var img = document.createElement("img");
      img.src = item.thumb; img.width = 96; img.height = 96; img.alt = item.category;
      img.className = "thumb"; img.style.width = "96px"; img.style.height = "96px";
      link.appendChild(img);
    } else {
      var box = document.createElement("span");
      box.className = "placeholder";
      if (inFlight) {
        var spin = document.createElement("span");
        spin.className = "spinner"; spin.setAttribute("aria-hidden", "true");
        box.appendChild(spin);
      } else {
        box.textContent = item.state;
      }
      link.appendChild(box);
    }
    li.appendChild(link);
    var name = document.createElement("span");
    name.className = "strong";
    name.textContent = item.category;
    li.appendChild(name);
    var label = document.createElement("span");
    var status = inFlight ? item.state : (item.asset_status || item.state);
    label.className = "badge " + (inFlight ? "state-" : "status-") + status;
    label.textContent = status;
    li.appendChild(label);
    return li;
  }

  function pollBatch(section) {
    var url = section.getAttribute("data-batch-url");
    var bar = section.querySelector(".progress");
    var text = section.querySelector(".progress-text");
    var list = section.querySelector(".batch-items");
    var done = section.querySelector(".batch-done");
    function tick() {
      window.Curate.getJSON(url).then(function (data) {
        var pct = data.total ? Math.round((100 * data.done) / data.total) : 0;
        bar.firstElementChild.style.width = pct + "%";
        bar.setAttribute("aria-valuenow", String(pct));
        text.textContent = data.done + " of " + data.total + " image(s) finished" +
          (data.finished ? "." : " — generating…");
        list.replaceChildren.apply(list, data.items.map(itemNode));
        if (data.finished) {
          var cancel = section.querySelector(".batch-cancel");
          if (cancel) { cancel.hidden = true; }
          if (data.held) {
            done.hidden = false;
            done.querySelector("a").textContent = "Review the " + data.held + " held candidate(s)";
          }
          return;
        }
        window.setTimeout(tick, INTERVAL);
      }).catch(function () { window.setTimeout(tick, INTERVAL * 3); });
    }
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var report = document.querySelector("#report[data-poll-url]");
    if (report) { pollReport(report); }
    var batch = document.querySelector("[data-batch-url]");
    if (batch) { pollBatch(batch); }
  });
})();

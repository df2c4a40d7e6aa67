/* Pages that wait for images: a report that is still generating, and a batch.
   Both follow a server-sent status stream and fall back to polling without it. */
(function () {
  "use strict";
  var INTERVAL = 1000;

  /* Follow a status stream (Server-Sent Events, `event: status` carrying the same JSON
     as the polling URL); `show` returns true once nothing is left to wait for. When
     EventSource is missing or the stream fails before the end, poll instead. */
  function follow(streamUrl, show, poll) {
    if (!streamUrl || !window.EventSource) { poll(); return; }
    var source = new EventSource(streamUrl);
    var finished = false;
    source.addEventListener("status", function (event) {
      if (show(JSON.parse(event.data))) { finished = true; source.close(); }
    });
    source.onerror = function () {
      source.close();
      if (!finished) { poll(); }
    };
  }

  function followReport(container) {
    var url = container.getAttribute("data-poll-url");
    function show(data) {
      container.innerHTML = data.html;
      if (data.done) {
        container.removeAttribute("data-poll-url");
        document.title = document.title.replace(/^Report/, "Report (" + data.state + ")");
      }
      return data.done;
    }
    function tick() {
      window.Curate.getJSON(url).then(function (data) {
        if (!show(data)) { window.setTimeout(tick, INTERVAL); }
      }).catch(function () { window.setTimeout(tick, INTERVAL * 3); });
    }
    follow(container.getAttribute("data-stream-url"), show, function () {
      window.setTimeout(tick, INTERVAL);
    });
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

  function followBatch(section) {
    var url = section.getAttribute("data-batch-url");
    var bar = section.querySelector(".progress");
    var text = section.querySelector(".progress-text");
    var list = section.querySelector(".batch-items");
    var done = section.querySelector(".batch-done");
    function show(data) {
      var pct = data.total ? Math.round((100 * data.done) / data.total) : 0;
      bar.firstElementChild.style.width = pct + "%";
      bar.setAttribute("aria-valuenow", String(pct));
      text.textContent = data.done + " of " + data.total + " image(s) finished" +
        (data.finished ? "." : " — generating…");
      list.replaceChildren.apply(list, data.items.map(itemNode));
      if (data.finished) {
        var cancel = section.querySelector(".batch-cancel");
        if (cancel) { cancel.hidden = true; }
      }
      if (data.finished && data.held) {
        done.hidden = false;
        done.querySelector("a").textContent = "Review the " + data.held + " held candidate(s)";
      }
      return data.finished;
    }
    function tick() {
      window.Curate.getJSON(url).then(function (data) {
        if (!show(data)) { window.setTimeout(tick, INTERVAL); }
      }).catch(function () { window.setTimeout(tick, INTERVAL * 3); });
    }
    follow(section.getAttribute("data-stream-url"), show, tick);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var report = document.querySelector("#report[data-poll-url]");
    if (report) { followReport(report); }
    var batch = document.querySelector("[data-batch-url]");
    if (batch) { followBatch(batch); }
  });
})();

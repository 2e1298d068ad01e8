/* signalfleet dashboard: live updates over server-sent events. Written for this project
 * (no library, no build step). EventSource reconnects by itself (the server sends `retry:`);
 * after a reconnect the page's live sections are fetched again, so nothing is missed. */
(function () {
  "use strict";
  var status = document.getElementById("live");
  var agentEl = document.querySelector("[data-agent]");
  var pageAgent = agentEl ? agentEl.getAttribute("data-agent") : null;
  var readyOnce = false;
  var pending = null;

  function say(text, state) {
    if (status) { status.textContent = text; }
    document.body.setAttribute("data-live", state);
  }

  function refresh() {
    if (pending) { clearTimeout(pending); }
    pending = setTimeout(function () {
      pending = null;
      // redirect "manual": a session that ended answers 303 to the sign-in form; following
      // it here would fetch that form and replace the sign-in cookie under the form the
      // browser may be opening at the same time (its CSRF token would then not match).
      fetch(location.href, { credentials: "same-origin", redirect: "manual",
                             headers: { "Accept": "text/html" } })
        .then(function (r) {
          if (r.redirected || !r.ok) { throw new Error("refresh " + r.status); }
          return r.text();
        })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          document.querySelectorAll("[data-refresh]").forEach(function (old) {
            var fresh = doc.getElementById(old.id);
            if (fresh) { old.replaceWith(document.importNode(fresh, true)); }
          });
          document.body.setAttribute("data-refreshed", String(Date.now()));
        })
        .catch(function () { /* the next event tries again */ });
    }, 250);
  }

  function cell(text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) { td.className = className; }
    return td;
  }

  function link(agentId, name) {
    var td = document.createElement("td");
    var a = document.createElement("a");
    a.href = "/dashboard/agents/" + encodeURIComponent(agentId);
    a.textContent = name;
    td.appendChild(a);
    return td;
  }

  function prepend(bodyId, row, key) {
    var body = document.getElementById(bodyId);
    if (!body || body.querySelector("[" + key + "=\"" + CSS.escape(row.getAttribute(key)) + "\"]")) {
      return;
    }
    var none = body.querySelector("tr.none");
    if (none) { none.remove(); }
    body.insertBefore(row, body.firstChild);
    row.classList.add("new");
  }

  function onExecution(e) {
    if (pageAgent && pageAgent !== e.agent_id) { return; }
    var tr = document.createElement("tr");
    tr.setAttribute("data-execution", e.id);
    var badge = document.createElement("span");
    badge.className = "status s-" + e.status.toLowerCase();
    badge.textContent = e.status;
    var st = document.createElement("td");
    st.appendChild(badge);
    [cell(e.executed_at), cell("#" + e.signal_id), link(e.agent_id, e.agent_name),
     cell(e.token), st, cell(e.action), cell(e.reason)].forEach(function (td) {
      tr.appendChild(td);
    });
    prepend("executions-body", tr, "data-execution");
  }

  function onTrade(t) {
    if (!pageAgent || pageAgent !== t.agent_id) { return; }
    var tr = document.createElement("tr");
    tr.setAttribute("data-trade", t.id);
    [cell(t.sale_time), cell(t.token), cell(t.close_reason, "reason"), cell(t.amount, "num"),
     cell(t.purchase_price, "num"), cell(t.sale_price, "num"), cell(t.change_percent, "num"), cell(t.profit_loss_sol, "num")]
      .forEach(function (td) { tr.appendChild(td); });
    prepend("trades-body", tr, "data-trade");
  }

  function onPrice(p) {
    document.querySelectorAll("[data-price=\"" + CSS.escape(p.token_address) + "\"]")
      .forEach(function (td) { td.textContent = p.price_sol; td.title = "at " + p.observed_at; });
  }

  function handle(name, fn) {
    source.addEventListener(name, function (msg) {
      fn(JSON.parse(msg.data));
      if (name !== "price") { refresh(); }
    });
  }

  var source = new EventSource("/dashboard/events");
  source.addEventListener("ready", function () {
    say("live", "ready");
    if (readyOnce) { refresh(); }
    readyOnce = true;
  });
  source.addEventListener("signed_out", function () {
    source.close();
    location.assign("/dashboard/login");
  });
  source.onerror = function () { say("reconnecting…", "off"); };
  handle("execution", onExecution);
  handle("trade", onTrade);
  handle("price", onPrice);
})();

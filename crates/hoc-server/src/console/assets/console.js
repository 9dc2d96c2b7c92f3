// The hocd console's only script: live updates. Every page works without it; with it, the incident list and an
// incident's page follow the tenant's events (GET /console/events) and redraw their live part from the server.
(function () {
  "use strict";
  var body = document.body;
  // Empty filters stay out of the URL (without this script they are sent empty, which means the same).
  Array.prototype.forEach.call(document.querySelectorAll("form.filters, form.as-of"), function (form) {
    form.addEventListener("submit", function () {
      Array.prototype.forEach.call(form.elements, function (field) {
        if (field.name && field.value === "") field.disabled = true;
      });
    });
  });
  var page = body.getAttribute("data-page");
  if (body.getAttribute("data-past") === "true") return; // the past does not change
  var live = page === "incidents" ? "incident-list" : page === "incident" ? "incident-live" : null;
  if (!live || !window.EventSource || !window.fetch || !window.DOMParser) return;
  var article = document.getElementById("incident");
  var incidentId = article ? article.getAttribute("data-id") : null;
  var timer = null;

  function relevant(envelope) {
    if (!envelope || typeof envelope.event_type !== "string") return false;
    if (envelope.event_type.indexOf("incidents.") !== 0) return false;
    if (!incidentId) return true;
    var data = envelope.data || {};
    return data.incident_id === incidentId || data.target_id === incidentId || data.duplicate_id === incidentId;
  }

  function redraw() {
    timer = null;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(live);
        var current = document.getElementById(live);
        if (fresh && current) {
          current.replaceWith(fresh);
          body.setAttribute("data-redraws", String(Number(body.getAttribute("data-redraws") || "0") + 1));
        }
      })
      .catch(function () { /* the next event tries again */ });
  }

  var source = new EventSource("/console/events");
  source.onopen = function () { body.setAttribute("data-live", "connected"); };
  source.onerror = function () { body.setAttribute("data-live", "reconnecting"); };
  source.onmessage = function (message) {
    var envelope = null;
    try { envelope = JSON.parse(message.data); } catch (e) { return; }
    if (!relevant(envelope)) return;
    if (timer === null) timer = window.setTimeout(redraw, 150);
  };
})();

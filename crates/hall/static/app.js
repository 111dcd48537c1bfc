// Live dashboard updates. The page is complete without this file; it only swaps in the
// tiles the console pushes over server-sent events and refreshes the alert list.
(function () {
  'use strict';
  var live = document.getElementById('live');
  if (!live || !window.EventSource) return;

  function setLive(state) { live.setAttribute('data-state', state); }

  function gridFor(html) {
    var grids = document.querySelectorAll('.grid');
    return grids.length ? grids[0] : null;
  }

  function applyTile(t) {
    var el = document.getElementById('k-' + t.id);
    if (el) {
      el.outerHTML = t.html;
    } else {
      var g = gridFor(t.html);
      if (g) g.insertAdjacentHTML('beforeend', t.html);
    }
  }

  function applySummary(s) {
    ['total', 'online', 'busy', 'attention', 'offline'].forEach(function (k) {
      var el = document.getElementById('s-' + k);
      if (el && s && typeof s[k] === 'number') el.textContent = String(s[k]);
    });
  }

  var refreshing = false;
  function refreshAlerts() {
    if (refreshing) return;
    refreshing = true;
    fetch('/alerts/panel', { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        var wrap = document.getElementById('alerts-wrap');
        if (html && wrap) wrap.innerHTML = html;
      })
      .finally(function () { refreshing = false; });
  }

  var es = new EventSource('/events');
  es.onopen = function () { setLive('open'); };
  es.onerror = function () { setLive('closed'); };
  es.onmessage = function (e) {
    var m;
    try { m = JSON.parse(e.data); } catch (_) { return; }
    setLive('open');
    (m.tiles || []).forEach(applyTile);
    applySummary(m.summary);
    if (m.alerts) refreshAlerts();
    document.body.setAttribute('data-updated', String(m.at || Date.now()));
  };
  es.addEventListener('reload', function () { location.reload(); });
})();

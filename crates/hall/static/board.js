// The call board: shows each call large and speaks it (Web Speech API), in Chinese and
// then English. Browsers speak only after a user gesture, so the screen's operator taps
// the button once after start-up (or the kiosk browser runs with
// --autoplay-policy=no-user-gesture-required).
(function () {
  'use strict';
  var body = document.body;
  var hall = body.getAttribute('data-hall');
  var latestId = Number(body.getAttribute('data-latest') || '0');
  var voiceOn = false;
  var voiceBtn = document.getElementById('voice');

  // The hall's time, whatever zone the screen's computer is set to.
  var offsetMin = Number(body.getAttribute('data-utc-offset') || '480');
  function tickClock() {
    var c = document.getElementById('clock');
    if (!c) return;
    var d = new Date(Date.now() + offsetMin * 60000);
    var p = function (n) { return (n < 10 ? '0' : '') + n; };
    c.textContent = p(d.getUTCHours()) + ':' + p(d.getUTCMinutes()) + ':' + p(d.getUTCSeconds());
  }
  setInterval(tickClock, 1000);
  tickClock();

  if (voiceBtn) {
    voiceBtn.addEventListener('click', function () {
      voiceOn = true;
      voiceBtn.hidden = true;
      say('语音播报已开启', 'zh-CN');
    });
  }

  function say(text, lang) {
    if (!('speechSynthesis' in window)) return;
    var u = new SpeechSynthesisUtterance(text);
    u.lang = lang;
    u.rate = 0.9;
    window.speechSynthesis.speak(u);
  }

  function announce(call) {
    body.setAttribute('data-spoken', call.number);
    if (!voiceOn) return;
    // Letters and digits one by one, as halls announce them: "A 0 1 2".
    var spaced = call.number.split('').join(' ');
    say('请 ' + spaced + ' 号，到 ' + call.counter + ' 号窗口办理', 'zh-CN');
    say('Number ' + spaced + ', please go to counter ' + call.counter, 'en-US');
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function render(calls) {
    var latest = document.getElementById('latest');
    var recent = document.getElementById('recent');
    if (!latest || !recent) return;
    latest.textContent = '';
    if (calls.length) {
      var c = calls[0];
      latest.appendChild(el('span', 'num', c.number));
      latest.appendChild(el('span', 'arrow', '→'));
      var ctr = el('span', 'ctr', c.counter + ' 号窗口');
      ctr.appendChild(el('small', null, 'Counter ' + c.counter));
      latest.appendChild(ctr);
      latest.classList.remove('called');
      void latest.offsetWidth;
      latest.classList.add('called');
    }
    recent.textContent = '';
    calls.slice(1).forEach(function (c) {
      var li = el('li');
      li.appendChild(el('span', 'num', c.number));
      li.appendChild(el('span', 'ctr', c.counter + ' 号窗口 · Counter ' + c.counter));
      recent.appendChild(li);
    });
  }

  if (!window.EventSource) return;
  var es = new EventSource('/board/events?hall=' + encodeURIComponent(hall));
  es.onmessage = function (e) {
    var m;
    try { m = JSON.parse(e.data); } catch (_) { return; }
    var calls = m.calls || [];
    if (typeof m.waiting === 'number') {
      var w = document.getElementById('waiting');
      if (w) w.textContent = '等候 waiting: ' + m.waiting;
    }
    if (m.recall) {
      if (calls.length) announce(calls[0]);
      return;
    }
    render(calls);
    if (calls.length && calls[0].id !== latestId) {
      latestId = calls[0].id;
      if (m.speak) announce(calls[0]);
    }
  };
})();

// The live console: every signed-in page asks /live every few seconds (counts and ids only, never a name or a
// word of a worry), keeps the banner and the page title up to date, and refreshes the worry queue when a new
// worry arrives. A sound and a browser notification are optional, switched on by the member of staff.
(function () {
  "use strict";
  var banner = document.getElementById("live-banner");
  if (!banner || !window.fetch) { return; }
  var url = banner.getAttribute("data-live-url");
  var seen = {
    urgent: Number(banner.getAttribute("data-urgent")) || 0,
    escalations: Number(banner.getAttribute("data-escalations")) || 0,
    latestWorry: Number(banner.getAttribute("data-latest-worry")) || 0,
    latestEscalation: Number(banner.getAttribute("data-latest-escalation")) || 0
  };
  var onQueue = document.body.getAttribute("data-live-page") === "queue";
  var baseTitle = document.title.replace(/^\(\d+\) /, "");
  var audio = null;
  var delay = 3000;

  function stored(name) {
    try { return window.localStorage.getItem("worrybox-" + name) === "on"; } catch (e) { return false; }
  }
  function store(name, on) {
    try { window.localStorage.setItem("worrybox-" + name, on ? "on" : "off"); } catch (e) { /* private mode */ }
  }

  function plural(count, one, many) { return count + " " + (count === 1 ? one : many); }

  function show(counts) {
    var parts = [["escalations", plural(counts.escalations, "open escalation", "open escalations")],
                 ["urgent", plural(counts.urgent, "urgent worry", "urgent worries") + " not yet opened"]];
    parts.forEach(function (part) {
      var link = banner.querySelector('[data-live="' + part[0] + '"]');
      if (!link) { return; }
      link.textContent = part[1];
      link.hidden = !counts[part[0]];
    });
    var waiting = counts.urgent + counts.escalations;
    banner.classList.toggle("banner-empty", !waiting);
    document.title = (waiting ? "(" + waiting + ") " : "") + baseTitle;
  }

  function beep() {
    if (!audio || !stored("sound")) { return; }
    [0, 0.35].forEach(function (start) {
      var tone = audio.createOscillator();
      var gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.2;
      tone.connect(gain);
      gain.connect(audio.destination);
      tone.start(audio.currentTime + start);
      tone.stop(audio.currentTime + start + 0.2);
    });
  }

  function notify(counts) {
    if (!("Notification" in window) || Notification.permission !== "granted" || !stored("notify")) { return; }
    // Never a name or a word of a worry: only that something is waiting.
    var notice = new Notification("Worry Box", {
      body: counts.urgent ? "An urgent worry is waiting. Open the staff console." : "A new escalation is waiting.",
      tag: "worrybox-live"
    });
    notice.onclick = function () { window.focus(); notice.close(); };
  }

  function poll() {
    fetch(url, {credentials: "same-origin", cache: "no-store", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (response.redirected || !response.ok) { throw new Error("signed out or unavailable"); }
        return response.json();
      })
      .then(function (counts) {
        var newUrgent = counts.urgent > seen.urgent || counts.latest_escalation > seen.latestEscalation;
        var newWorry = counts.latest_worry > seen.latestWorry;
        show(counts);
        if (newUrgent) { beep(); notify(counts); }
        seen = {urgent: counts.urgent, escalations: counts.escalations, latestWorry: counts.latest_worry,
                latestEscalation: counts.latest_escalation};
        delay = (counts.poll_seconds || 3) * 1000;
        if (onQueue && (newWorry || newUrgent) && !busy()) {
          window.setTimeout(function () { window.location.reload(); }, newUrgent ? 600 : 0);
          return;
        }
        window.setTimeout(poll, delay);
      })
      .catch(function () { window.setTimeout(poll, Math.min(delay * 2, 30000)); });
  }

  function busy() {
    // Never reload under someone who is typing.
    var active = document.activeElement;
    return active && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName) && active.type !== "submit";
  }

  function controls() {
    var box = document.createElement("span");
    box.className = "live-controls";
    var sound = document.createElement("button");
    sound.type = "button";
    sound.className = "link-button";
    function soundLabel() { sound.textContent = stored("sound") ? "Sound: on" : "Sound: off"; }
    sound.addEventListener("click", function () {
      store("sound", !stored("sound"));
      if (stored("sound") && !audio && (window.AudioContext || window.webkitAudioContext)) {
        audio = new (window.AudioContext || window.webkitAudioContext)();
      }
      soundLabel();
      beep();
    });
    soundLabel();
    box.appendChild(sound);
    if ("Notification" in window) {
      var alerts = document.createElement("button");
      alerts.type = "button";
      alerts.className = "link-button";
      var alertsLabel = function () {
        alerts.textContent = Notification.permission === "granted" && stored("notify")
          ? "Browser notifications: on" : "Browser notifications: off";
      };
      alerts.addEventListener("click", function () {
        if (Notification.permission === "granted") { store("notify", !stored("notify")); alertsLabel(); return; }
        Notification.requestPermission().then(function () { store("notify", true); alertsLabel(); });
      });
      alertsLabel();
      box.appendChild(alerts);
    }
    var bar = document.querySelector(".console-bar") || banner;
    bar.appendChild(box);
    if (stored("sound") && (window.AudioContext || window.webkitAudioContext)) {
      // Browsers start sound only after a tap on the page: the first tap anywhere wakes it.
      audio = new (window.AudioContext || window.webkitAudioContext)();
      document.addEventListener("click", function () { if (audio.state === "suspended") { audio.resume(); } },
                                {once: true});
    }
  }

  controls();
  show(seen);
  window.setTimeout(poll, delay);
}());

/* Worry Box kiosk: read-aloud, the drawing pad, clearing an untouched page, and the hide button.
   Everything here is an extra: without JavaScript every page still works, and these controls stay hidden. */
(function () {
  "use strict";

  var body = document.body;
  var endVisitUrl = body.getAttribute("data-end-visit") || "/";

  function leave() {
    // replace(), not assign(): the page with the child's worry leaves no entry in the history.
    window.location.replace(endVisitUrl);
  }

  /* Read aloud, in the page's language, with the browser's own voice. */
  if ("speechSynthesis" in window && "SpeechSynthesisUtterance" in window) {
    document.querySelectorAll("button.say").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var utterance = new window.SpeechSynthesisUtterance(button.getAttribute("data-say"));
        utterance.lang = document.documentElement.lang || "en";
        utterance.rate = 0.9;
        window.speechSynthesis.cancel();
        window.speechSynthesis.speak(utterance);
      });
    });
  }

  /* Leaving a page empties its private forms, so no back-button snapshot holds what was typed;
     and a page brought back from the browser's memory goes to the start instead. */
  window.addEventListener("pagehide", function () {
    document.querySelectorAll("form[data-private]").forEach(function (form) { form.reset(); });
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && document.querySelector("form[data-private]")) {
      leave();
    }
  });

  /* The hide button and every "finish" link: go to the start at once, leaving nothing to go back to. */
  document.querySelectorAll("[data-hide]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      leave();
    });
  });

  /* The drawing pad: finger, stylus or mouse; a few colours; undo and clear. */
  document.querySelectorAll("[data-drawing]").forEach(function (pad) {
    var canvas = pad.querySelector("canvas");
    var field = pad.querySelector("input[name=drawing]");
    if (!canvas || !canvas.getContext) {
      return;
    }
    var context = canvas.getContext("2d");
    var strokes = [];
    var current = null;
    var colour = "#1d2430";
    var background = null;
    pad.hidden = false;

    document.querySelectorAll("[data-swatch]").forEach(function (swatch) {
      swatch.style.backgroundColor = swatch.getAttribute("data-swatch");
    });

    function redraw() {
      context.fillStyle = "#ffffff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      if (background) {
        context.drawImage(background, 0, 0, canvas.width, canvas.height);
      }
      strokes.forEach(function (stroke) {
        context.strokeStyle = stroke.colour;
        context.lineWidth = 8;
        context.lineCap = "round";
        context.lineJoin = "round";
        context.beginPath();
        stroke.points.forEach(function (point, index) {
          if (index === 0) {
            context.moveTo(point[0], point[1]);
            context.lineTo(point[0] + 0.1, point[1] + 0.1);
          } else {
            context.lineTo(point[0], point[1]);
          }
        });
        context.stroke();
      });
    }

    function save() {
      field.value = strokes.length || background ? canvas.toDataURL("image/png") : "";
      field.dispatchEvent(new Event("input", { bubbles: true }));
    }

    function position(event) {
      var box = canvas.getBoundingClientRect();
      return [(event.clientX - box.left) * canvas.width / box.width,
              (event.clientY - box.top) * canvas.height / box.height];
    }

    if (field.value) {
      // The form came back (a mistake elsewhere): keep the drawing the child already made.
      background = new Image();
      background.onload = redraw;
      background.src = field.value;
    }
    redraw();

    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      current = { colour: colour, points: [position(event)] };
      strokes.push(current);
      redraw();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (current) {
        current.points.push(position(event));
        redraw();
      }
    });
    function finish() {
      if (current) {
        current = null;
        save();
      }
    }
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", finish);

    pad.querySelectorAll("[data-colour]").forEach(function (button) {
      button.addEventListener("click", function () {
        colour = button.getAttribute("data-colour");
        pad.querySelectorAll("[data-colour]").forEach(function (other) {
          other.setAttribute("aria-pressed", other === button ? "true" : "false");
        });
      });
    });
    pad.querySelector("[data-draw-undo]").addEventListener("click", function () {
      if (strokes.length) {
        strokes.pop();
      } else {
        background = null;
      }
      redraw();
      save();
    });
    pad.querySelector("[data-draw-clear]").addEventListener("click", function () {
      strokes = [];
      background = null;
      redraw();
      save();
    });
  });

  /* "Do you need more time?": before any page clears itself, ask, and wait at least 20 seconds for a tap. */
  var dialog = document.querySelector("dialog[data-more-time]");
  var askSeconds = Math.max(20, parseInt((dialog && dialog.getAttribute("data-more-time")) || "20", 10));
  var clearTimer = null;
  var askTimer = null;
  var clearTo = endVisitUrl;
  var keepAlive = null;

  function speak(text) {
    if ("speechSynthesis" in window && "SpeechSynthesisUtterance" in window && text) {
      var utterance = new window.SpeechSynthesisUtterance(text);
      utterance.lang = document.documentElement.lang || "en";
      utterance.rate = 0.9;
      window.speechSynthesis.cancel();
      window.speechSynthesis.speak(utterance);
    }
  }

  function asking() {
    return dialog && dialog.open;
  }

  function askForMoreTime() {
    if (!dialog || typeof dialog.showModal !== "function") {
      window.location.replace(clearTo);
      return;
    }
    dialog.showModal();
    speak(dialog.querySelector(".more-time-title").textContent);
    askTimer = window.setTimeout(function () { window.location.replace(clearTo); }, askSeconds * 1000);
  }

  function clearAfter(seconds) {
    window.clearTimeout(clearTimer);
    if (!asking()) {
      clearTimer = window.setTimeout(askForMoreTime, seconds * 1000);
    }
  }

  if (dialog) {
    dialog.querySelector("[data-more-time-yes]").addEventListener("click", function () {
      window.clearTimeout(askTimer);
      dialog.close();
      if (keepAlive) {
        window.fetch(keepAlive, { credentials: "same-origin", cache: "no-store" }).catch(function () {});
      }
      restart();
    });
    dialog.addEventListener("cancel", function (event) {
      event.preventDefault();  // Escape is "more time" too, never a way to skip the question
      dialog.querySelector("[data-more-time-yes]").click();
    });
  }

  /* A page that always returns to the start (thank you, booked, the answer, a mediator's rota). */
  var selfClearing = document.querySelector("[data-self-clearing]");
  /* Clear an untouched page: once something is typed, drawn or chosen, a minute without a touch
     (the school's setting) takes the tablet back to the start and forgets it all. */
  var idleSeconds = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  var forms = document.querySelectorAll("form[data-private]");
  var entered = false;

  function somethingEntered() {
    return Array.prototype.some.call(forms, function (form) {
      return Array.prototype.some.call(form.elements, function (element) {
        if (element.type === "radio" || element.type === "checkbox") {
          return element.checked && element.value !== "";
        }
        if (element.type === "hidden") {
          // A drawing, or an answer carried from an earlier step of the worry.
          return (element.name === "drawing" || element.hasAttribute("data-carried")) && element.value !== "";
        }
        if (element.type === "submit" || element.type === "button") {
          return false;
        }
        return typeof element.value === "string" && element.value.trim() !== "";
      });
    });
  }

  function restart() {
    if (asking()) {
      return;
    }
    if (selfClearing) {
      clearAfter(parseInt(selfClearing.getAttribute("data-self-clearing"), 10) || idleSeconds);
      return;
    }
    entered = entered || somethingEntered();
    if (idleSeconds > 0 && entered) {
      clearAfter(idleSeconds);
    }
  }

  if (selfClearing) {
    clearTo = selfClearing.getAttribute("data-clear-to") || endVisitUrl;
    keepAlive = selfClearing.getAttribute("data-keep-alive");
  }
  if (selfClearing || (idleSeconds > 0 && forms.length)) {
    ["pointerdown", "keydown", "input", "change", "scroll"].forEach(function (name) {
      document.addEventListener(name, restart, { passive: true, capture: true });
    });
    restart();
  }

  /* The first problem on a page: scrolled into view, focused, and read aloud where the browser can speak. */
  var problem = document.querySelector(".notice-error, .errors");
  if (problem) {
    problem.setAttribute("tabindex", "-1");
    problem.scrollIntoView({ block: "center" });
    problem.focus({ preventScroll: true });
    speak(problem.textContent.replace(/\s+/g, " ").trim());
  }
})();

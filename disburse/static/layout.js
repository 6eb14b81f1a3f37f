// Every page (templates/base.html). Without this script every page is complete; it only helps:
// - a page that answers a form with errors moves the focus to its error summary (GOV.UK's pattern), so that a
//   keyboard or screen reader user starts at the list of what to fix, each a link to its field; a page opened at a
//   fragment (a list sorted or paged) moves it to the list;
// - a table wider than its box (.table-scroll) gets a line above it saying that it scrolls sideways (the edge
//   shadows of disburse.css show it too; phones and overlay scrollbars show no scrollbar). The words come from
//   the page (body's data-scroll-hint), in its language;
// - a text area with a length limit (textarea[data-limit]) says, as one types, how many characters are left or how
//   many too many (GOV.UK's character count), counted as the server counts them: composed (NFC), without the spaces
//   around, a line break sent as two characters; it never cuts what was typed or pasted;
// - a list of codes pasted into a one-person search box goes into the list's box (below);
// - once a form has posted, no form of the page is sent again while its answer is on its way (below).
(function () {
  "use strict";
  var format = new Intl.NumberFormat(document.documentElement.lang || "vi");
  function count(area) {
    var said = document.getElementById(area.getAttribute("data-count"));
    if (!said) { return; }
    var limit = parseInt(area.getAttribute("data-limit"), 10);
    var sent = area.value.normalize("NFC").trim().replace(/\r?\n/g, "\r\n");
    var left = limit - Array.from(sent).length;
    var words = said.getAttribute((left >= 0 ? "data-left" : "data-over") + (Math.abs(left) === 1 ? "-one" : ""));
    said.textContent = words.replace("{n}", format.format(Math.abs(left)));
    said.classList.toggle("char-over", left < 0);
    return said;
  }
  // A screen reader hears the count once typing pauses, not at every key.
  var pause = null;
  function announce(area) {
    var said = count(area);
    var live = said && document.getElementById(said.id + "-live");
    if (!live) { return; }
    if (pause) { window.clearTimeout(pause); }
    pause = window.setTimeout(function () { live.textContent = said.textContent; }, 1000);
  }
  var areas = document.querySelectorAll("textarea[data-limit]");
  for (var i = 0; i < areas.length; i++) {
    areas[i].addEventListener("input", function (event) { announce(event.target); });
    if (areas[i].value) { count(areas[i]); }
  }
})();

(function () {
  "use strict";
  // ...or, on a step that asks to check what will be recorded, to what it says ([data-focus-on-load]).
  var summary = document.querySelector(".error-summary") || document.querySelector("[data-focus-on-load]");
  if (summary) {
    if (!summary.hasAttribute("tabindex")) { summary.setAttribute("tabindex", "-1"); }
    summary.focus();
  } else if (location.hash.length > 1) {
    // A link that comes back to a list (sorted, another page) names the list: the keyboard goes on from there, not
    // from the top of the page (browsers move only their starting point there, and only once the page has loaded).
    var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (target) {
      if (!target.hasAttribute("tabindex")) { target.setAttribute("tabindex", "-1"); }
      target.focus();
    }
  }

  var words = document.body.getAttribute("data-scroll-hint");
  var boxes = document.querySelectorAll(".table-scroll, .queue-layout > .results");
  if (!words || !boxes.length) { return; }
  function hintFor(box, index) {
    var previous = box.previousElementSibling;
    if (previous && previous.classList.contains("scroll-hint")) { return previous; }
    var hint = document.createElement("p");
    hint.className = "scroll-hint";
    hint.id = "scroll-hint-" + index;
    hint.textContent = words;
    hint.hidden = true;
    box.parentNode.insertBefore(hint, box);
    return hint;
  }
  function mark() {
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      var wide = box.scrollWidth > box.clientWidth + 1;
      var hint = hintFor(box, i);
      hint.hidden = !wide;
      var described = (box.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
        return id && id !== hint.id;
      });
      if (wide) { described.push(hint.id); }
      if (described.length) { box.setAttribute("aria-describedby", described.join(" ")); }
      else { box.removeAttribute("aria-describedby"); }
    }
  }
  mark();
  var pending = null;
  window.addEventListener("resize", function () {
    if (pending) { window.clearTimeout(pending); }
    pending = window.setTimeout(mark, 150);
  });
})();

// A list of codes pasted into a one-person search box (form[data-list-box], the find page) goes into the list's box
// (the element data-list-box names), saying so (data-list-note), instead of into the URL: a long one is refused by
// the web server before the page can say anything. Codes: 9, 10 or 12 digits; anything else is sent as it is.
(function () {
  var forms = document.querySelectorAll("form[data-list-box]");
  for (var i = 0; i < forms.length; i++) {
    forms[i].addEventListener("submit", function (event) {
      var form = event.currentTarget;
      var input = form.querySelector("input[name=q]");
      var codes = input ? input.value.split(/[\s,;]+/).filter(Boolean) : [];
      if (codes.length < 2 || !codes.every(function (code) { return /^([0-9]{9}|[0-9]{10}|[0-9]{12})$/.test(code); })) {
        return;
      }
      event.preventDefault();
      var box = document.getElementById(form.getAttribute("data-list-box"));
      var note = document.getElementById(form.getAttribute("data-list-note"));
      box.value = codes.join("\n");
      if (note) { note.hidden = false; }
      box.focus();
    });
  }
})();

// A form that posts is sent once: a double-click, or a click again while the answer is on its way, sent it twice, and
// the second answer, to a repeat, replaced the first on the screen (a Form 03 file's confirmation: "no adjustment
// recorded", every row refused as already paid, though the first post had recorded them); and "Sửa lại" clicked
// after "Xác nhận" left the person on the form to edit, not knowing the first had been recorded. Once a form has
// posted, no form of the page is sent for 10 seconds (the page's answer replaces it before then), and the button
// clicked says it is busy; a form whose answer is a download (data-download) neither waits nor makes others wait; a
// page shown again from the browser's history (the back button) sends again at once.
(function () {
  "use strict";
  var WAIT_MS = 10000;
  var postedAt = 0;
  var busy = null;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !form || form.hasAttribute("data-download")) { return; }
    if (Date.now() - postedAt < WAIT_MS) {
      event.preventDefault();
      return;
    }
    if (String(form.method).toLowerCase() === "post") {
      postedAt = Date.now();
      busy = event.submitter || null;
      if (busy) { busy.setAttribute("aria-busy", "true"); }
    }
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      postedAt = 0;
      if (busy) { busy.removeAttribute("aria-busy"); }
    }
  });
})();

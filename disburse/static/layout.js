// Every page (templates/base.html). Without this script every page is complete; it only helps:
// - a page that answers a form with errors moves the focus to its error summary (GOV.UK's pattern), so that a
//   keyboard or screen reader user starts at the list of what to fix, each a link to its field; a page opened at a
//   fragment (a list sorted or paged) moves it to the list;
// - a table wider than its box (.table-scroll) gets a line above it saying that it scrolls sideways (the edge
//   shadows of disburse.css show it too; phones and overlay scrollbars show no scrollbar). The words come from
//   the page (body's data-scroll-hint), in its language.
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

// A job's page: asks the job's JSON every second while it runs and moves the progress bar, the text, the state,
// the error and the download link; nothing else. Without this script the page is complete (reload to see more).
(function () {
  "use strict";
  var box = document.getElementById("job");
  // Reloaded because the job just finished (below): the focus goes to its state, read out, not to the page's top.
  var just = "disburse-job-finished";
  if (box && window.sessionStorage && sessionStorage.getItem(just) === window.location.pathname) {
    sessionStorage.removeItem(just);
    var state = document.getElementById("job-state");
    if (state) { state.setAttribute("tabindex", "-1"); state.focus(); }  // its aria-live reads it out
  }
  if (!box || box.getAttribute("data-finished") === "true" || !window.fetch) { return; }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("job-progress");
  function set(id, text) { var el = document.getElementById(id); if (el) { el.textContent = text; } }
  function show(status) {
    if (status.total !== null) {
      bar.max = Math.max(status.total, 1);
      bar.value = status.total ? Math.min(status.done, status.total) : 1;
    }
    bar.textContent = status.text;
    set("job-progress-text", status.text);
    set("job-state", status.state_label);
    if (status.error) { set("job-error", status.error); document.getElementById("job-error").hidden = false; }
    if (status.download) {
      var link = document.querySelector("#job-download a");
      link.href = status.download;
      document.getElementById("job-download").hidden = false;
    }
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status) { return; }
        show(status);
        if (status.finished) {
          if (window.sessionStorage) { sessionStorage.setItem(just, window.location.pathname); }
          window.location.reload();
          return;
        }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();

// P2HAM web pages: a small enhancement only; every page works without it.
document.addEventListener("DOMContentLoaded", function () {
  // On a page with an error summary, move the focus there so the problems are read out first.
  var summary = document.querySelector("[data-module=ringkasan-galat]");
  if (summary) summary.focus();
  var progress = document.querySelector("[data-module=kemajuan]:not([data-selesai])");
  if (progress) follow(progress);
});

// A background job's page (opening a cohort, the audit of a cycle). Without script it reloads itself while the job
// runs (a meta refresh inside <noscript>, which the reader can turn off); with it, the page is fetched again every
// two seconds and its progress replaced in place: the status text in the aria-live region (read out when it changes),
// the bar and the counts beside it. A job that finished or stopped is marked data-selesai: no more fetching.
var EVERY_MS = 2000;
var AFTER_A_FAILURE_MS = 10000;

function follow(progress) {
  var status = progress.querySelector("[data-kemajuan=status]");
  var rest = progress.querySelector("[data-kemajuan=isi]");

  function poll() {
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var next = fresh.querySelector("[data-module=kemajuan]");
        if (!next) return replaceMain(fresh); // the job is gone (a restart) or the session ended: say so, stop
        var nextStatus = next.querySelector("[data-kemajuan=status]");
        if (nextStatus.innerHTML !== status.innerHTML) status.innerHTML = nextStatus.innerHTML;
        rest.innerHTML = next.querySelector("[data-kemajuan=isi]").innerHTML;
        if (next.hasAttribute("data-selesai")) progress.setAttribute("data-selesai", "");
        else window.setTimeout(poll, EVERY_MS);
      })
      .catch(function () { window.setTimeout(poll, AFTER_A_FAILURE_MS); }); // the network: try again, a bit later
  }

  window.setTimeout(poll, EVERY_MS);
}

// Another page came back instead (its words, e.g. "this job was not found"): shown in place of this one's content,
// with the focus on it so a screen reader reads it out.
function replaceMain(fresh) {
  var main = document.querySelector("main");
  var freshMain = fresh.querySelector("main");
  if (!main || !freshMain) return window.location.reload();
  main.innerHTML = freshMain.innerHTML;
  document.title = fresh.title;
  main.focus();
}

// P2HAM web pages: a small enhancement only; every page works without it.
// On a page with an error summary, move the focus there so the problems are read out first.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector("[data-module=ringkasan-galat]");
  if (summary) summary.focus();
});

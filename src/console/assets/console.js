// The console's only script: optional comforts, every page works without it.
// Moves focus to the first field with an error, so a keyboard or screen-reader user
// lands where the correction is needed.
document.addEventListener("DOMContentLoaded", function () {
  var invalid = document.querySelector("[aria-invalid=true]");
  if (invalid) {
    invalid.focus();
  }
});

// The search box answers as the clerk types: after a pause of 250 ms, and from two
// characters on, the results are fetched (the same page, results only) and put in place.
// Submitting the form still works without it.
document.addEventListener("DOMContentLoaded", function () {
  var box = document.querySelector("input[data-live]");
  var area = document.getElementById("results-area");
  if (!box || !area) {
    return;
  }
  var timer = null;
  var latest = 0;
  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var text = box.value.trim();
      if (text.length < 2 && !/[\u4e00-\u9fff]/.test(text)) {
        return;
      }
      var ticket = ++latest;
      var url = box.getAttribute("data-live") + "?fragment=1&q=" + encodeURIComponent(text);
      fetch(url, { credentials: "same-origin" }).then(function (response) {
        return response.ok ? response.text() : null;
      }).then(function (html) {
        // Only the answer to the latest keystroke is shown.
        if (html !== null && ticket === latest) {
          area.innerHTML = html;
          history.replaceState(null, "", "/search?q=" + encodeURIComponent(text));
        }
      });
    }, 250);
  });
});

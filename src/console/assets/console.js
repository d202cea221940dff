// The console's only script: optional comforts, every page works without it.
// Moves focus to the first field with an error, so a keyboard or screen-reader user
// lands where the correction is needed.
document.addEventListener("DOMContentLoaded", function () {
  var invalid = document.querySelector("[aria-invalid=true]");
  if (invalid) {
    invalid.focus();
  }
});

// 👍/👎 in place: the same form a browser without JavaScript posts, sent with fetch (the CSRF token in its
// X-CSRF-Token header); both buttons of the card then show the answer's state.
"use strict";
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-feedback")) return;
  event.preventDefault();
  const box = form.closest("[data-feedback-box]");
  if (box.dataset.busy) return; // a double click sends one request
  box.dataset.busy = "1";
  try {
    const response = await fetch(form.getAttribute("action"), {
      method: "POST",
      body: new FormData(form),
      headers: { "Accept": "application/json", "X-CSRF-Token": form.elements.namedItem("csrf_token").value },
      credentials: "same-origin",
    });
    if (response.status === 401 || response.redirected) { window.location.assign("/signin"); return; }
    if (!response.ok) { box.classList.add("feedback-failed"); box.title = "Could not save: " + response.status; return; }
    const state = await response.json();
    box.classList.remove("feedback-failed", "rated-like", "rated-dislike");
    if (state.signal) box.classList.add("rated-" + state.signal);
    for (const each of box.querySelectorAll("form[data-feedback]")) {
      const kind = each.dataset.feedback;
      const on = state.signal === kind;
      each.elements.namedItem("signal").value = on ? "clear" : kind;
      each.querySelector("button").setAttribute("aria-pressed", on ? "true" : "false");
    }
    const card = box.closest(".card");
    if (card) card.dataset.signal = state.signal || "";
  } catch (error) {
    box.classList.add("feedback-failed");
  } finally {
    delete box.dataset.busy;
  }
});

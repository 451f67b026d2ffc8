// Upvote buttons in place: the same form a browser without JavaScript posts, sent with fetch (the CSRF
// token travels in its X-CSRF-Token header), then the count and the button's state from the answer.
"use strict";
// A form as its browser would post it, with fetch: the CSRF token in X-CSRF-Token, JSON asked for (collect.js
// sends its forms with this too).
window.dpPostForm = (form) => fetch(form.getAttribute("action"), {
  method: "POST",
  body: new FormData(form),
  headers: { "Accept": "application/json", "X-CSRF-Token": form.elements.namedItem("csrf_token").value },
  credentials: "same-origin",
});
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-upvote")) return;
  event.preventDefault();
  if (form.dataset.busy) return; // a double click sends one request
  form.dataset.busy = "1";
  const action = form.elements.namedItem("action");
  const button = form.querySelector("button");
  try {
    // getAttribute("action"), not form.action: the form has an input named "action", which that would return.
    const response = await window.dpPostForm(form);
    if (response.status === 401 || response.redirected) { window.location.assign("/signin"); return; }
    if (!response.ok) { form.classList.add("upvote-failed"); button.title = "Could not upvote: " + response.status; return; }
    const state = await response.json();
    form.querySelector(".count").textContent = String(state.upvotes);
    form.classList.toggle("voted", state.upvoted);
    form.classList.remove("upvote-failed");
    button.setAttribute("aria-pressed", state.upvoted ? "true" : "false");
    button.title = state.upvoted ? "Take back your upvote" : "Upvote";
    action.value = state.upvoted ? "remove" : "add";
  } catch (error) {
    form.classList.add("upvote-failed");
  } finally {
    delete form.dataset.busy;
  }
});

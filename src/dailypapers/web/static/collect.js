// "Add to collection" in place: the same form a browser without JavaScript posts, sent with fetch
// (dpPostForm, from upvote.js, loaded before this); the answer's message is shown beside the button.
// Also: the question before a form marked data-confirm (deleting a collection) is sent.
"use strict";
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) { event.preventDefault(); return; }
  if (!form.hasAttribute("data-collect")) return;
  event.preventDefault();
  if (form.dataset.busy) return; // a double click sends one request
  form.dataset.busy = "1";
  const status = form.querySelector(".collect-status");
  try {
    const response = await window.dpPostForm(form); // static/upvote.js
    if (response.status === 401 || response.redirected) { window.location.assign("/signin"); return; }
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      status.textContent = answer.error || ("Could not add: " + response.status);
      status.classList.add("form-error");
      return;
    }
    status.classList.remove("form-error");
    status.textContent = "";
    const link = document.createElement("a");
    link.href = answer.url;
    link.textContent = answer.message;
    status.append(link);
    const select = form.elements.namedItem("collection");
    const chosen = select.value;
    if (chosen) {
      const option = select.querySelector(`option[value="${CSS.escape(chosen)}"]`);
      if (option) { option.disabled = true; option.textContent += " (added)"; }
    }
    form.elements.namedItem("note").value = "";
    form.elements.namedItem("new_title").value = "";
  } catch (error) {
    status.textContent = "Could not add: the site did not answer.";
    status.classList.add("form-error");
  } finally {
    delete form.dataset.busy;
  }
});

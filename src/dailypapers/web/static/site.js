// Small conveniences on top of pages that work without JavaScript (a file of its own: the
// Content-Security-Policy allows no inline script).
"use strict";

// "Copy BibTeX": the button is hidden until this script can make it work.
for (const button of document.querySelectorAll("button[data-copy]")) {
  button.hidden = false;
  button.addEventListener("click", async () => {
    const source = document.getElementById(button.dataset.copy);
    const label = button.textContent;
    try {
      await navigator.clipboard.writeText(source.textContent);
      button.textContent = "Copied";
    } catch (error) {
      // No clipboard (an insecure origin, a refusal): select the text for a manual copy.
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      button.textContent = "Selected: press Ctrl+C";
    }
    setTimeout(() => { button.textContent = label; }, 2000);
  });
}

// A reply or edit form opened by its link (it is the page's target): put the cursor in it.
function focusTargetForm() {
  const id = decodeURIComponent(window.location.hash.slice(1));
  if (!/^(reply|edit)-form-\d+$/.test(id)) return;
  const field = document.getElementById(id)?.querySelector("textarea");
  if (field) field.focus({ preventScroll: true });
}
window.addEventListener("hashchange", focusTargetForm);
focusTargetForm();
// A form that came back with an error: its field first.
document.querySelector("[aria-invalid=true]")?.focus();

// Deleting a comment asks first. Without this script the link opens a page that asks.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-confirm-delete]");
  if (!link) return;
  event.preventDefault();
  if (!window.confirm("Delete this comment? This cannot be undone.")) return;
  const form = document.createElement("form");
  form.method = "post";
  form.action = link.getAttribute("href");
  const token = document.createElement("input");
  token.type = "hidden";
  token.name = "csrf_token";
  token.value = link.dataset.confirmDelete;
  form.append(token);
  document.body.append(form);
  form.submit();
});

// Hiding the digest banner without leaving the page (the form sets the same cookie when posted).
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-dismiss-banner")) return;
  event.preventDefault();
  const banner = form.closest(".digest-banner");
  try {
    const response = await fetch(form.getAttribute("action"), {
      method: "POST",
      body: new FormData(form),
      headers: { "Accept": "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error(String(response.status));
    banner.remove();
  } catch (error) {
    form.submit();
  }
});

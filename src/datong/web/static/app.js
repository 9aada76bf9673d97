// Small behaviours htmx does not cover: adding a blank data-item row to the resource form.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-add-row]");
  if (!button) return;
  const body = document.querySelector(button.dataset.addRow).tBodies[0];
  const template = document.getElementById("item-row-template");
  body.insertAdjacentHTML("beforeend", template.innerHTML.replaceAll("__i__", String(body.rows.length)));
  body.rows[body.rows.length - 1].querySelector("input").focus();
});

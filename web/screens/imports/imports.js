// Imports: bring customers, contacts or renewals in from a CSV file (docs/import.md). The file goes from
// the browser straight to S3 with the form the API signs (it never passes through the API); then the
// columns and their mapping, a dry run with its counts and row errors, the commit with its progress, and
// the failed rows as a CSV. Every import has its own URL, so a reload shows it where it stands.
import { api, people } from "kw/api.js";
import { dataTable, empty, field, h, link, notice, problem, section, select, when } from "kw/widgets.js";

const KINDS = [
  ["customers", "Customers"],
  ["contacts", "Contacts"],
  ["renewals", "Renewals"],
];
const KIND_LABEL = Object.fromEntries(KINDS);
// Statuses in words (docs/import.md "Statuses").
const STATUS = {
  awaiting_upload: "Waiting for the file",
  uploaded: "Mapping to check",
  validating: "Dry run running",
  validated: "Dry run done",
  committing: "Importing",
  completed: "Completed",
  refused: "Refused",
  failed: "Failed",
};
const POLL_MS = 1000;
const ACRONYMS = { id: "ID", arr: "ARR", mrr: "MRR", nps: "NPS" };

export async function render(main, ctx) {
  if (ctx.params.import_id) return importPage(main, ctx);
  main.append(
    h("h1", {}, "Imports"),
    h(
      "p",
      { class: "muted" },
      "Bring customers, contacts or renewals in from a CSV file (UTF-8, up to 20 MB). Nothing is written before you have checked the mapping and a dry run.",
    ),
  );
  if (ctx.can("imports", "write")) main.append(newImportForm(ctx));
  main.append(await section("Past imports", () => importList(ctx), { id: "past-imports" }));
}

// ---- the list -----------------------------------------------------------------------------------------
async function importList(ctx) {
  const [{ items }, names] = await Promise.all([api.get("/v1/imports"), people()]);
  return dataTable({
    caption: "Newest first",
    rows: items,
    emptyText: "No import yet.",
    columns: [
      { key: "filename", label: "File", render: (b) => link(`/imports/${b.import_id}`, b.filename) },
      { key: "kind", label: "Kind", render: (b) => KIND_LABEL[b.kind] || b.kind },
      { key: "created_by", label: "By", render: (b) => personName(b.created_by, names, ctx) },
      { key: "created_at", label: "Started", render: (b) => when(b.created_at) },
      { key: "status", label: "Status", render: (b) => statusBadge(b.status) },
      { key: "counts", label: "Rows", render: (b) => countsLine(b) },
    ],
  });
}

function personName(userId, names, ctx) {
  if (userId === ctx.me.user_id) return `${ctx.me.name || names[userId] || userId} (you)`;
  return names[userId] || userId;
}

function statusBadge(status) {
  const colour = { completed: "green", validated: "green", refused: "red", failed: "red" }[status] || "none";
  return h("span", { class: `badge badge-${colour}` }, STATUS[status] || status);
}

// "3 created · 1 updated · 1 failed" of the commit, or of the dry run ("would be"), or nothing yet.
function countsLine(bulk) {
  const report = bulk.progress || bulk.dry_run;
  if (!report || !report.rows_done) return h("span", { class: "muted" }, "—");
  const parts = [
    ["created", report.created],
    ["updated", report.updated],
    ["unchanged", report.unchanged],
    ["failed", report.failed],
  ]
    .filter(([, n]) => n)
    .map(([word, n]) => `${n.toLocaleString("en-US")} ${word}`);
  const prefix = bulk.progress ? "" : "dry run: ";
  return `${prefix}${parts.join(" · ") || `${report.rows_done} rows`}`;
}

// ---- a new import: kind and file, straight to S3 ------------------------------------------------------
function newImportForm(ctx) {
  const kind = select(KINDS, "customers");
  const file = h("input", { type: "file", accept: ".csv,text/csv", required: true });
  const bar = h("progress", { max: 100, value: 0, hidden: true, "aria-label": "Upload progress" });
  const status = h("p", { class: "muted", "aria-live": "polite" });
  const button = h("button", { type: "submit", class: "primary" }, "Upload and read the columns");
  const form = h(
    "form",
    { class: "panel import-new", "aria-labelledby": "new-import" },
    h("h2", { id: "new-import" }, "New import"),
    h("div", { class: "filters import-choose" }, field("What the file holds", kind, { name: "kind" }), field("CSV file", file, { name: "filename", hint: "UTF-8, comma or semicolon separated, a header row" })),
    h("div", { class: "buttons" }, button),
    bar,
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    form.querySelector(".form-error")?.remove();
    const chosen = file.files[0];
    if (!chosen) return;
    button.disabled = true;
    status.textContent = "Starting the import…";
    try {
      const created = await api.post("/v1/imports", { kind: kind.value, filename: chosen.name });
      if (chosen.size > created.upload.max_bytes) {
        throw new Error(`The file is ${chosen.size.toLocaleString("en-US")} bytes; at most ${created.upload.max_bytes.toLocaleString("en-US")} (20 MB) are accepted.`);
      }
      bar.hidden = false;
      status.textContent = `Uploading ${chosen.name}…`;
      await uploadToS3(created.upload, chosen, (fraction) => (bar.value = Math.round(fraction * 100)));
      notice(`${chosen.name} uploaded`);
      ctx.navigate(`/imports/${created.import_id}`);
    } catch (error) {
      bar.hidden = true;
      status.textContent = "";
      form.append(h("p", { class: "form-error", role: "alert" }, error.sentence || error.message));
      button.disabled = false;
    }
  });
  return form;
}

// The presigned POST form (`upload.url` + `upload.fields`, then the file as `file`), sent from the browser
// to the import bucket: the bucket's CORS allows the console's origin, the page's CSP the bucket's.
function uploadToS3(upload, file, onProgress) {
  return new Promise((resolve, reject) => {
    const body = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) body.append(name, value);
    body.append("file", file);
    const request = new XMLHttpRequest();
    request.open("POST", upload.url);
    request.upload.addEventListener("progress", (event) => event.lengthComputable && onProgress(event.loaded / event.total));
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) return resolve();
      const said = /<Message>([^<]*)<\/Message>/.exec(request.responseText || "")?.[1];
      reject(new Error(`The file store refused the upload (${request.status}${said ? `: ${said}` : ""}).`));
    });
    request.addEventListener("error", () => reject(new Error("The upload did not reach the file store; check your connection and try again.")));
    request.send(body);
  });
}

// ---- one import ----------------------------------------------------------------------------------------
async function importPage(main, ctx) {
  const id = ctx.params.import_id;
  let bulk;
  let names;
  try {
    [bulk, names] = await Promise.all([api.get(`/v1/imports/${encodeURIComponent(id)}`), people()]);
  } catch (error) {
    main.append(h("h1", {}, error.status === 404 ? "Import not found" : "Import"), h("p", {}, link("/imports", "← Imports")), problem(error));
    return;
  }
  const facts = h("dl", { class: "facts" });
  const body = h("div", { class: "import-body" });
  main.append(h("h1", {}, bulk.filename), h("p", {}, link("/imports", "← Imports")), h("div", { class: "customer-header import-header" }, facts), body);
  const customFields = bulk.kind === "customers" ? await api.get("/v1/custom-fields").then((r) => r.items || []).catch(() => []) : [];
  const page = { ctx, names, customFields, facts, body, main };
  show(page, bulk);
}

function show(page, bulk) {
  const { ctx, facts, body } = page;
  const fact = (label, value) => h("div", {}, h("dt", {}, label), h("dd", {}, value));
  facts.replaceChildren(
    fact("Kind", KIND_LABEL[bulk.kind] || bulk.kind),
    fact("Started by", personName(bulk.created_by, page.names, ctx)),
    fact("Started", when(bulk.created_at)),
    fact("Status", statusBadge(bulk.status)),
    fact("Columns", bulk.columns.length ? String(bulk.columns.length) : "—"),
  );
  const write = ctx.can("imports", "write");
  const parts = [];
  switch (bulk.status) {
    case "awaiting_upload":
      parts.push(
        h("section", { class: "panel", "aria-labelledby": "state-title" }, h("h2", { id: "state-title" }, "Waiting for the file"), h("p", {}, "The file has not arrived in the file store. If its upload did not finish, start a new import."), write ? h("p", {}, link("/imports", "Start a new import")) : null),
      );
      break;
    case "refused":
      parts.push(
        h(
          "section",
          { class: "panel", "aria-labelledby": "state-title" },
          h("h2", { id: "state-title" }, "The file was refused"),
          h("p", { class: "problem", role: "alert" }, bulk.refusal?.message || "The file cannot be imported."),
          h("p", {}, "Nothing was written.", write ? [" Correct the file and ", link("/imports", "start a new import"), "."] : null),
        ),
      );
      break;
    case "failed":
      parts.push(
        h(
          "section",
          { class: "panel", "aria-labelledby": "state-title" },
          h("h2", { id: "state-title" }, "The import failed"),
          h("p", { class: "problem", role: "alert" }, "The import job kept failing and was stopped. The rows it had written stay written; an administrator can look into its message on the import queue, or start a new import with the remaining rows."),
          report("What it did before it stopped", bulk.progress || bulk.dry_run, bulk, { done: true }),
        ),
      );
      break;
    case "uploaded":
      parts.push(mappingPanel(page, bulk, write));
      break;
    case "validating":
      parts.push(mappingPanel(page, bulk, false), progressPanel("Dry run", bulk.dry_run, null, "rows checked"));
      break;
    case "validated": {
      const mapping = mappingPanel(page, bulk, write);
      parts.push(mapping, report("Dry run: what the import would do", bulk.dry_run, bulk, { dry: true }));
      if (write) {
        const commit = commitPanel(page, bulk);
        // A changed mapping needs its own dry run before anything is imported (the API says so too).
        mapping.addEventListener("change", () => commit.stale());
        parts.push(commit);
      }
      break;
    }
    case "committing":
      parts.push(progressPanel("Importing", bulk.progress, bulk.dry_run?.rows_done, "rows imported"));
      break;
    case "completed":
      parts.push(report("Result", bulk.progress, bulk, { done: true }), h("p", {}, link(`/${bulk.kind === "renewals" ? "renewals" : "customers"}`, bulk.kind === "renewals" ? "See the renewals" : "See the portfolio")));
      break;
    default:
      parts.push(h("p", {}, STATUS[bulk.status] || bulk.status));
  }
  body.replaceChildren(...parts);
  if (bulk.status === "validating" || bulk.status === "committing") follow(page, bulk.import_id);
}

// Read the import again until its job is done (the page may be left meanwhile: then stop).
function follow(page, importId) {
  setTimeout(async () => {
    if (!page.body.isConnected) return;
    try {
      show(page, await api.get(`/v1/imports/${encodeURIComponent(importId)}`));
    } catch (error) {
      page.body.append(problem(error));
    }
  }, POLL_MS);
}

function progressPanel(title, current, total, unit) {
  const done = current?.rows_done || 0;
  const bar = h("progress", { max: total || 100, id: "import-progress" });
  if (total) bar.value = Math.min(done, total);
  const words = total ? `${done.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} ${unit}` : `${done.toLocaleString("en-US")} ${unit} so far`;
  return h(
    "section",
    { class: "panel", "aria-labelledby": "import-progress-title" },
    h("h2", { id: "import-progress-title" }, title),
    h("label", { for: "import-progress" }, `${title} progress`),
    " ",
    bar,
    " ",
    h("span", { role: "status" }, `${words}…`),
  );
}

// ---- mapping ----------------------------------------------------------------------------------------------
function fieldLabel(name) {
  if (name.startsWith("custom_fields.")) return `Custom: ${name.slice("custom_fields.".length)}`;
  const words = name.split("_").map((w) => ACRONYMS[w] || w);
  const text = words.join(" ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function targetOptions(page, bulk) {
  const options = [["", "— ignore this column —"], ...bulk.fields.map((f) => [f, fieldLabel(f)])];
  if (bulk.kind === "customers") {
    const custom = new Map(page.customFields.map((d) => [`custom_fields.${d.key}`, `Custom: ${d.label || d.key}`]));
    for (const target of [...Object.values(bulk.mapping), ...Object.values(bulk.suggested_mapping)]) {
      if (target.startsWith("custom_fields.") && !custom.has(target)) custom.set(target, fieldLabel(target));
    }
    options.push(...custom);
  }
  return options;
}

function mappingPanel(page, bulk, editable) {
  const options = targetOptions(page, bulk);
  const labelOf = Object.fromEntries(options);
  const required = bulk.required.map((group) => group.map(fieldLabel).join(" or ")).join(", and one for ");
  const rows = bulk.columns.map((column) => ({ column }));
  const selects = new Map();
  const table = dataTable({
    caption: editable ? "Each column of the file and the field it fills" : "Each column of the file and the field it fills (read only)",
    rows,
    emptyText: "The file has no columns.",
    columns: [
      { key: "column", label: "Column in the file", render: (r) => h("strong", {}, r.column) },
      {
        key: "target",
        label: "Fills",
        render: (r) => {
          const current = bulk.mapping[r.column] || "";
          const suggested = bulk.suggested_mapping[r.column];
          // What Keepwell suggested, when the mapping now says otherwise (so it can be put back).
          const note = suggested && suggested !== current ? h("span", { class: "hint" }, `suggested: ${labelOf[suggested] || suggested}`) : null;
          if (!editable) return [current ? labelOf[current] || current : h("span", { class: "muted" }, "ignored"), " ", note];
          const choice = select(options, current, { "aria-label": `Field for column ${r.column}`, "data-column": r.column });
          choice.id = `map-${selects.size}`;
          choice.dataset.field = `mapping.${r.column}`;
          selects.set(r.column, choice);
          const error = h("span", { class: "field-error", id: `${choice.id}-error`, role: "alert" });
          choice.setAttribute("aria-describedby", `${choice.id}-error`);
          return h("div", { class: "map-cell" }, choice, note, error);
        },
      },
    ],
  });
  const panel = h("section", { class: "panel", "aria-labelledby": "mapping-title" }, h("h2", { id: "mapping-title" }, "Columns and mapping"), h("p", { class: "hint" }, `Needed: a column for ${required}. Columns left on “ignore” are not imported.`), table);
  if (!editable) return panel;

  const mapping = () => Object.fromEntries([...selects].filter(([, s]) => s.value).map(([column, s]) => [column, s.value]));
  const formError = h("div", { class: "mapping-error", role: "alert" });
  const save = h("button", { type: "button" }, "Save mapping");
  const dryRun = h("button", { type: "button", class: "primary" }, bulk.status === "validated" ? "Dry run again" : "Dry run");
  const changed = () => JSON.stringify(mapping()) !== JSON.stringify(bulk.mapping);
  const clear = () => {
    formError.replaceChildren();
    panel.querySelectorAll(".field-error").forEach((el) => (el.textContent = ""));
    panel.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  };
  // The API's 400: each problem beside the column it names (`mapping.<column>`), the rest (a required
  // field nobody fills) under the table.
  const showProblems = (error) => {
    const details = (error.details || []).filter((d) => d && d.issue);
    if (error.status !== 400 || !details.length) return formError.replaceChildren(problem(error));
    const loose = [];
    for (const detail of details) {
      const column = String(detail.field || "").startsWith("mapping.") ? detail.field.slice("mapping.".length) : null;
      const control = column !== null ? selects.get(column) : null;
      if (!control) {
        loose.push(detail.issue);
        continue;
      }
      control.setAttribute("aria-invalid", "true");
      document.getElementById(`${control.id}-error`).textContent = detail.issue;
    }
    if (loose.length) formError.replaceChildren(...loose.map((issue) => h("p", { class: "form-error" }, issue)));
    panel.querySelector("[aria-invalid]")?.focus();
  };
  const saveMapping = async () => {
    const saved = await api.put(`/v1/imports/${bulk.import_id}/mapping`, { mapping: mapping() });
    Object.assign(bulk, saved);
    return saved;
  };
  save.addEventListener("click", async () => {
    clear();
    save.disabled = true;
    try {
      show(page, await saveMapping());
      notice("Mapping saved");
    } catch (error) {
      showProblems(error);
    }
    save.disabled = false;
  });
  dryRun.addEventListener("click", async () => {
    clear();
    dryRun.disabled = true;
    try {
      if (changed()) await saveMapping();
      show(page, await api.post(`/v1/imports/${bulk.import_id}/dry-run`));
    } catch (error) {
      showProblems(error);
      dryRun.disabled = false;
    }
  });
  panel.append(formError, h("div", { class: "buttons" }, save, dryRun));
  return panel;
}

// ---- counts, row errors, the failed rows ----------------------------------------------------------------
function report(title, counts, bulk, { dry = false } = {}) {
  if (!counts) return empty("No counts yet.");
  const tile = (label, value, tone) => h("div", { class: `tile${tone ? ` tile-${tone}` : ""}` }, h("dt", {}, label), h("dd", {}, value.toLocaleString("en-US")));
  const verb = dry ? "Would be " : "";
  const tiles = h(
    "dl",
    { class: "tiles" },
    tile("Rows read", counts.rows_done),
    tile(`${verb}created`.replace(/^./, (c) => c.toUpperCase()), counts.created),
    tile(`${verb}updated`.replace(/^./, (c) => c.toUpperCase()), counts.updated),
    tile(dry ? "Would stay unchanged" : "Unchanged", counts.unchanged),
    tile(dry ? "Would fail" : "Failed", counts.failed, counts.failed ? "red" : ""),
  );
  const errors = counts.errors || [];
  const parts = [h("h2", { id: `report-${dry ? "dry" : "done"}` }, title), tiles];
  if (errors.length) {
    parts.push(
      dataTable({
        caption: `Rows with errors${counts.errors_truncated ? ` (the first ${errors.length}; every one is in the failed-rows file)` : ""}`,
        rows: errors,
        columns: [
          { key: "row", label: "Row" },
          { key: "column", label: "Column", render: (e) => e.column || "—" },
          { key: "message", label: "Problem" },
        ],
      }),
    );
  } else if (counts.finished_at) {
    parts.push(h("p", {}, dry ? "Every row passed." : "Every row was imported."));
  }
  if (counts.failed && counts.finished_at && bulk.failed_rows_available) parts.push(failedRowsLink(bulk));
  return h("section", { class: "panel", "aria-labelledby": `report-${dry ? "dry" : "done"}` }, ...parts);
}

// The failed rows as CSV: the link the API signs is valid 15 minutes, so it is asked for on the click.
function failedRowsLink(bulk) {
  const status = h("span", { class: "muted", "aria-live": "polite" });
  const button = h("button", { type: "button", class: "link-button" }, "Download failed rows");
  button.addEventListener("click", async () => {
    status.textContent = "";
    try {
      const answer = await api.get(`/v1/imports/${bulk.import_id}/failed-rows`);
      if (!answer.url) {
        status.textContent = "No failed rows to download.";
        return;
      }
      window.location.assign(answer.url);
    } catch (error) {
      status.textContent = error.sentence || error.message;
    }
  });
  return h("p", {}, button, " ", h("span", { class: "hint" }, "(CSV: row number, errors, then the row as uploaded; fix it and import it again)"), " ", status);
}

function commitPanel(page, bulk) {
  const counts = bulk.dry_run || {};
  const passing = (counts.rows_done || 0) - (counts.failed || 0);
  const button = h("button", { type: "button", class: "primary" }, `Import ${passing.toLocaleString("en-US")} ${passing === 1 ? "row" : "rows"}`);
  button.disabled = passing <= 0;
  const slot = h("div", { role: "alert" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      show(page, await api.post(`/v1/imports/${bulk.import_id}/commit`));
    } catch (error) {
      slot.replaceChildren(problem(error));
      button.disabled = false;
    }
  });
  const stale = () => {
    button.disabled = true;
    slot.replaceChildren(h("p", { class: "note" }, "The mapping changed: run the dry run again before importing."));
  };
  const skipped = counts.failed ? ` The ${counts.failed.toLocaleString("en-US")} failing ${counts.failed === 1 ? "row is" : "rows are"} left out.` : "";
  const panel = h(
    "section",
    { class: "panel", "aria-labelledby": "commit-title" },
    h("h2", { id: "commit-title" }, "Import"),
    h("p", {}, `Writes what the dry run found: it reads exactly the file the dry run checked.${skipped}`),
    passing <= 0 ? h("p", { class: "muted" }, "No row passed the dry run: fix the file or the mapping first.") : null,
    button,
    slot,
  );
  panel.stale = stale;
  return panel;
}

// Health settings (directors and admins change them; everyone reads): a slider per dimension with a
// live total that blocks Save until it is exactly 100, presets, enable/disable, custom dimensions with
// an expression editor, the banding table, the smoothing window, a dry-run preview, and on save the
// recalculation's progress until it finishes; and the backtest (how well the saved model, or the draft,
// would have warned of the churns of the past year).
import { api, people } from "kw/api.js";
import { clearErrors, dataTable, field, h, notice, num, problem, select, showError, when } from "kw/widgets.js";

export async function render(main, ctx) {
  main.append(h("h1", {}, "Health settings"));
  const [model, presets, members] = await Promise.all([
    api.get("/v1/health/model"),
    api.get("/v1/health/presets").then((r) => r.items).catch(() => []),
    people(),
  ]);
  const editable = ctx.can("health_model", "configure");
  const state = {
    dimensions: model.dimensions.map((d) => ({ ...d })),
    smoothing_window: model.smoothing_window,
    bands: model.bands.map((b) => ({ ...b })),
    version: model.version,
  };
  const form = h("form", { class: "settings", "aria-describedby": "model-version" });
  const total = h("output", { class: "total", "aria-live": "polite", id: "weights-total" });
  const save = h("button", { type: "submit", class: "primary" }, "Save and recalculate");
  const dryRun = h("button", { type: "button" }, "Preview (dry run)");
  const preview = h("div", { class: "preview", "aria-live": "polite" });
  const progressHolder = h("div", { "aria-live": "polite" });
  const dimensionRows = h("div", { class: "dimensions" });

  const enabledTotal = () => state.dimensions.filter((d) => d.enabled).reduce((sum, d) => sum + Number(d.weight || 0), 0);
  const refreshTotal = () => {
    const sum = Math.round(enabledTotal() * 100) / 100;
    total.textContent = sum === 100 ? "Total 100 of 100" : `Total ${sum} of 100: the enabled weights must sum to exactly 100 to save`;
    total.className = `total ${sum === 100 ? "ok" : "bad"}`;
    save.disabled = !editable || sum !== 100;
    save.title = sum === 100 ? "" : `Weights sum to ${sum}; they must sum to 100`;
  };

  const drawDimensions = () => {
    dimensionRows.replaceChildren(
      ...state.dimensions.map((d, index) => {
        const label = d.label || d.key.charAt(0).toUpperCase() + d.key.slice(1).replace(/_/g, " ");
        const slider = h("input", { type: "range", min: 0, max: 100, step: 1, value: d.weight, disabled: !editable || !d.enabled });
        const exact = h("input", { type: "number", min: 0, max: 100, step: 1, value: d.weight, disabled: !editable || !d.enabled, class: "weight-number" });
        const enabled = h("input", { type: "checkbox", checked: d.enabled, disabled: !editable });
        const sync = (value) => {
          d.weight = Number(value);
          slider.value = value;
          exact.value = value;
          refreshTotal();
        };
        slider.addEventListener("input", () => sync(slider.value));
        exact.addEventListener("input", () => sync(exact.value));
        enabled.addEventListener("change", () => {
          d.enabled = enabled.checked;
          slider.disabled = exact.disabled = !editable || !d.enabled;
          refreshTotal();
        });
        const row = h(
          "fieldset",
          { class: "dimension" },
          h("legend", {}, label, d.expression ? h("span", { class: "tag" }, "custom") : ""),
          h("label", { class: "check" }, enabled, " Enabled"),
          field(`${label} weight`, slider, { name: `dimensions.${index}.weight` }),
          field(`${label} weight (exact)`, exact),
        );
        if (d.expression !== null && d.expression !== undefined) {
          const expression = h("textarea", { rows: 2, class: "code", disabled: !editable, spellcheck: false }, d.expression);
          expression.addEventListener("input", () => (d.expression = expression.value));
          row.append(field(`${label} expression`, expression, { name: `dimensions.${index}.expression`, hint: "e.g. = CLAMP(0, 100, (monthly_savings_usd / mrr) * 10)" }));
        }
        return row;
      }),
    );
    refreshTotal();
  };

  const body = () => ({
    dimensions: state.dimensions.map(({ key, weight, enabled, label, expression }) => ({ key, weight: Number(weight), enabled, label, expression })),
    smoothing_window: Number(state.smoothing_window),
    bands: state.bands.map(({ label, color, min, max }) => ({ label, color, min: Number(min), max: Number(max) })),
  });

  main.append(
    ...[
    h("p", { class: "muted", id: "model-version" }, modelLine(model, presets, members, ctx)),
    editable ? null : h("p", { class: "note" }, "You can read the health model; directors and admins change it."),
    ].filter(Boolean),
  );

  if (editable && presets.length) {
    const preset = select([["", "Choose a preset"], ...presets.map((p) => [p.name, p.label])], "");
    const apply = h("button", { type: "button" }, "Use preset weights");
    apply.addEventListener("click", () => {
      const chosen = presets.find((p) => p.name === preset.value);
      if (!chosen) return;
      const weights = Object.fromEntries(chosen.dimensions.map((d) => [d.key, d.weight]));
      const known = new Set(state.dimensions.map((d) => d.key));
      for (const d of state.dimensions) {
        d.enabled = d.key in weights;
        d.weight = weights[d.key] ?? 0;
      }
      for (const d of chosen.dimensions) if (!known.has(d.key)) state.dimensions.push({ key: d.key, weight: d.weight, enabled: true, label: null, expression: null });
      drawDimensions();
      notice(`${chosen.label} weights loaded; save to use them`);
    });
    form.append(h("div", { class: "filters" }, field("Preset", preset), h("div", { class: "field buttons" }, apply)));
  }

  form.append(h("h2", {}, "Dimensions and weights"), dimensionRows, total);

  if (editable) {
    const key = h("input", { type: "text", pattern: "[a-z][a-z0-9_]*", maxlength: 40 });
    const label = h("input", { type: "text", maxlength: 100 });
    const add = h("button", { type: "button" }, "Add custom dimension");
    add.addEventListener("click", () => {
      if (!key.value) return key.focus();
      state.dimensions.push({ key: key.value, label: label.value || null, weight: 0, enabled: true, expression: "= 50" });
      key.value = label.value = "";
      drawDimensions();
    });
    form.append(h("details", { class: "add-dimension" }, h("summary", {}, "Add a custom dimension"), field("Key", key, { hint: "lower case, e.g. roi" }), field("Label", label), add));
  }

  const windowSelect = select([["3", "3 days"], ["7", "7 days"], ["14", "14 days"], ["30", "30 days"]], String(model.smoothing_window), { disabled: !editable });
  // Why a portfolio can show "72.0 Neutral" beside bands that start Healthy at 70: the band follows the mean.
  const smoothing = (days) => `A customer's band follows the mean of its daily scores over the last ${days} days (its page shows it as “smoothed”): a score that has just crossed a band's edge keeps the old band until that mean crosses too.`;
  const smoothingField = field("Smoothing window", windowSelect, { name: "smoothing_window", hint: smoothing(model.smoothing_window) });
  windowSelect.addEventListener("change", () => {
    state.smoothing_window = windowSelect.value;
    smoothingField.querySelector(".hint").textContent = smoothing(windowSelect.value);
  });
  form.append(
    h("h2", {}, "Smoothing"),
    smoothingField,
    h("h2", {}, "Bands"),
    bandEditor(state, editable),
  );
  if (editable) form.append(h("div", { class: "buttons" }, dryRun, save), preview, progressHolder);
  main.append(form);
  if (editable) main.append(backtestSection(model, body));
  drawDimensions();

  dryRun.addEventListener("click", async () => {
    clearErrors(form);
    preview.replaceChildren(h("p", { class: "state" }, "Scoring every customer under this proposal…"));
    try {
      const r = await api.post("/v1/health/model/dry-run", body());
      const bands = [...new Set([...Object.keys(r.distribution_before), ...Object.keys(r.distribution_after)])];
      preview.replaceChildren(
        h("h2", {}, "Dry run: band distribution"),
        dataTable({
          caption: `${r.customers} customers; ${r.changed_count} would change band. Nothing saved.`,
          rows: bands.map((band) => ({ band, before: r.distribution_before[band] || 0, after: r.distribution_after[band] || 0 })),
          columns: [
            { key: "band", label: "Band" },
            { key: "before", label: "Before", numeric: true },
            { key: "after", label: "After", numeric: true },
          ],
        }),
      );
    } catch (error) {
      preview.replaceChildren();
      showError(form, error);
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (enabledTotal() !== 100) return refreshTotal();
    save.disabled = true;
    try {
      const saved = await api.put("/v1/health/model", { ...body(), expected_version: state.version });
      state.version = saved.version;
      main.querySelector("#model-version").textContent = `Model v${saved.version} saved ${when(saved.updated_at)}.`;
      notice(`Saved as version ${saved.version}`);
      if (saved.recalculation_job_id) await follow(saved.recalculation_job_id, progressHolder);
    } catch (error) {
      showError(form, error);
    }
    refreshTotal();
  });
}

// The banding table: each band's label and inclusive bounds; the API checks the whole table (0-100,
// no gap, no overlap) and its message shows beside the band it names, or under the table.
function bandEditor(state, editable) {
  if (!editable) {
    return dataTable({
      caption: "Score bands",
      rows: state.bands,
      columns: [
        { key: "label", label: "Band", render: (b) => h("span", { class: `badge badge-${b.color === "yellow" ? "amber" : b.color}` }, b.label) },
        { key: "min", label: "From", numeric: true },
        { key: "max", label: "To", numeric: true },
      ],
    });
  }
  const table = h("fieldset", { class: "bands", id: "bands-table", "data-field": "bands", tabindex: -1 }, h("legend", {}, "Score bands (inclusive, covering 0 to 100)"));
  state.bands.forEach((band, index) => {
    const input = (key, props) => {
      const control = h("input", { value: band[key], ...props });
      control.addEventListener("input", () => {
        band[key] = control.value;
        table.querySelector("#bands-table-error").textContent = ""; // the table's message is about the old values
      });
      return control;
    };
    table.append(
      h(
        "div",
        { class: "band-row" },
        h("span", { class: `badge badge-${band.color === "yellow" ? "amber" : band.color}` }, band.label),
        field(`${band.label} label`, input("label", { type: "text", maxlength: 40 }), { name: `bands.${index}.label` }),
        field(`${band.label} from`, input("min", { type: "number", min: 0, max: 100, step: 1, class: "weight-number" }), { name: `bands.${index}.min` }),
        field(`${band.label} to`, input("max", { type: "number", min: 0, max: 100, step: 1, class: "weight-number" }), { name: `bands.${index}.max` }),
      ),
    );
  });
  table.append(h("span", { class: "field-error", id: "bands-table-error", role: "alert" }));
  return table;
}

// The recalculation's progress bar until the job finishes. While the scorer still lists the customers
// (`listing` "running") their number is not known yet: `percent` is null and the bar indeterminate.
async function follow(jobId, holder) {
  const bar = h("progress", { max: 100, value: 0, id: "recalc-progress" });
  const label = h("span", { id: "recalc-status" }, "Recalculating…");
  holder.replaceChildren(h("h2", {}, "Recalculation"), h("label", { for: "recalc-progress" }, "Recalculation progress"), " ", bar, " ", label);
  for (;;) {
    let job;
    try {
      job = await api.get(`/v1/health/recalculations/${jobId}`);
    } catch (error) {
      holder.append(problem(error));
      return;
    }
    const settled = job.done + job.failed;
    if (job.percent == null) bar.removeAttribute("value");
    else bar.value = Math.round(job.percent);
    const leftOut = job.listing === "failed" ? " Listing the customers stopped early: the others were not rescored." : "";
    label.textContent = job.status === "finished"
      ? `Done: ${job.done} of ${job.total} customers rescored${job.failed ? `, ${job.failed} failed` : ""} with model v${job.model_version}.${leftOut}`
      : job.percent == null
        ? `${settled} of ${job.total} customers listed so far (listing…)`
        : `${settled} of ${job.total} customers (${num(job.percent, 0)} %)`;
    if (job.status === "finished") return;
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
}

// "Model v3 (preset Balanced), saved … by you." — the preset's label and a person, never their keys; the
// built-in model (version 0) was never saved, so it says so rather than "v0 … saved never".
function modelLine(model, presets, members, ctx) {
  const label = presets.find((p) => p.name === model.preset)?.label || model.preset;
  const preset = label ? ` (preset ${label})` : "";
  if (!model.version) return `The default model${preset}: not saved yet.`;
  const by = model.updated_by === ctx.me.user_id ? "you" : members[model.updated_by] || model.updated_by;
  return `Model v${model.version}${preset}, saved ${model.updated_at ? when(model.updated_at) : "—"}${by ? ` by ${by}` : ""}.`;
}

// ---- backtest (docs/health-model.md §16) -------------------------------------------------------------
const share = (value) => (value === null || value === undefined ? "—" : `${Math.round(value * 100)} %`);
const auc = (value) => (value === null || value === undefined ? "—" : Number(value).toFixed(2));

// Would this model have warned us? Replays the stored daily health before every outcome of the period
// under the saved model, or the saved model and the draft on this page side by side; the job's
// progress, then each model's figures in words and tables. The API's refusals show beside their field.
function backtestSection(model, draft) {
  const which = select([["current", "The saved model"], ["both", "Saved model and the draft above"]], "current");
  const from = h("input", { type: "date" });
  const to = h("input", { type: "date" });
  const run = h("button", { type: "submit", class: "primary" }, "Run backtest");
  const out = h("div", { class: "backtest-result", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "inline-form", "aria-label": "Run a backtest" },
    field("Model", which, { name: "dimensions" }),
    field("Outcomes from", from, { name: "period" }),
    field("Outcomes to", to, { name: "period.to" }),
    h("div", { class: "field buttons" }, run),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const request = which.value === "both" ? { ...draft() } : {};
    if (from.value || to.value) request.period = { from: from.value || null, to: to.value || null };
    run.disabled = true;
    out.replaceChildren(h("p", { class: "state" }, "Starting the backtest…"));
    try {
      const job = await api.post("/v1/health/model/backtest", request);
      await followBacktest(job, out, model);
    } catch (error) {
      out.replaceChildren();
      showError(form, error);
    }
    run.disabled = false;
  });
  return h(
    "section",
    { class: "panel backtest", "aria-labelledby": "backtest" },
    h("h2", { id: "backtest" }, "Backtest"),
    h(
      "p",
      { class: "muted" },
      "Would this model have warned you, and how early? The daily health stored before every churn, renewal, expansion and contraction of the period is scored again under the model; nothing is saved. Without dates, the outcomes of the last 365 days.",
    ),
    form,
    out,
  );
}

async function followBacktest(job, out, model) {
  const bar = h("progress", { max: 100, value: 0, id: "backtest-progress" });
  const label = h("span", { id: "backtest-status" });
  out.replaceChildren(h("label", { for: "backtest-progress" }, "Backtest progress"), " ", bar, " ", label);
  for (;;) {
    bar.value = Math.round(job.percent || 0);
    label.textContent = `${job.done} of ${job.total} customers with an outcome replayed (${num(job.percent || 0, 0)} %)`;
    if (job.status === "failed") {
      out.replaceChildren(problem(`The backtest failed: ${job.error || "a page of it could not be run"}. Start it again.`));
      return;
    }
    if (job.status === "finished") break;
    await new Promise((resolve) => setTimeout(resolve, 700));
    job = await api.get(`/v1/health/model/backtest/${encodeURIComponent(job.job_id)}`);
  }
  const reports = job.models.filter((m) => m.report);
  const name = (m) => (m.label === "current" ? (m.version ? `Saved model (v${m.version})` : "Saved model (the default)") : "Draft above");
  out.replaceChildren(
    ...[
      h("h3", {}, `Result: outcomes from ${job.period.from} to ${job.period.to}`),
      h("p", { class: "muted" }, `Finished ${when(job.finished_at)} · ${job.total} customers with an outcome.`),
      ...(job.total ? [] : [h("p", { class: "note" }, "No customer had an outcome (churn, renewal, expansion, contraction) in this period: there is nothing to judge the model by.")]),
      reports.length > 1 ? comparison(reports, (m) => (m.label === "current" ? `Saved${m.version ? ` v${m.version}` : ""}` : "Draft")) : null,
      ...reports.map((m) => backtestReport(m.report, name(m))),
    ].filter(Boolean), // a left-out (null) child would read "null"
  );
}

// The two models side by side on the figures to read first.
function comparison(reports, name) {
  const rows = [
    ["AUC (1.0 = churners always scored lower, 0.5 = a coin toss)", (r) => auc(r.roc_auc)],
    ["Churners in the at-risk band 30 days ahead (recall)", (r) => share(r.at_risk.recall)],
    ["At-risk customers who churned (precision)", (r) => share(r.at_risk.precision)],
    ["Churners missed (green or neutral 30 days ahead)", (r) => String(r.missed_count)],
  ];
  const table = dataTable({
    caption: "Side by side: same customers, same days, only the model differs",
    rows: rows.map(([label, value]) => ({ label, ...Object.fromEntries(reports.map((m, i) => [`m${i}`, value(m.report)])) })),
    columns: [{ key: "label", label: "Figure" }, ...reports.map((m, i) => ({ key: `m${i}`, label: name(m), numeric: true }))],
  });
  table.querySelector("table").classList.add("compact"); // a small fixed table: it stays a table on a phone
  return table;
}

function backtestReport(r, title) {
  const outcomes = Object.entries(r.outcomes).map(([kind, count]) => `${count} ${kind}`).join(", ");
  const atRisk = r.at_risk;
  return h(
    "div",
    { class: "backtest-report" },
    h("h3", {}, title),
    h("p", { class: "headline" }, h("strong", {}, r.headline)),
    h(
      "p",
      {},
      `Outcomes: ${outcomes || "none"}. `,
      r.roc_auc === null ? "No AUC: it needs churners and customers who stayed. " : `AUC ${auc(r.roc_auc)}: on a day picked from a churner and one from a customer who stayed, the churner scored lower ${share(r.roc_auc)} of the time. `,
      `${atRisk.flagged} customers were in ${atRisk.band} ${atRisk.days_before} days before their outcome and ${atRisk.flagged_churned} of them churned (precision ${share(atRisk.precision)}); `,
      `that warned of ${share(atRisk.recall)} of the churners (recall).`,
    ),
    dataTable({
      caption: "How well each band predicted churn (where customers stood 30 days before their outcome)",
      rows: r.bands,
      columns: [
        { key: "band", label: "Band", render: (b) => h("span", { class: `badge badge-${b.color === "yellow" ? "amber" : b.color}` }, b.band) },
        { key: "customers", label: "Customers", numeric: true },
        { key: "churned", label: "Churned", numeric: true },
        { key: "churn_rate", label: "Churn rate", numeric: true, render: (b) => share(b.churn_rate) },
        { key: "30d", label: "Churners here 30 d before", numeric: true, render: (b) => share(b.lead_time["30d"]) },
        { key: "60d", label: "60 d before", numeric: true, render: (b) => share(b.lead_time["60d"]) },
        { key: "90d", label: "90 d before", numeric: true, render: (b) => share(b.lead_time["90d"]) },
      ],
    }),
    r.unscored.customers ? h("p", { class: "muted" }, `${r.unscored.customers} customers had no score 30 days before their outcome (not scored yet then).`) : null,
    r.missed.length
      ? h(
          "details",
          { class: "missed" },
          h("summary", {}, `Churners it missed: ${r.missed_count} (green or neutral 30 days before they left)`),
          h("ul", {}, r.missed.slice(0, 10).map((m) => h("li", {}, h("strong", {}, m.name), ` churned ${m.churned_on}${m.churn_reason ? ` (${m.churn_reason.replace(/_/g, " ")})` : ""}: ${m.why}`))),
          r.missed.length > 10 ? h("p", { class: "muted" }, `…and ${r.missed_count - 10} more.`) : null,
        )
      : h("p", { class: "muted" }, "No churner was missed: none was green or neutral 30 days before leaving."),
  );
}

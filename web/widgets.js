// Shared widgets, written once: element builder, formats, score badge, days-left, states,
// table with sorting and "more", field with its error, chart, CSV download.
import { BASE } from "kw/api.js";

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

// A link to a console URL (real href: opens in a new tab, can be shared).
export const link = (path, ...children) => h("a", { href: BASE + path }, ...children);

// ---- formats ------------------------------------------------------------------------------------
const moneyFormat = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });
export const money = (value) => (value === null || value === undefined ? "—" : moneyFormat.format(value));
export const num = (value, digits = 1) => (value === null || value === undefined ? "N/A" : Number(value).toFixed(digits));
export const pct = (value) => (value === null || value === undefined ? "—" : `${Number(value).toFixed(1)} %`);
export const day = (value) => (value ? String(value).slice(0, 10) : "—");
export const when = (value) => (value ? String(value).replace("T", " ").slice(0, 16) + " UTC" : "—");

// ---- score and dates --------------------------------------------------------------------------------
const BAND_COLOURS = { green: "green", yellow: "amber", amber: "amber", orange: "amber", red: "red" };
export function bandColour(band, colour) {
  if (colour) return BAND_COLOURS[colour] || colour;
  const name = (band || "").toLowerCase();
  if (name.includes("risk") || name.includes("critical") || name.includes("poor")) return "red";
  if (name.includes("neutral") || name.includes("watch") || name.includes("fair")) return "amber";
  return name ? "green" : "none";
}

// The score with its band's colour AND its label: colour never carries the meaning alone.
export function scoreBadge(score, band, colour) {
  if (score === null || score === undefined) return h("span", { class: "badge badge-none" }, "Not scored");
  return h(
    "span",
    { class: `badge badge-${bandColour(band, colour)}` },
    h("strong", {}, num(score)),
    " ",
    band || "",
  );
}

export function change(delta) {
  if (delta === null || delta === undefined) return h("span", { class: "muted" }, "—");
  // Arrow and sign as text beside the colour: "▲ +4.2", "▼ −3.1", "± 0.0".
  const sign = delta > 0 ? "▲ +" : delta < 0 ? "▼ −" : "± ";
  const kind = delta > 0 ? "up" : delta < 0 ? "down" : "flat";
  const said = delta > 0 ? "up" : delta < 0 ? "down" : "unchanged,";
  return h("span", { class: `change change-${kind}`, title: `${said} ${num(Math.abs(delta))} points in 7 days` }, `${sign}${num(Math.abs(delta))}`);
}

// Days to a renewal: red under 30 or overdue, amber under 90, green beyond (docs/renewals.md).
export function daysLeftColour(days) {
  if (days === null || days === undefined) return "none";
  return days < 30 ? "red" : days < 90 ? "amber" : "green";
}
export function daysLeft(days, colour) {
  if (days === null || days === undefined) return h("span", { class: "muted" }, "—");
  const text = days < 0 ? `${-days} d overdue` : `${days} d left`;
  return h("span", { class: `days days-${colour || daysLeftColour(days)}` }, text);
}
export function daysUntil(isoDate, today = new Date()) {
  if (!isoDate) return null;
  const start = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  return Math.round((Date.parse(`${isoDate}T00:00:00Z`) - start) / 86400000);
}

// ---- states -----------------------------------------------------------------------------------------
export const loading = (what = "Loading…") => h("p", { class: "state", role: "status" }, what);
export const empty = (what) => h("p", { class: "state empty" }, what);
export function problem(error) {
  return h("p", { class: "problem", role: "alert" }, error?.sentence || error?.message || String(error));
}
export function notice(message) {
  let region = document.getElementById("notice");
  if (!region) {
    region = h("div", { id: "notice", class: "notice", role: "status", "aria-live": "polite" });
    document.body.append(region);
  }
  region.textContent = message;
  clearTimeout(region._timer);
  region._timer = setTimeout(() => (region.textContent = ""), 5000);
}

// A section whose content is loaded: loading state, then content, empty state or the API's refusal.
export async function section(title, load, { level = "h2", id } = {}) {
  const body = h("div", {}, loading());
  const el = h("section", { class: "panel", "aria-labelledby": id }, h(level, { id }, title), body);
  (async () => {
    try {
      const content = await load();
      body.replaceChildren(...[content].flat().filter(Boolean));
    } catch (error) {
      body.replaceChildren(problem(error));
    }
  })();
  return el;
}

// ---- table ----------------------------------------------------------------------------------------
// columns: {key, label, render(row), sort (a sort value for the API or true), numeric}
export function dataTable({ caption, columns, rows, sort, onSort, emptyText = "Nothing here yet." }) {
  const head = h(
    "tr",
    {},
    columns.map((column) => {
      const sortable = Boolean(column.sort && onSort);
      const key = typeof column.sort === "string" ? column.sort : column.key;
      const direction = sort === key ? "ascending" : sort === `-${key}` ? "descending" : null;
      return h(
        "th",
        { scope: "col", class: column.numeric ? "num" : "", "aria-sort": direction || (sortable ? "none" : null) },
        sortable
          ? h(
              "button",
              {
                type: "button",
                class: "sort",
                onClick: () => onSort(direction === "ascending" ? `-${key}` : key),
              },
              column.label,
              h("span", { "aria-hidden": "true" }, direction === "ascending" ? " ↑" : direction === "descending" ? " ↓" : " ↕"),
            )
          : column.label,
      );
    }),
  );
  const body = h("tbody");
  const table = h(
    "table",
    { class: "data" },
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, head),
    body,
  );
  // `first`: the new rows go on top (a list newest first).
  const addRows = (more, { first = false } = {}) => {
    for (const row of first ? [...more].reverse() : more) {
      body[first ? "prepend" : "append"](
        h(
          "tr",
          {},
          columns.map((column) =>
            h("td", { class: column.numeric ? "num" : "", "data-label": column.label }, column.render ? column.render(row) : row[column.key] ?? "—"),
          ),
        ),
      );
    }
  };
  addRows(rows);
  const wrap = h("div", { class: "table-wrap" }, table);
  if (!rows.length) wrap.append(empty(emptyText));
  wrap.addRows = (more, options) => {
    wrap.querySelector(".empty")?.remove();
    addRows(more, options);
  };
  return wrap;
}

// "More" under a paged table: follows the API's cursor.
export function moreButton(pager, onItems, label = "Show more") {
  const button = h("button", { type: "button", class: "more" }, label);
  const status = h("span", { class: "muted" });
  button.hidden = !pager.hasMore;
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = "Loading…";
    try {
      onItems(await pager.next());
      status.textContent = "";
    } catch (error) {
      status.textContent = error.sentence || error.message;
    }
    button.disabled = false;
    button.hidden = !pager.hasMore;
  });
  return h("p", { class: "more-row" }, button, " ", status);
}

// ---- forms -----------------------------------------------------------------------------------------
let fieldCounter = 0;
// A labelled control with a place for its error; name = the API field it sends.
export function field(label, control, { hint, name } = {}) {
  const id = control.id || `f${++fieldCounter}`;
  control.id = id;
  if (name) control.dataset.field = name;
  const error = h("span", { class: "field-error", id: `${id}-error`, role: "alert" });
  const hintEl = hint ? h("span", { class: "hint", id: `${id}-hint` }, hint) : null;
  control.setAttribute("aria-describedby", [hintEl ? `${id}-hint` : "", `${id}-error`].join(" ").trim());
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl, error);
}

// Where in an expression or rule the API found the problem, when it says so and the message does not.
function where(error) {
  const detail = error.details.find((d) => d && d.field) || {};
  if (/position|line|col/i.test(error.message)) return "";
  if (detail.line && detail.col) return ` (line ${detail.line}, column ${detail.col})`;
  if (detail.position !== undefined) return ` (at position ${detail.position})`;
  return "";
}

// Beside a field, the API's words for that field: its specific messages as they are, and for the generic
// "Invalid body: check <field>" the detail's issue, in words a person uses for an empty or unchosen field.
function fieldMessage(error, name) {
  const detail = error.details.find((d) => d && (d.field === name || String(d.field).startsWith(`${name}.`))) || {};
  if (!/^Invalid [a-z ]+: check /i.test(error.message) || !detail.issue) return error.message + where(error);
  if (detail.type === "missing" || (detail.type === "string_too_short" && /at least 1 character/.test(detail.issue))) return "Required.";
  if (detail.type === "literal_error" || detail.type === "enum") return "Choose one of the options.";
  return detail.issue.replace(/^Value error, /, "") + where(error);
}

export function clearErrors(form) {
  form.querySelectorAll(".field-error").forEach((el) => (el.textContent = ""));
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  form.querySelector(".form-error")?.replaceChildren();
}

// The API's 400 next to the field it names (details[].field); otherwise at the form's foot.
export function showError(form, error) {
  const name = error.field;
  const candidates = name ? [name, name.split(".")[0]] : [];
  for (const candidate of candidates) {
    const control = form.querySelector(`[data-field="${CSS.escape(candidate)}"]`);
    if (control) {
      control.setAttribute("aria-invalid", "true");
      const slot = document.getElementById(`${control.id}-error`);
      if (slot) slot.textContent = fieldMessage(error, candidate);
      control.focus();
      return;
    }
  }
  let slot = form.querySelector(".form-error");
  if (!slot) {
    slot = h("p", { class: "form-error", role: "alert" });
    form.append(slot);
  }
  slot.textContent = error.sentence || error.message;
}

export const select = (options, value, props = {}) =>
  h(
    "select",
    props,
    options.map(([optionValue, label]) => h("option", { value: optionValue, selected: optionValue === value }, label)),
  );

// ---- chart -----------------------------------------------------------------------------------------
// A small line chart (SVG, no library). points: [{date, value}] (null = N/A gap).
export function lineChart(points, { label, min = 0, max = 100, height = 160 } = {}) {
  const width = 640;
  const pad = { left: 34, right: 8, top: 10, bottom: 22 };
  const known = points.filter((p) => p.value !== null && p.value !== undefined);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  const last = known.at(-1);
  const summary = known.length
    ? `${label}: ${known.length} days from ${known[0].date} (${num(known[0].value)}) to ${last.date} (${num(last.value)}), low ${num(Math.min(...known.map((p) => p.value)))}, high ${num(Math.max(...known.map((p) => p.value)))}`
    : `${label}: no values yet`;
  svg.setAttribute("aria-label", summary);
  const x = (i) => pad.left + (i * (width - pad.left - pad.right)) / Math.max(1, points.length - 1);
  const y = (v) => pad.top + ((max - v) * (height - pad.top - pad.bottom)) / (max - min || 1);
  const add = (tag, attrs, text) => {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text) el.textContent = text;
    svg.append(el);
  };
  for (const tick of [min, (min + max) / 2, max]) {
    add("line", { x1: pad.left, x2: width - pad.right, y1: y(tick), y2: y(tick), class: "grid" });
    add("text", { x: pad.left - 4, y: y(tick) + 4, "text-anchor": "end", class: "axis" }, String(tick));
  }
  let path = "";
  points.forEach((p, i) => {
    if (p.value === null || p.value === undefined) return;
    const previous = points[i - 1];
    path += `${path && previous && previous.value !== null && previous.value !== undefined ? "L" : "M"}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`;
  });
  add("path", { d: path, class: "line" });
  if (points.length) {
    add("text", { x: pad.left, y: height - 4, class: "axis" }, points[0].date);
    add("text", { x: width - pad.right, y: height - 4, "text-anchor": "end", class: "axis" }, points.at(-1).date);
  }
  return h("figure", { class: "chart-figure" }, svg, h("figcaption", {}, summary));
}

// ---- CSV ---------------------------------------------------------------------------------------------
export function csvText(header, rows) {
  const cell = (value) => {
    const text = value === null || value === undefined ? "" : String(value);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [header, ...rows].map((row) => row.map(cell).join(",")).join("\r\n") + "\r\n";
}

export function download(filename, text, type = "text/csv;charset=utf-8") {
  const href = URL.createObjectURL(new Blob([text], { type }));
  const anchor = h("a", { href, download: filename, hidden: true });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(href), 1000);
}

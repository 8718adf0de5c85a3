// The page: every asset comes from the service itself (no CDN), no framework.
"use strict";

const COLOURS = ["#ffd166", "#8ecae6", "#b5e48c", "#f4a6c0", "#cdb4db", "#ffb4a2", "#a0c4ff"];
const colourOf = {};
let lastResult = null;
let lastText = "";

const $ = (id) => document.getElementById(id);

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("apikey").value;
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

function setStatus(message, isError) {
  $("status").textContent = message;
  $("status").className = isError ? "error" : "";
}

async function loadModel() {
  const health = await (await fetch("/health")).json();
  $("keyrow").hidden = !health.auth;
  const response = await fetch("/v1/model", { headers: headers() });
  if (!response.ok) {
    $("model").textContent = health.auth ? "enter the API key, then Tag" : "model unavailable";
    return;
  }
  showModel(await response.json());
}

function showModel(info) {
  $("model").textContent = info.name + " · " + info.labels.join(", ");
  const box = $("labels");
  box.querySelectorAll("label").forEach((x) => x.remove());
  info.labels.forEach((label, i) => {
    colourOf[label] = COLOURS[i % COLOURS.length];
    const item = document.createElement("label");
    const check = document.createElement("input");
    check.type = "checkbox";
    check.checked = true;
    check.value = label;
    item.append(check, " " + label);
    box.append(item);
  });
}

async function tag() {
  const text = $("note").value;
  const labels = [...$("labels").querySelectorAll("input:checked")].map((x) => x.value);
  const body = { text: text, labels: labels };
  if ($("language").value) body.language = $("language").value;
  setStatus("tagging…", false);
  const t0 = performance.now();
  const response = await fetch("/v1/tag", { method: "POST", headers: headers(), body: JSON.stringify(body) });
  const answer = await response.json();
  if (!response.ok) {
    const detail = Array.isArray(answer.detail) ? answer.detail.map((d) => d.loc.join(".") + ": " + d.msg).join("; ") : answer.detail;
    setStatus(response.status + ": " + detail, true);
    return;
  }
  if (!Object.keys(colourOf).length) await loadModel();
  lastResult = answer;
  lastText = text;
  render(text, answer.spans);
  setStatus(answer.spans.length + " entities in " + Math.round(performance.now() - t0) + " ms", false);
}

function render(text, spans) {
  $("result").hidden = false;
  const legend = $("legend");
  legend.replaceChildren();
  for (const label of Object.keys(colourOf)) {
    const item = document.createElement("span");
    item.style.setProperty("--c", colourOf[label]);
    item.textContent = label;
    legend.append(item);
  }
  // Highlight without nesting: a span overlapping an earlier one is listed in the table only.
  const out = $("highlighted");
  out.replaceChildren();
  let at = 0;
  for (const s of [...spans].sort((a, b) => a.start - b.start || b.end - a.end)) {
    if (s.start < at) continue;
    out.append(document.createTextNode(text.slice(at, s.start)));
    const mark = document.createElement("mark");
    mark.className = "entity";
    mark.dataset.label = s.label;
    mark.dataset.start = s.start;
    mark.dataset.end = s.end;
    mark.style.setProperty("--c", colourOf[s.label] || "#ddd");
    mark.title = s.label + (s.score == null ? "" : " " + s.score.toFixed(3));
    const tagName = document.createElement("span");
    tagName.className = "tag";
    tagName.textContent = s.label;
    mark.append(document.createTextNode(text.slice(s.start, s.end)), tagName);
    out.append(mark);
    at = s.end;
  }
  out.append(document.createTextNode(text.slice(at)));
  const rows = $("spans").querySelector("tbody");
  rows.replaceChildren();
  for (const s of spans) {
    const tr = document.createElement("tr");
    for (const [value, num] of [[s.start, true], [s.end, true], [s.label, false], [s.text, false],
                                [s.score == null ? "" : s.score.toFixed(4), true]]) {
      const td = document.createElement("td");
      td.textContent = value;
      if (num) td.className = "num";
      tr.append(td);
    }
    rows.append(tr);
  }
}

function download(name, content, type) {
  const url = URL.createObjectURL(new Blob([content], { type: type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function tsvCell(x) {
  return String(x).replace(/[\t\r\n]/g, " ");
}

$("download-tsv").addEventListener("click", () => {
  if (!lastResult) return;
  // The MultiClinAI TSV columns, as `clinicalner predict --output x.tsv` writes them.
  const lines = ["filename\tlabel\tstart_span\tend_span\ttext\tscore"];
  for (const s of lastResult.spans) {
    lines.push([lastResult.id, s.label, s.start, s.end, tsvCell(s.text), s.score == null ? "" : s.score].join("\t"));
  }
  download(lastResult.id + ".tsv", lines.join("\n") + "\n", "text/tab-separated-values");
});

$("download-jsonl").addEventListener("click", () => {
  if (!lastResult) return;
  const doc = { id: lastResult.id, text: lastText, spans: lastResult.spans };
  download(lastResult.id + ".jsonl", JSON.stringify(doc) + "\n", "application/x-ndjson");
});

const note = $("note");
note.addEventListener("dragover", (e) => { e.preventDefault(); note.classList.add("drop"); });
note.addEventListener("dragleave", () => note.classList.remove("drop"));
note.addEventListener("drop", async (e) => {
  e.preventDefault();
  note.classList.remove("drop");
  const file = e.dataTransfer.files[0];
  if (file) note.value = await file.text();
});

$("tag").addEventListener("click", () => tag().catch((err) => setStatus(String(err), true)));
$("apikey").addEventListener("change", () => loadModel());
loadModel().catch((err) => setStatus(String(err), true));

// The accessibility audit the end-to-end tests run on each main screen, in the real webview.
// It checks what the product promises a care worker holding a tablet at arm's length, and a
// person using a screen reader:
// - every control is a touch target at least 44 x 44 CSS px (a checkbox or radio counts by
//   the label around it, which takes the tap);
// - every control, image and form field has a name a screen reader can read (its text, its
//   label, aria-label or aria-labelledby, alt for an image; a placeholder is not a name);
// - all visible text meets WCAG AA contrast against what is behind it: 4.5:1, or 3:1 for large
//   text (24 px, or 18.66 px bold). Disabled controls are exempt, as WCAG exempts them.
// - the page says its language.
//
// Before the screen, it audits a probe it puts on the page with a known fault of each kind, and
// reports what it found there: a check that finds nothing on the probe is broken, and the test
// fails. Returns { checked: {...}, faults: [...], probe: [...] }.

const MIN_TARGET = 44;
const CONTROLS =
  "button, a[href], input:not([type=hidden]), select, textarea, summary, [role=button], [tabindex]:not([tabindex='-1'])";

function shown(el) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) return false;
  for (let e = el; e; e = e.parentElement) {
    const s = getComputedStyle(e);
    if (s.display === "none" || s.visibility === "hidden") return false;
  }
  return true;
}

function describe(el) {
  const test = el.closest("[data-test]");
  const where = test ? `[data-test='${test.getAttribute("data-test")}']` : "";
  const text = (el.textContent || el.getAttribute("aria-label") || "").trim().slice(0, 40);
  return `<${el.tagName.toLowerCase()}${el.className ? "." + String(el.className).trim().replace(/\s+/g, ".") : ""}> ${where} "${text}"`;
}

function nameOf(el) {
  const aria = (el.getAttribute("aria-label") || "").trim();
  if (aria) return aria;
  const by = el.getAttribute("aria-labelledby");
  if (by) {
    const t = by
      .split(/\s+/)
      .map((id) => (document.getElementById(id) || {}).textContent || "")
      .join(" ")
      .trim();
    if (t) return t;
  }
  if (el.tagName === "IMG") return (el.getAttribute("alt") || "").trim();
  if (el.labels && el.labels.length) {
    const t = Array.from(el.labels)
      .map((l) => l.textContent)
      .join(" ")
      .trim();
    if (t) return t;
  }
  if (el.tagName === "INPUT" && ["button", "submit", "reset"].includes(el.type)) return el.value.trim();
  if (!["INPUT", "SELECT", "TEXTAREA"].includes(el.tagName)) {
    const t = (el.textContent || "").trim();
    if (t) return t;
    const img = el.querySelector("img[alt]");
    if (img && img.alt.trim()) return img.alt.trim();
  }
  return (el.getAttribute("title") || "").trim();
}

function rgba(css) {
  const m = css.match(/rgba?\(([^)]+)\)/);
  if (!m) return null;
  const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
  return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
}

function over(top, under) {
  const a = top.a;
  return {
    r: top.r * a + under.r * (1 - a),
    g: top.g * a + under.g * (1 - a),
    b: top.b * a + under.b * (1 - a),
    a: 1,
  };
}

// What is painted behind an element's text: its own and its ancestors' backgrounds, composed
// from the page's white up. Each element's opacity fades what it paints into what lies behind.
function backdrop(el) {
  const chain = [];
  for (let e = el; e; e = e.parentElement) chain.unshift(e);
  let bg = { r: 255, g: 255, b: 255, a: 1 };
  for (const e of chain) {
    const s = getComputedStyle(e);
    const c = rgba(s.backgroundColor);
    if (c && c.a > 0) bg = over(c, bg);
  }
  return bg;
}

function opacity(el) {
  let o = 1;
  for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity);
  return o;
}

function luminance(c) {
  const f = (v) => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
}

function ratio(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

function audit(root, skip) {
  const faults = [];
  const checked = { targets: 0, names: 0, texts: 0, images: 0 };
  const outside = (el) => !skip || !skip.contains(el);

  for (const el of root.querySelectorAll(CONTROLS)) {
    if (!outside(el) || !shown(el)) continue;
    const label = el.closest("label");
    const target = (el.type === "checkbox" || el.type === "radio") && label ? label : el;
    const r = target.getBoundingClientRect();
    checked.targets++;
    if (r.width < MIN_TARGET - 0.5 || r.height < MIN_TARGET - 0.5) {
      faults.push(`touch target ${Math.round(r.width)}x${Math.round(r.height)} px: ${describe(el)}`);
    }
    checked.names++;
    if (!nameOf(el)) faults.push(`no name for a screen reader: ${describe(el)}`);
  }

  for (const img of root.querySelectorAll("img")) {
    if (!outside(img) || !shown(img)) continue;
    checked.images++;
    if (!img.hasAttribute("alt")) faults.push(`image without alt: ${describe(img)}`);
  }

  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || seen.has(el) || !n.textContent.trim()) continue;
    seen.add(el);
    if (!outside(el) || el.closest("svg, script, style, option") || !shown(el)) continue;
    if (el.closest(":disabled, [aria-disabled=true]")) continue;
    const s = getComputedStyle(el);
    const fg = rgba(s.color);
    if (!fg) continue;
    const bg = backdrop(el);
    const painted = over({ ...fg, a: fg.a * opacity(el) }, bg);
    const size = parseFloat(s.fontSize);
    const bold = Number(s.fontWeight) >= 700 || s.fontWeight === "bold";
    const need = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;
    const got = ratio(painted, bg);
    checked.texts++;
    if (got + 1e-6 < need) {
      faults.push(`contrast ${got.toFixed(2)}:1 (needs ${need}:1): ${describe(el)}`);
    }
  }
  return { checked, faults };
}

const probe = document.createElement("div");
probe.id = "accessibility-probe";
probe.style.cssText = "position:fixed;left:0;top:0;background:#ffffff;z-index:100000";
probe.innerHTML =
  '<button style="min-height:0;height:20px;width:20px;padding:0;border:0"></button>' +
  '<span style="color:#b0b0b0">faint text</span><input type="text" placeholder="not a name">' +
  '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" style="width:8px;height:8px">';
document.body.appendChild(probe);
const onProbe = audit(probe, null).faults;
probe.remove();
const page = audit(document.body, null);
const lang = document.documentElement.getAttribute("lang");
if (!lang) page.faults.push("the page does not say its language (<html lang>)");
return { checked: page.checked, faults: page.faults, probe: onProbe };

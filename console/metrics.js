// Prometheus text exposition format (what GET /metrics returns): parsing, and the figures the
// console derives from two samples (rates from counter deltas, quantiles from histogram deltas).

// Returns a Metrics object: samples grouped by metric name.
export function parseMetrics(text) {
  const byName = new Map();
  for (const rawLine of text.split("\n")) {
    const line = rawLine.trim();
    if (!line || line.startsWith("#")) continue;
    const sample = parseLine(line);
    if (!sample) continue;
    let list = byName.get(sample.name);
    if (!list) byName.set(sample.name, (list = []));
    list.push(sample);
  }
  return new Metrics(byName);
}

function parseLine(line) {
  let i = 0;
  while (i < line.length && /[a-zA-Z0-9_:]/.test(line[i])) i += 1;
  const name = line.slice(0, i);
  if (!name) return null;
  const labels = {};
  if (line[i] === "{") {
    i += 1;
    for (;;) {
      while (line[i] === " " || line[i] === ",") i += 1;
      if (line[i] === "}") {
        i += 1;
        break;
      }
      const start = i;
      while (i < line.length && /[a-zA-Z0-9_]/.test(line[i])) i += 1;
      const key = line.slice(start, i);
      if (!key || line[i] !== "=" || line[i + 1] !== '"') return null;
      i += 2;
      let value = "";
      while (i < line.length && line[i] !== '"') {
        if (line[i] === "\\" && i + 1 < line.length) {
          const next = line[i + 1];
          value += next === "n" ? "\n" : next;
          i += 2;
        } else {
          value += line[i];
          i += 1;
        }
      }
      if (line[i] !== '"') return null;
      i += 1;
      labels[key] = value;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  const value = parseValue(rest[0]);
  if (value === null) return null;
  return { name, labels, value };
}

function parseValue(s) {
  if (s === undefined) return null;
  if (s === "+Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  if (s === "NaN") return NaN;
  const v = Number(s);
  return Number.isNaN(v) ? null : v;
}

export class Metrics {
  constructor(byName) {
    this.byName = byName;
  }

  has(name) {
    return this.byName.has(name);
  }

  samples(name, filter) {
    const list = this.byName.get(name) ?? [];
    return filter ? list.filter((s) => filter(s.labels)) : list;
  }

  // The value of a metric without labels (or the first sample matching `filter`); null if absent.
  value(name, filter) {
    const list = this.samples(name, filter);
    return list.length ? list[0].value : null;
  }

  sum(name, filter) {
    const list = this.samples(name, filter);
    if (!list.length) return null;
    return list.reduce((acc, s) => acc + s.value, 0);
  }

  // Histogram buckets of `name` (without the _bucket suffix) summed over the label sets that
  // pass `filter`: a Map upper bound -> cumulative count, sorted by bound.
  buckets(name, filter) {
    const acc = new Map();
    for (const s of this.samples(`${name}_bucket`, filter)) {
      const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
      if (Number.isNaN(le)) continue;
      acc.set(le, (acc.get(le) ?? 0) + s.value);
    }
    return new Map([...acc.entries()].sort((a, b) => a[0] - b[0]));
  }
}

// The q-quantile of the observations between two cumulative bucket maps (older, newer), as
// Prometheus' histogram_quantile does it: linear interpolation inside the bucket. null when no
// observation happened in between.
export function quantileBetween(older, newer, q) {
  const deltas = [];
  for (const [le, count] of newer) {
    const before = older?.get(le) ?? 0;
    deltas.push([le, Math.max(0, count - before)]);
  }
  if (!deltas.length) return null;
  const total = deltas[deltas.length - 1][1];
  if (!(total > 0)) return null;
  const rank = q * total;
  let lowerLe = 0;
  let lowerCount = 0;
  for (const [le, cum] of deltas) {
    if (cum >= rank) {
      if (le === Infinity) return lowerLe;
      if (cum === lowerCount) return le;
      return lowerLe + ((le - lowerLe) * (rank - lowerCount)) / (cum - lowerCount);
    }
    lowerLe = le;
    lowerCount = cum;
  }
  return lowerLe;
}

// A counter's increase between two values (a restart resets counters: count from zero then).
export function increase(older, newer) {
  if (newer === null || newer === undefined) return null;
  if (older === null || older === undefined) return null;
  return newer >= older ? newer - older : newer;
}

// Shared by the Node.js benchmarks: the seeded data they generate and their percentiles.

// A seeded uniform generator in [0, 1) (mulberry32).
export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// n × dim float32 vectors from a seeded Gaussian mixture: many clusters with anisotropic spread
// (not uniform noise, which no index handles like real embeddings).
export function gaussianMixture(n, dim, seed, clusters = 256) {
  const r = rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const centers = Array.from({ length: clusters }, () => Float32Array.from({ length: dim }, () => normal() * 4));
  const spreads = Array.from({ length: clusters }, () => Float32Array.from({ length: dim }, () => 0.2 + r() * 1.5));
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * clusters);
    for (let d = 0; d < dim; d++) out[i * dim + d] = centers[c][d] + normal() * spreads[c][d];
  }
  return out;
}

// The p-th percentile of an ascending array.
export const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

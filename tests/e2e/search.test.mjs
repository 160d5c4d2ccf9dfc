// The Search API (Chroma's hosted-only POST …/collections/{id}/search) through the official npm
// client 3.5.0 (collection.search with Search, Knn, Rrf, GroupBy/MinK/MaxK, K, select) and
// Chroma's client-side BM25 embedding function (@chroma-core/chroma-bm25), every answer checked
// against an exact reference computed here from the records the test wrote (no hard-coded result
// lists):
// - dense $knn (l2 and cosine): scores are the collection's distances, ascending, the knn limit
//   and the search's limit/offset page them, select returns documents/embeddings/metadata/scores
//   and the `select` list sorted as Chroma sorts it; a constant added shifts the scores, a knn
//   with a default alone keeps its own list, a constant alone ranks nothing;
// - sparse $knn on a metadata key with a sparse vector index: score = 1 − q·d, only records
//   sharing a dimension with the query, pre-filtered by where / #id $in; sparse vectors read back
//   as stored (u32 indices up to 2^32−1);
// - BM25 (schema key with bm25: true, vectors filled in by the client from documents): the
//   server weighs the query by idf = ln(1 + (N − df + 0.5)/(df + 0.5)) over all live records,
//   a filter does not change N or df, a query about a labelled topic ranks that topic's
//   documents first, and idf follows deletes and a document update;
// - RRF of dense + BM25 ranks (intersection without defaults, union / one-sided with defaults);
// - group_by with MinK on #score and MaxK on a metadata key, select of metadata fields (metadata
//   restricted to them, null when none is present), limit/offset after grouping;
// - filters (metadata, #document $contains, #id $in, $and/$or), a search without rank returns
//   insertion order with the position in the page as score;
// - several searches in one call answer as each alone;
// - errors: sparse knn on a key without a sparse index, dense query of the wrong dimension,
//   invalid sparse query vectors, group_by without rank (400), unknown rank operator (422);
// - durability: after a restart on the same data directory, and through a second instance on
//   the same ClickHouse, the same searches give the same results (sparse vectors survive
//   ClickHouse, the sparse indexes and BM25 document frequencies are rebuilt on load).
//
// Run from tests/e2e:  node --test search.test.mjs
// Skipped when CHROMA_URL is set: local Chroma answers 501 to search (only hosted Chroma serves it).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ChromaClient,
  ChromaClientError,
  GroupBy,
  K,
  Knn,
  MaxK,
  MinK,
  Rrf,
  Schema,
  Search,
  SparseVectorIndexConfig,
  Val,
  VectorIndexConfig,
} from "chromadb";
import { ChromaBm25EmbeddingFunction } from "@chroma-core/chroma-bm25";
import { ServerProcess, request } from "./harness.mjs";
import { assertErrorResponse, collectionsPath, makeRandom, makeUniq } from "./testlib.mjs";

const SKIP = process.env.CHROMA_URL ? "CHROMA_URL is set: local Chroma does not serve search (501)" : undefined;
const COLLS = collectionsPath();
const { uniq } = makeUniq();
const f32 = Math.fround;
const DIM = 8;
const N_MIXED = 300;
const N_COSINE = 100;
const N_ZIPF = 200;

// ---------------------------------------------------------------------------------------------
// The records as the test wrote them: the reference's state.

class Model {
  constructor() {
    this.recs = []; // {id, seq, embedding, document, metadata, vec (bm25), live}
    this.byId = new Map();
  }
  add(rec) {
    rec.seq = this.recs.length;
    rec.live = true;
    this.recs.push(rec);
    this.byId.set(rec.id, rec);
  }
  live() {
    return this.recs.filter((r) => r.live);
  }
}

// Records with a score from scoreOf (null = not a candidate), ascending, ties by insertion order.
function ranked(recs, scoreOf) {
  const out = [];
  for (const r of recs) {
    const s = scoreOf(r);
    if (s !== null && s !== undefined) out.push({ id: r.id, seq: r.seq, score: s });
  }
  out.sort((a, b) => a.score - b.score || a.seq - b.seq);
  return out;
}

const l2 = (a, b) => a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0);
function cosineDistance(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return 1 - dot / (Math.sqrt(na) * Math.sqrt(nb));
}

// Σ q_i d_i over shared indices (weight(i) scales the query), null when no index is shared.
function sparseDot(q, d, weight = () => 1) {
  if (!d) return null;
  const at = new Map(d.indices.map((ix, j) => [ix, d.values[j]]));
  let dot = 0;
  let shared = false;
  q.indices.forEach((ix, j) => {
    if (at.has(ix)) {
      shared = true;
      dot += f32(q.values[j]) * weight(ix) * at.get(ix);
    }
  });
  return shared ? dot : null;
}

const closeTo = (got, want, rel) => Math.abs(got - want) <= rel * Math.max(1, Math.abs(want));

/**
 * Asserts that rows (one payload of result.rows()) are the page [offset, offset+limit) of the
 * reference ranking `ranked`: same length, the same ids in order — a different id at a position
 * only when its reference score equals the expected one within `rel` (a near tie that f32
 * arithmetic may order either way) — and, with `scores`, each score within `rel` of the reference.
 */
function assertPage(rows, ranking, { offset = 0, limit = Infinity, rel = 1e-5, scores = true, what }) {
  const want = ranking.slice(offset, offset + limit);
  const scoreOf = new Map(ranking.map((e) => [e.id, e.score]));
  const show = () =>
    `\n got:  ${rows.map((r) => `${r.id}:${r.score}`).join(" ")}\n want: ${want.map((e) => `${e.id}:${e.score}`).join(" ")}`;
  assert.equal(rows.length, want.length, `${what}: number of rows${show()}`);
  assert.equal(new Set(rows.map((r) => r.id)).size, rows.length, `${what}: duplicate ids${show()}`);
  rows.forEach((row, i) => {
    const w = want[i];
    if (row.id !== w.id) {
      assert.ok(scoreOf.has(row.id) && closeTo(scoreOf.get(row.id), w.score, rel),
        `${what}: position ${offset + i} is ${row.id} (reference score ${scoreOf.get(row.id)}), expected ${w.id} (${w.score})${show()}`);
    }
    if (scores) {
      assert.equal(typeof row.score, "number", `${what}: score of ${row.id}${show()}`);
      assert.ok(closeTo(row.score, w.score, rel), `${what}: score at ${offset + i} (${row.id}) ${row.score}, expected ${w.score}${show()}`);
    }
  });
}

// Metadata as the client reads it back, sparse vector values compared as f32.
function normMeta(m) {
  if (m === null || m === undefined) return m ?? null;
  const out = {};
  for (const [k, v] of Object.entries(m)) {
    out[k] = v && typeof v === "object" && Array.isArray(v.indices) ? { indices: v.indices, values: v.values.map(f32) } : v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Data

const rnd = makeRandom(20261207);
const randomVector = () => Array.from({ length: DIM }, () => f32(rnd.rng() * 2 - 1));

// A sparse vector: indices from 0..39 and from just below 2^32 (20 values), values in (0.05, 1.05].
function randomSparse(nnzLo, nnzHi) {
  const n = rnd.rrange(nnzLo, nnzHi);
  const set = new Set();
  while (set.size < n) set.add(rnd.rng() < 0.6 ? rnd.rint(40) : 4294967295 - rnd.rint(20));
  const indices = [...set].sort((a, b) => a - b);
  return { indices, values: indices.map(() => f32(0.05 + rnd.rng())) };
}

const WORDS = ["alpha", "beta", "gamma", "delta"];
function mixedRecord(i) {
  const metadata = { n: i, even: i % 2 === 0 };
  if (i % 7 !== 0) metadata.cat = `c${i % 5}`;
  if (i % 3 === 0) metadata.tag = `t${i % 4}`;
  if (i % 6 !== 5) metadata.sv = randomSparse(2, 8);
  if (i % 10 === 0) metadata.sv_raw = randomSparse(2, 4);
  return {
    id: `r${String(i).padStart(3, "0")}`,
    embedding: randomVector(),
    document: `record ${i} ${WORDS[rnd.rint(WORDS.length)]}`,
    metadata,
  };
}

// English-like pseudo-words (consonant-vowel syllables), drawn with a Zipf distribution.
function zipfCorpus() {
  const C = "bdfgklmnprstvz", V = "aeiou";
  const vocab = [];
  const seen = new Set();
  while (vocab.length < 400) {
    let w = "";
    const syl = rnd.rrange(2, 3);
    for (let s = 0; s < syl; s++) w += C[rnd.rint(C.length)] + V[rnd.rint(V.length)];
    if (!seen.has(w)) {
      seen.add(w);
      vocab.push(w);
    }
  }
  const cum = [];
  let total = 0;
  vocab.forEach((_, r) => cum.push((total += 1 / (r + 1) ** 1.07)));
  const draw = () => {
    const x = rnd.rng() * total;
    let lo = 0, hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return vocab[lo];
  };
  const STOP = ["the", "of", "and", "a", "to", "is"];
  const docs = [];
  for (let d = 0; d < N_ZIPF; d++) {
    const len = rnd.rrange(4, 40);
    const words = [];
    for (let j = 0; j < len; j++) {
      if (rnd.rng() < 0.2) words.push(STOP[rnd.rint(STOP.length)]);
      words.push(draw() + (rnd.rng() < 0.08 ? "," : ""));
    }
    words[0] = words[0][0].toUpperCase() + words[0].slice(1);
    docs.push(`${words.join(" ")}.`);
  }
  return { vocab, docs };
}

// Hand-written documents about three distinct topics (the "labels").
const TOPICS = {
  astro: [
    "The telescope captured a distant galaxy and a glowing nebula.",
    "Astronomers use a radio telescope to map the spiral arms of our galaxy.",
    "A nebula is a cloud of gas where stars form inside a galaxy.",
  ],
  cook: [
    "Knead the flour and yeast into dough, then bake the bread in a hot oven.",
    "This bread recipe needs flour, water, salt and a very hot oven.",
    "Sourdough bread rises slowly; bake it in a cast iron oven with flour dusted on top.",
  ],
  sail: [
    "The sailboat tacked against the wind as the crew trimmed the mainsail.",
    "Sailing upwind requires trimming the mainsail and reading the wind.",
    "The crew reefed the mainsail when the wind rose near the harbour.",
  ],
};
const TOPIC_QUERIES = {
  astro: "galaxy telescope nebula observations",
  cook: "bread recipe with flour baked in an oven",
  sail: "crew trimming the mainsail in strong wind",
};

// ---------------------------------------------------------------------------------------------

describe("search API", { skip: SKIP }, () => {
  let server, client;
  let mixed, cosine, docs; // collections
  const M = new Model(); // mixed: dense l2 + sparse "sv"
  const C = new Model(); // cosine
  const D = new Model(); // BM25 documents
  const ef = new ChromaBm25EmbeddingFunction();
  let corpus;

  // ---- references
  const denseRanking = (model, q, { allowed = () => true, space = "l2" } = {}) =>
    ranked(model.live().filter(allowed), (r) => (space === "l2" ? l2(r.embedding, q) : cosineDistance(r.embedding, q)));
  const sparseRanking = (q, allowed = () => true) =>
    ranked(M.live().filter(allowed), (r) => {
      const dot = sparseDot(q, r.metadata.sv);
      return dot === null ? null : 1 - dot;
    });
  // BM25: idf over every live record (with or without a vector); the filter only restricts candidates.
  function bm25Stats() {
    const live = D.live();
    const df = new Map();
    for (const r of live) for (const ix of r.vec?.indices ?? []) df.set(ix, (df.get(ix) ?? 0) + 1);
    return { N: live.length, df };
  }
  const idf = ({ N, df }, ix) => {
    const n = Math.min(df.get(ix) ?? 0, N);
    return Math.log1p((N - n + 0.5) / (n + 0.5));
  };
  async function bm25Ranking(text, allowed = () => true) {
    const [q] = await ef.generate([text]);
    const stats = bm25Stats();
    return ranked(D.live().filter(allowed), (r) => {
      const dot = sparseDot(q, r.vec, (ix) => idf(stats, ix));
      return dot === null ? null : 1 - dot;
    });
  }
  // RRF: −Σ w/(k + rank), rank = 0-based position in each knn's top-`limit` list (or its default).
  function rrfRanking(lists, { k = 60, defaults = [] } = {}) {
    const pos = lists.map((l) => new Map(l.map((e, i) => [e.id, i])));
    const ids = new Set();
    for (const l of lists) for (const e of l) ids.add(e.id);
    const candidates = [...ids].filter((id) => pos.every((p, i) => p.has(id) || defaults[i] !== undefined));
    // f32 arithmetic as the server's: each term 1/(rank + k), summed, negated.
    return ranked(candidates.map((id) => D.byId.get(id)), (r) => {
      let sum = 0;
      pos.forEach((p, i) => {
        const rank = p.has(r.id) ? p.get(r.id) : defaults[i];
        sum = f32(sum + f32(1 / f32(rank + k)));
      });
      return f32(-sum);
    });
  }

  before(async () => {
    server = await new ServerProcess().start();
    client = new ChromaClient({ host: server.host, port: server.port });

    // mixed: 300 × 8-d (l2), sparse vectors under "sv" (indexed, no BM25) and "sv_raw" (not indexed).
    mixed = await client.createCollection({
      name: uniq("mixed"),
      schema: new Schema().createIndex(new SparseVectorIndexConfig({ bm25: false }), "sv"),
      embeddingFunction: null,
    });
    for (let i = 0; i < N_MIXED; i++) M.add(mixedRecord(i));
    for (let i = 0; i < N_MIXED; i += 100) {
      const batch = M.recs.slice(i, i + 100);
      await mixed.add({
        ids: batch.map((r) => r.id),
        embeddings: batch.map((r) => r.embedding),
        documents: batch.map((r) => r.document),
        metadatas: batch.map((r) => r.metadata),
      });
    }

    cosine = await client.createCollection({
      name: uniq("cosine"),
      schema: new Schema().createIndex(new VectorIndexConfig({ space: "cosine" })),
      embeddingFunction: null,
    });
    for (let i = 0; i < N_COSINE; i++) C.add({ id: `c${i}`, embedding: randomVector(), document: null, metadata: { n: i } });
    await cosine.add({ ids: C.recs.map((r) => r.id), embeddings: C.recs.map((r) => r.embedding), metadatas: C.recs.map((r) => r.metadata) });

    // docs: BM25 on "bm25" from #document, filled in by the client; dense vectors for RRF.
    docs = await client.createCollection({
      name: uniq("bm25"),
      schema: new Schema().createIndex(
        new SparseVectorIndexConfig({ embeddingFunction: ef, sourceKey: K.DOCUMENT, bm25: true }),
        "bm25",
      ),
      embeddingFunction: null,
    });
    corpus = zipfCorpus();
    corpus.docs.forEach((text, i) => D.add({ id: `z${String(i).padStart(3, "0")}`, embedding: randomVector(), document: text, metadata: { group: `g${i % 3}` } }));
    for (const [topic, texts] of Object.entries(TOPICS)) {
      texts.forEach((text, i) => D.add({ id: `${topic}-${i}`, embedding: randomVector(), document: text, metadata: { group: "topic", topic } }));
    }
    // Only stopwords: an empty BM25 vector.
    D.add({ id: "stopwords", embedding: randomVector(), document: "The and of it, is it?", metadata: { group: "g0" } });
    const withDocs = D.recs.slice();
    const vecs = await ef.generate(withDocs.map((r) => r.document));
    withDocs.forEach((r, i) => (r.vec = { indices: vecs[i].indices, values: vecs[i].values.map(f32) }));
    await docs.add({
      ids: withDocs.map((r) => r.id),
      embeddings: withDocs.map((r) => r.embedding),
      documents: withDocs.map((r) => r.document),
      metadatas: withDocs.map((r) => r.metadata),
    });
    // Records without a document (no BM25 vector): they count in N all the same.
    const noDoc = Array.from({ length: 5 }, (_, i) => ({ id: `nodoc${i}`, embedding: randomVector(), document: null, metadata: { group: "nodoc" } }));
    noDoc.forEach((r) => D.add(r));
    await docs.add({ ids: noDoc.map((r) => r.id), embeddings: noDoc.map((r) => r.embedding), metadatas: noDoc.map((r) => r.metadata) });
  });

  after(async () => server?.cleanup());

  test("the client filled in the BM25 vectors and reads them back; the schema keeps the embedding function", async () => {
    const got = await docs.get({ ids: ["z000", "astro-0", "stopwords", "nodoc0"], include: ["metadatas"] });
    const want = { z000: D.byId.get("z000"), "astro-0": D.byId.get("astro-0"), stopwords: D.byId.get("stopwords") };
    got.ids.forEach((id, i) => {
      if (id === "nodoc0") assert.equal(got.metadatas[i].bm25, undefined);
      else assert.deepEqual(normMeta(got.metadatas[i]).bm25, want[id].vec, id);
    });
    assert.deepEqual(D.byId.get("stopwords").vec, { indices: [], values: [] });
    const again = await client.getCollection({ name: docs.name, embeddingFunction: null });
    const sparse = again.schema.keys.bm25.sparseVector.sparseVectorIndex;
    assert.equal(sparse.enabled, true);
    assert.equal(sparse.config.bm25, true);
    assert.equal(sparse.config.sourceKey, "#document");
    assert.equal(sparse.config.embeddingFunction?.name, "chroma_bm25");
  });

  test("dense knn (l2): squared distances ascending, knn limit, limit/offset paging, select", async () => {
    for (let t = 0; t < 3; t++) {
      const q = randomVector();
      const ref = denseRanking(M, q).slice(0, 50);
      const res = await mixed.search(
        new Search().rank(Knn({ query: q, limit: 50 })).limit(10).select(K.SCORE, K.DOCUMENT, K.METADATA, K.EMBEDDING, "cat"),
      );
      assert.deepEqual(res.select, [["#document", "#embedding", "#metadata", "#score", "cat"]]);
      const rows = res.rows()[0];
      assertPage(rows, ref, { limit: 10, what: `dense query ${t}` });
      for (const row of rows) {
        const rec = M.byId.get(row.id);
        assert.equal(row.document, rec.document);
        assert.deepEqual(row.embedding.map(f32), rec.embedding);
        assert.deepEqual(normMeta(row.metadata), rec.metadata, `metadata of ${row.id}`);
      }
      for (const [offset, limit] of [[20, 10], [45, 10], [0, 100]]) {
        const page = await mixed.search(new Search().rank(Knn({ query: q, limit: 50 })).limit({ offset, limit }).select(K.SCORE));
        assertPage(page.rows()[0], ref, { offset, limit, what: `dense query ${t} page ${offset}+${limit}` });
        assert.equal(page.documents[0], null);
        assert.equal(page.embeddings[0], null);
        assert.equal(page.metadatas[0], null);
      }
    }
    // The knn limit bounds the candidates; without select only ids come back.
    const q = randomVector();
    const res = await mixed.search(new Search().rank(Knn({ query: q, limit: 5 })).limit(10));
    assert.deepEqual(res.ids[0], denseRanking(M, q).slice(0, 5).map((e) => e.id));
    assert.deepEqual(res.select, [[]]);
    // Expressions over the knn: + a constant shifts the scores; a knn with a default alone keeps
    // its own list; a constant alone ranks nothing.
    const ref5 = denseRanking(M, q).slice(0, 5);
    const shifted = await mixed.search(new Search().rank(Knn({ query: q, limit: 5 }).add(Val(1))).select(K.SCORE));
    assertPage(shifted.rows()[0], ref5.map((e) => ({ ...e, score: e.score + 1 })), { what: "knn + 1" });
    const withDefault = await mixed.search(new Search().rank(Knn({ query: q, limit: 5, default: 10 })).select(K.SCORE));
    assertPage(withDefault.rows()[0], ref5, { what: "knn with default" });
    assert.deepEqual((await mixed.search(new Search().rank(Val(3)))).ids, [[]]);
  });

  test("dense knn (cosine): scores are 1 − cos, filtered before ranking", async () => {
    for (let t = 0; t < 3; t++) {
      const q = randomVector();
      const res = await cosine.search(new Search().rank(Knn({ query: q, limit: 20 })).limit(20).select(K.SCORE));
      assertPage(res.rows()[0], denseRanking(C, q, { space: "cosine" }), { limit: 20, what: `cosine ${t}` });
      const filtered = await cosine.search(
        new Search().where(K("n").gte(60)).rank(Knn({ query: q, limit: 15 })).limit(30).select(K.SCORE),
      );
      const ref = denseRanking(C, q, { space: "cosine", allowed: (r) => r.metadata.n >= 60 }).slice(0, 15);
      assertPage(filtered.rows()[0], ref, { what: `cosine ${t} n >= 60` });
    }
  });

  test("sparse knn: 1 − q·d over records sharing a dimension, pre-filtered by where and #id", async () => {
    for (let t = 0; t < 4; t++) {
      const q = randomSparse(3, 5);
      const ref = sparseRanking(q);
      assert.ok(ref.length > 25, `query ${t} has ${ref.length} candidates`);
      const res = await mixed.search(new Search().rank(Knn({ query: q, key: "sv", limit: 25 })).select(K.SCORE, "sv"));
      const rows = res.rows()[0];
      assertPage(rows, ref.slice(0, 25), { what: `sparse ${t}` });
      for (const row of rows) assert.deepEqual(normMeta(row.metadata), { sv: M.byId.get(row.id).metadata.sv }, `sv of ${row.id}`);

      // A knn limit above the candidates: exactly the records sharing a dimension.
      const all = await mixed.search(new Search().rank(Knn({ query: q, key: "sv", limit: 300 })).limit(300).select(K.SCORE));
      assertPage(all.rows()[0], ref, { what: `sparse ${t} all candidates` });

      const byCat = (r) => r.metadata.cat === "c2";
      const f = await mixed.search(new Search().where(K("cat").eq("c2")).rank(Knn({ query: q, key: "sv", limit: 10 })).select(K.SCORE));
      assertPage(f.rows()[0], sparseRanking(q, byCat).slice(0, 10), { what: `sparse ${t} cat = c2` });

      const ids = new Set(M.recs.filter(() => rnd.rng() < 0.3).map((r) => r.id));
      const g = await mixed.search(new Search().where(K.ID.isIn([...ids])).rank(Knn({ query: q, key: "sv", limit: 12 })).select(K.SCORE));
      assertPage(g.rows()[0], sparseRanking(q, (r) => ids.has(r.id)).slice(0, 12), { what: `sparse ${t} #id $in` });
    }
    // No record holds these dimensions: nothing, with empty selected columns.
    const none = await mixed.search(new Search().rank(Knn({ query: { indices: [500, 501], values: [1, 1] }, key: "sv" })).select(K.SCORE, K.DOCUMENT));
    assert.deepEqual(none.ids, [[]]);
    assert.deepEqual(none.scores, [[]]);
    assert.deepEqual(none.documents, [[]]);
  });

  test("BM25: idf-weighted scores, labelled topics first, filters keep N and df, idf follows deletes and updates", async () => {
    const check = async (label) => {
      for (const [topic, text] of Object.entries(TOPIC_QUERIES)) {
        const ref = await bm25Ranking(text);
        const res = await docs.search(new Search().rank(Knn({ query: text, key: "bm25", limit: 20 })).limit(20).select(K.SCORE, K.DOCUMENT));
        const rows = res.rows()[0];
        assertPage(rows, ref.slice(0, 20), { rel: 1e-4, what: `${label}: BM25 "${text}"` });
        // The labelled part: the live documents of the topic (and only those) lead.
        const topicIds = D.live().filter((r) => r.metadata.topic === topic || r.relabelled === topic).map((r) => r.id);
        assert.deepEqual(new Set(rows.slice(0, topicIds.length).map((r) => r.id)), new Set(topicIds), `${label}: "${text}" leads with its topic`);
        for (const row of rows) assert.equal(row.document, D.byId.get(row.id).document);
      }
      // Common words: many candidates; the idf decides between them.
      const common = `${corpus.vocab[0]} ${corpus.vocab[1]} ${corpus.vocab[5]} ${corpus.vocab[20]}`;
      const ref = await bm25Ranking(common);
      assert.ok(ref.length > 60, `${ref.length} candidates for the common words`);
      const res = await docs.search(new Search().rank(Knn({ query: common, key: "bm25", limit: 60 })).limit({ offset: 10, limit: 40 }).select(K.SCORE));
      assertPage(res.rows()[0], ref.slice(0, 60), { offset: 10, limit: 40, rel: 1e-4, what: `${label}: BM25 common words` });
      // A filter restricts the candidates, not N or df.
      const g1 = (r) => r.metadata.group === "g1";
      const f = await docs.search(new Search().where(K("group").eq("g1")).rank(Knn({ query: common, key: "bm25", limit: 15 })).select(K.SCORE));
      assertPage(f.rows()[0], (await bm25Ranking(common, g1)).slice(0, 15), { rel: 1e-4, what: `${label}: BM25 common words, group g1` });
    };
    await check("as added");

    // Delete a topic document, some Zipf documents and a record without document; rewrite one
    // Zipf document into the astronomy topic (the client re-embeds it into metadata.bm25).
    const gone = ["astro-1", "nodoc2", ...Array.from({ length: 15 }, (_, i) => `z${String(5 + i).padStart(3, "0")}`)];
    await docs.delete({ ids: gone });
    for (const id of gone) D.byId.get(id).live = false;
    const z = D.byId.get("z030");
    z.document = "A new galaxy survey: the telescope found a faint nebula near the galaxy core.";
    z.relabelled = "astro";
    const [v] = await ef.generate([z.document]);
    z.vec = { indices: v.indices, values: v.values.map(f32) };
    await docs.update({ ids: ["z030"], documents: [z.document], embeddings: [z.embedding] });
    assert.equal(await docs.count(), D.live().length);
    await check("after deletes and an update");
  });

  test("RRF of dense and BM25 ranks: intersection without defaults, union and one-sided with them", async () => {
    const L = 40;
    for (let t = 0; t < 3; t++) {
      const qd = randomVector();
      const text = `${corpus.vocab[t]} ${corpus.vocab[t + 3]} ${corpus.vocab[t + 10]} galaxy bread`;
      const dense = denseRanking(D, qd).slice(0, L);
      const sparse = (await bm25Ranking(text)).slice(0, L);
      const knns = (dDefault, sDefault) => [
        Knn({ query: qd, returnRank: true, limit: L, default: dDefault }),
        Knn({ query: text, key: "bm25", returnRank: true, limit: L, default: sDefault }),
      ];
      const run = async (dDefault, sDefault) =>
        (await docs.search(new Search().rank(Rrf({ ranks: knns(dDefault, sDefault), k: 60 })).limit(100).select(K.SCORE))).rows()[0];

      const both = rrfRanking([dense, sparse]);
      assert.ok(both.length >= 3, `query ${t}: the two lists share ${both.length} records`);
      assertPage(await run(), both, { rel: 1e-6, what: `RRF ${t} (intersection)` });
      assertPage(await run(1000, 1000), rrfRanking([dense, sparse], { defaults: [1000, 1000] }), { rel: 1e-6, what: `RRF ${t} (union)` });
      // Only the dense knn has a default: the BM25 list's records, dense rank or 1000.
      const oneSided = rrfRanking([dense, sparse], { defaults: [1000, undefined] });
      assert.deepEqual(new Set(oneSided.map((e) => e.id)), new Set(sparse.map((e) => e.id)));
      assertPage(await run(1000, undefined), oneSided, { rel: 1e-6, what: `RRF ${t} (dense default only)` });
    }
  });

  test("group_by: MinK on #score and MaxK on a metadata key per category, select of fields, paging", async () => {
    const q = randomVector();
    const top = denseRanking(M, q).slice(0, 100);
    // Chroma's group-by: per group (missing key = its own group) sort by the aggregate keys
    // (stable), keep k, then all survivors by score.
    const grouped = (k, orderKey) => {
      const groups = new Map();
      for (const e of top) {
        const key = M.byId.get(e.id).metadata.cat ?? null;
        if (!groups.has(key)) groups.set(key, []);
        groups.get(key).push(e);
      }
      const kept = [];
      for (const members of groups.values()) kept.push(...members.slice().sort(orderKey).slice(0, k));
      return kept.sort((a, b) => a.score - b.score || a.seq - b.seq);
    };
    const byScore = grouped(2, (a, b) => a.score - b.score);
    assert.equal(byScore.length, 12, "6 groups (c0..c4 and no cat) of 2");
    const search = (aggregate, limit) =>
      new Search().rank(Knn({ query: q, limit: 100 })).groupBy(new GroupBy([K("cat")], aggregate)).limit(limit).select(K.SCORE, "cat", "tag");
    const res = await mixed.search(search(new MinK([K.SCORE], 2), { limit: 100 }));
    assertPage(res.rows()[0], byScore, { what: "MinK #score k=2" });
    // Metadata restricted to the selected fields; null when the record has neither.
    res.ids[0].forEach((id, i) => {
      const md = M.byId.get(id).metadata;
      const want = Object.fromEntries(["cat", "tag"].filter((k) => k in md).map((k) => [k, md[k]]));
      assert.deepEqual(res.metadatas[0][i], Object.keys(want).length ? want : null, `metadata of ${id}`);
    });
    const paged = await mixed.search(search(new MinK([K.SCORE], 2), { limit: 5, offset: 3 }));
    assertPage(paged.rows()[0], byScore, { offset: 3, limit: 5, what: "MinK #score k=2, page 3+5" });

    // MaxK on "n": the largest n of each category among the knn's 100.
    const byN = grouped(1, (a, b) => M.byId.get(b.id).metadata.n - M.byId.get(a.id).metadata.n);
    const maxN = await mixed.search(search(new MaxK([K("n")], 1), { limit: 100 }));
    assertPage(maxN.rows()[0], byN, { what: "MaxK n k=1" });

    // Select of fields without rank: a page where some records have neither field.
    const plain = await mixed.search(new Search().limit(30).select("cat", "tag"));
    assert.deepEqual(plain.select, [["cat", "tag"]]);
    assert.deepEqual(plain.ids[0], M.recs.slice(0, 30).map((r) => r.id));
    let nulls = 0;
    plain.ids[0].forEach((id, i) => {
      const md = M.byId.get(id).metadata;
      const want = Object.fromEntries(["cat", "tag"].filter((k) => k in md).map((k) => [k, md[k]]));
      if (!Object.keys(want).length) nulls++;
      assert.deepEqual(plain.metadatas[0][i], Object.keys(want).length ? want : null, `metadata of ${id}`);
    });
    assert.ok(nulls > 0);
  });

  test("filters: metadata, #document $contains, #id $in, $and/$or; without rank insertion order, score = position in page", async () => {
    const pick = (where, pred) => ({ where, pred });
    const idSet = new Set(M.recs.filter((_, i) => i % 4 === 1).map((r) => r.id));
    const cases = [
      pick(K("cat").eq("c1").and(K("n").gte(50)), (r) => r.metadata.cat === "c1" && r.metadata.n >= 50),
      pick(K.DOCUMENT.contains("gamma"), (r) => r.document.includes("gamma")),
      pick(K.ID.isIn([...idSet]), (r) => idSet.has(r.id)),
      pick(K("tag").eq("t1").or(K("n").lt(10)), (r) => r.metadata.tag === "t1" || r.metadata.n < 10),
      pick(K("even").eq(false).and(K.DOCUMENT.contains("alpha")), (r) => !r.metadata.even && r.document.includes("alpha")),
    ];
    for (const [c, { where, pred }] of cases.entries()) {
      const match = M.live().filter(pred);
      assert.ok(match.length > 15, `case ${c}: ${match.length} matches`);
      const all = await mixed.search(new Search().where(where).select(K.SCORE, K.DOCUMENT));
      assert.deepEqual(all.ids[0], match.map((r) => r.id), `case ${c}: every match in insertion order`);
      assert.deepEqual(all.scores[0], match.map((_, i) => i));
      assert.deepEqual(all.documents[0], match.map((r) => r.document));
      const page = await mixed.search(new Search().where(where).limit({ offset: 5, limit: 7 }).select(K.SCORE));
      assert.deepEqual(page.ids[0], match.slice(5, 12).map((r) => r.id), `case ${c}: page 5+7`);
      assert.deepEqual(page.scores[0], [0, 1, 2, 3, 4, 5, 6], `case ${c}: scores are positions in the page`);
      // With a rank the filter applies before the knn.
      const q = randomVector();
      const withRank = await mixed.search(new Search().where(where).rank(Knn({ query: q, limit: 10 })).select(K.SCORE));
      assertPage(withRank.rows()[0], denseRanking(M, q, { allowed: pred }).slice(0, 10), { what: `case ${c}: ranked` });
    }
  });

  test("several searches in one call answer as each alone", async () => {
    const q = randomVector();
    const sq = randomSparse(3, 5);
    const searches = [
      new Search().rank(Knn({ query: q, limit: 30 })).limit({ offset: 5, limit: 10 }).select(K.SCORE, K.EMBEDDING),
      new Search().rank(Knn({ query: sq, key: "sv", limit: 20 })).select(K.SCORE, "sv"),
      new Search().where(K("cat").eq("c3")).limit(8).select(K.DOCUMENT, K.SCORE),
      new Search().rank(Knn({ query: q, limit: 60 })).groupBy(new GroupBy([K("cat")], new MinK([K.SCORE], 1))).select(K.SCORE, "cat"),
    ];
    const together = await mixed.search(searches);
    assert.equal(together.ids.length, searches.length);
    assert.deepEqual(together.select, [["#embedding", "#score"], ["#score", "sv"], ["#document", "#score"], ["#score", "cat"]]);
    for (const [i, s] of searches.entries()) {
      const alone = await mixed.search(s);
      assert.deepEqual(together.rows()[i], alone.rows()[0], `search ${i}`);
    }
    assertPage(together.rows()[0], denseRanking(M, q).slice(0, 30), { offset: 5, limit: 10, what: "payload 0" });
    assertPage(together.rows()[1], sparseRanking(sq).slice(0, 20), { what: "payload 1" });
    assert.deepEqual(together.ids[2], M.live().filter((r) => r.metadata.cat === "c3").slice(0, 8).map((r) => r.id));
    assert.equal(together.ids[3].length, 6);
  });

  test("errors: unindexed sparse key, wrong dense dimension, invalid sparse query, group_by without rank (400); unknown rank operator (422)", async () => {
    const path = `${COLLS}/${mixed.id}/search`;
    const body = (rank, extra = {}) => ({ searches: [{ limit: { offset: 0 }, select: { keys: [] }, rank, ...extra }] });
    const sparse = { indices: [1, 2], values: [1, 1] };

    // Sparse knn on a key without a sparse index (it holds sparse vectors all the same), and on #embedding.
    const unindexed = /^Cannot filter using metadata key 'sv_raw' with type 'SparseVector' because indexing is disabled/;
    await assert.rejects(mixed.search(new Search().rank(Knn({ query: sparse, key: "sv_raw" }))), (err) => {
      assert.ok(err instanceof ChromaClientError, `${err?.constructor?.name}: ${err?.message}`);
      assert.match(err.message, /sv_raw/);
      return true;
    });
    assertErrorResponse(await request(server.url, "POST", path, { body: body({ $knn: { query: sparse, key: "sv_raw" } }) }), 400, "InvalidArgumentError", unindexed);
    // Even next to a valid leaf.
    const combined = { $sum: [{ $knn: { query: sparse, key: "sv" } }, { $knn: { query: sparse, key: "sv_raw" } }] };
    assertErrorResponse(await request(server.url, "POST", path, { body: body(combined) }), 400, "InvalidArgumentError", unindexed);
    assertErrorResponse(await request(server.url, "POST", path, { body: body({ $knn: { query: sparse, key: "#embedding" } }) }), 400, "InvalidArgumentError",
      /^Cannot filter using metadata key '#embedding' with type 'SparseVector' because indexing is disabled/);

    // A dense query of the wrong dimension.
    await assert.rejects(mixed.search(new Search().rank(Knn({ query: [1, 2, 3] }))), (err) => {
      assert.ok(err instanceof ChromaClientError, `${err?.constructor?.name}: ${err?.message}`);
      assert.match(err.message, /dimension of 8, got 3/);
      return true;
    });
    assertErrorResponse(await request(server.url, "POST", path, { body: body({ $knn: { query: [1, 2, 3] } }) }), 400, "InvalidArgumentError",
      /^Collection expecting embedding with dimension of 8, got 3$/);

    // Invalid sparse query vectors (the second payload is named).
    await assert.rejects(
      mixed.search([new Search(), new Search().rank(Knn({ query: { indices: [5, 2], values: [1, 1] }, key: "sv" }))]),
      (err) => {
        assert.ok(err instanceof ChromaClientError, `${err?.constructor?.name}: ${err?.message}`);
        assert.match(err.message, /searches\[1\]\.rank: Invalid sparse vector in KNN query: Sparse vector indices must be sorted in strictly ascending order \(no duplicates\)/);
        return true;
      },
    );
    assertErrorResponse(await request(server.url, "POST", path, { body: body({ $knn: { query: { indices: [3, 3], values: [1, 1] }, key: "sv" } }) }), 400, "InvalidArgumentError",
      /^Validation error: searches\[0\]\.rank: Invalid sparse vector in KNN query: Sparse vector indices must be sorted in strictly ascending order \(no duplicates\)/);
    assertErrorResponse(await request(server.url, "POST", path, { body: body({ $knn: { query: { indices: [1, 2], values: [1] }, key: "sv" } }) }), 400, "InvalidArgumentError",
      /^Validation error: searches\[0\]\.rank: Invalid sparse vector in KNN query: Sparse vector indices, values, and tokens \(when present\) must have the same length/);

    // group_by without rank.
    const groupOnly = { searches: [{ limit: { offset: 0 }, select: { keys: [] }, group_by: { keys: ["cat"], aggregate: { $min_k: { keys: ["#score"], k: 1 } } } }] };
    assertErrorResponse(await request(server.url, "POST", path, { body: groupOnly }), 400, "InvalidArgumentError", /group_by requires rank expression to be specified/);

    // An unknown rank operator: a deserialization error (422).
    const unknown = await request(server.url, "POST", path, { body: body({ $foo: [{ $val: 1 }] }) });
    assert.equal(unknown.status, 422, unknown.text);
    assert.match(unknown.json?.message ?? unknown.text, /^Failed to deserialize the JSON body into the target type: .*unknown variant `\$foo`/s);
  });

  test("durability: after a restart and through a second instance on the same ClickHouse, the same answers", async () => {
    const qd = randomVector();
    const sq = randomSparse(3, 5);
    const text = TOPIC_QUERIES.astro + ` ${corpus.vocab[0]} ${corpus.vocab[2]}`;
    const probes = [
      { coll: () => mixed, search: new Search().rank(Knn({ query: qd, limit: 40 })).limit(40).selectAll(), ref: () => denseRanking(M, qd).slice(0, 40) },
      { coll: () => mixed, search: new Search().rank(Knn({ query: sq, key: "sv", limit: 300 })).limit(300).select(K.SCORE, "sv"), ref: () => sparseRanking(sq) },
      { coll: () => docs, search: new Search().rank(Knn({ query: text, key: "bm25", limit: 50 })).limit(50).select(K.SCORE, K.METADATA), ref: async () => (await bm25Ranking(text)).slice(0, 50), rel: 1e-4 },
      {
        coll: () => docs,
        search: new Search().rank(Rrf({ ranks: [Knn({ query: qd, returnRank: true, limit: 60, default: 500 }), Knn({ query: text, key: "bm25", returnRank: true, limit: 60, default: 500 })] })).limit(200).select(K.SCORE),
        ref: async () => rrfRanking([denseRanking(D, qd).slice(0, 60), (await bm25Ranking(text)).slice(0, 60)], { defaults: [500, 500] }),
        rel: 1e-6,
      },
    ];
    const answer = async () => {
      const out = [];
      for (const [i, p] of probes.entries()) {
        const rows = (await p.coll().search(p.search)).rows()[0];
        assertPage(rows, await p.ref(), { rel: p.rel ?? 1e-5, what: `probe ${i}` });
        out.push(rows);
      }
      return out;
    };
    const first = await answer();
    // The stored records read back whole (sparse vectors included).
    for (const row of first[0]) {
      assert.deepEqual(normMeta(row.metadata), M.byId.get(row.id).metadata);
      assert.deepEqual(row.embedding.map(f32), M.byId.get(row.id).embedding);
    }
    for (const row of first[2]) {
      const rec = D.byId.get(row.id);
      assert.deepEqual(normMeta(row.metadata), { ...rec.metadata, bm25: rec.vec });
    }

    assert.equal(await server.stop(), 0);
    await server.start();
    client = new ChromaClient({ host: server.host, port: server.port });
    mixed = await client.getCollection({ name: mixed.name, embeddingFunction: null });
    docs = await client.getCollection({ name: docs.name, embeddingFunction: null });
    assert.equal(docs.schema.keys.bm25.sparseVector.sparseVectorIndex.config.embeddingFunction?.name, "chroma_bm25");
    const restarted = await answer();
    assert.deepEqual(restarted, first, "the same answers after the restart");

    // A second instance on the same ClickHouse (catalog in ClickHouse: it only reads here).
    const config = readFileSync(join(server.dataDir, "clickhouse", "config.xml"), "utf8");
    const chUrl = `http://127.0.0.1:${/<http_port>(\d+)<\/http_port>/.exec(config)[1]}`;
    const second = new ServerProcess({ args: ["--clickhouse-url", chUrl] });
    try {
      await second.start();
      const other = new ChromaClient({ host: second.host, port: second.port });
      mixed = await other.getCollection({ name: mixed.name, embeddingFunction: null });
      docs = await other.getCollection({ name: docs.name, embeddingFunction: null });
      const viaSecond = await answer();
      assert.deepEqual(viaSecond, first, "the same answers through the second instance");
    } finally {
      await second.cleanup();
    }
  });
});

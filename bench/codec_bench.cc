// JSON speed of the record codec (benchmark 5 of the speed issue, its in-process part):
//   - encoding a get response with embeddings (EncodeGetResponse), against writing the same
//     floats with std::to_chars alone (the floor of any shortest-float JSON writer);
//   - decoding add bodies (DecodeRecordWrite), float arrays and base64, against a plain
//     simdjson DOM parse of the same bytes (what any decoder built on simdjson pays first).
// Targets: encode >= 200 MB/s, decode >= 400 MB/s (MB = 10^6 bytes of JSON). Each measure is
// the best of --reps passes, baselines interleaved with the measured code. Encoding is measured
// as the server does it (into a buffer from the response pool, given back after the response
// is written: its pages are reused) and into a fresh buffer each time (the first big response).
//
// Add bodies hold --batch records each (default 100, the batches the npm client sends in the
// end-to-end benchmark; 0 = one body of all n). Linked with jemalloc as the server is.
//
// Run: build/codec_bench [--n 10000] [--dim 128] [--batch 100] [--reps 5] [--out FILE] [--smoke]
// --out also writes the results as JSON; --smoke: n = 500, 2 reps (whatever --n and --reps say).
#include <simdjson.h>

#include <charconv>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include "codec/record_codec.h"
#include "common/buffer_pool.h"

namespace chromahouse::bench {
namespace {

struct Options {
  size_t n = 10000;
  size_t dim = 128;
  int reps = 5;
  size_t batch = 100;  // records per add body (0 = one body of all n)
  std::string out;
  bool smoke = false;
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr, "codec_bench: %s\nRun with --help for more information.\n", why);
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  CLI::App app{"codec_bench: JSON speed of the record codec", "codec_bench"};
  FlagDefaults(app);
  app.add_option("--n", o.n, "records encoded and decoded");
  app.add_option("--dim", o.dim, "embedding dimension");
  app.add_option("--batch", o.batch, "records per add body (0 = one body of all n)");
  app.add_option("--reps", o.reps, "passes of each measure, the best one kept");
  app.add_option("--out", o.out, "also write the results to this JSON file");
  app.add_flag("--smoke", o.smoke, "quick run: n = 500, 2 reps, whatever --n and --reps say");
  ParseFlags(app, argc, argv);
  if (o.smoke) {
    o.n = 500;
    o.reps = 2;
  }
  if (o.n < 1 || o.dim < 1 || o.reps < 1) Usage("n, dim and reps must be >= 1");
  return o;
}

std::string Base64(const float* v, size_t n) {
  static const char* kChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* bytes = reinterpret_cast<const unsigned char*>(v);
  const size_t len = n * sizeof(float);
  std::string out;
  out.reserve((len + 2) / 3 * 4);
  for (size_t i = 0; i < len; i += 3) {
    uint32_t triple = uint32_t(bytes[i]) << 16;
    if (i + 1 < len) triple |= uint32_t(bytes[i + 1]) << 8;
    if (i + 2 < len) triple |= bytes[i + 2];
    out.push_back(kChars[(triple >> 18) & 63]);
    out.push_back(kChars[(triple >> 12) & 63]);
    out.push_back(i + 1 < len ? kChars[(triple >> 6) & 63] : '=');
    out.push_back(i + 2 < len ? kChars[triple & 63] : '=');
  }
  return out;
}

// Best (shortest) time of `reps` runs of `fn`.
template <typename Fn>
double Best(int reps, Fn&& fn) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    auto t0 = Clock::now();
    fn();
    best = std::min(best, Seconds(t0, Clock::now()));
  }
  return best;
}

struct Row {
  std::string measure, ours, baseline, ratio, target, verdict;
};

}  // namespace
}  // namespace chromahouse::bench

int main(int argc, char** argv) {
  using namespace chromahouse;
  using namespace chromahouse::bench;
  const Options o = Parse(argc, argv);
  std::printf("# codec_bench: n=%zu dim=%zu reps=%d; load average at start: %s\n", o.n, o.dim,
              o.reps, LoadAverage().c_str());

  // Embeddings as a model would produce them: normally distributed, full float32 precision.
  std::mt19937_64 rng(42);
  std::normal_distribution<float> normal(0.0f, 0.1f);
  std::vector<float> data(o.n * o.dim);
  for (float& x : data) x = normal(rng);
  std::vector<RecordView> views(o.n);
  for (size_t i = 0; i < o.n; ++i) {
    views[i].id = "id-" + std::to_string(i);
    views[i].embedding = data.data() + i * o.dim;
    views[i].dim = o.dim;
  }
  Include include;
  include.fields = {IncludeField::kEmbeddings};

  // Encoding.
  std::string encoded;
  size_t floor_bytes = 0;
  double enc_s = 0, fresh_s = 0, fresh_pool_s = 0, floor_s = 0;
  {
    std::vector<char> buf(data.size() * 20);
    BufferPool pool(size_t{64} << 20);
    enc_s = Best(o.reps, [&] {
      encoded =
          EncodeGetResponse(views, include, false, pool.Take(EncodedSizeEstimate(views, include)));
      pool.Give(std::move(encoded));
    });
    fresh_s = Best(o.reps, [&] { encoded = EncodeGetResponse(views, include); });
    // A fresh buffer from the pool: its pages mapped in one call (Prefault).
    fresh_pool_s = Best(o.reps, [&] {
      BufferPool empty(0);
      encoded =
          EncodeGetResponse(views, include, false, empty.Take(EncodedSizeEstimate(views, include)));
    });
    floor_s = Best(o.reps, [&] {
      char* p = buf.data();
      for (float x : data) {
        p = std::to_chars(p, buf.data() + buf.size(), x).ptr;
        *p++ = ',';
      }
      floor_bytes = size_t(p - buf.data());
    });
  }
  const double enc_mbs = double(encoded.size()) / enc_s / 1e6;
  const double fresh_mbs = double(encoded.size()) / fresh_s / 1e6;
  const double fresh_pool_mbs = double(encoded.size()) / fresh_pool_s / 1e6;
  const double floor_mbs = double(floor_bytes) / floor_s / 1e6;

  // Add bodies of --batch records (the server's usual request: the npm client sends batches),
  // float arrays (the same text the encoder wrote) and base64.
  const size_t batch = o.batch == 0 ? o.n : o.batch;
  std::vector<std::string> arrays_bodies, b64_bodies;
  size_t arrays_bytes = 0, b64_bytes = 0;
  {
    char tmp[32];
    for (size_t first = 0; first < o.n; first += batch) {
      const size_t count = std::min(batch, o.n - first);
      std::string arrays = "{\"ids\":[";
      std::string b64 = "{\"ids\":[";
      for (size_t i = first; i < first + count; ++i) {
        const std::string id = (i > first ? ",\"" : "\"") + views[i].id + "\"";
        arrays += id;
        b64 += id;
      }
      arrays += "],\"embeddings\":[";
      b64 += "],\"embeddings\":[";
      for (size_t i = first; i < first + count; ++i) {
        arrays += i > first ? ",[" : "[";
        for (size_t d = 0; d < o.dim; ++d) {
          char* end = std::to_chars(tmp, tmp + sizeof tmp, data[i * o.dim + d]).ptr;
          if (d) arrays += ',';
          arrays.append(tmp, end);
        }
        arrays += ']';
        b64 += (i > first ? ",\"" : "\"") + Base64(data.data() + i * o.dim, o.dim) + "\"";
      }
      arrays += "]}";
      b64 += "]}";
      arrays_bytes += arrays.size();
      b64_bytes += b64.size();
      arrays_bodies.push_back(std::move(arrays));
      b64_bodies.push_back(std::move(b64));
    }
  }

  auto decode = [&](const std::vector<std::string>& bodies) {
    size_t first = 0;
    for (const std::string& body : bodies) {
      auto r = DecodeRecordWrite(body, RecordWriteKind::kAdd);
      const size_t count = std::min(batch, o.n - first);
      if (!r.ok() || r->ids.size() != count || !r->embeddings ||
          (*r->embeddings)[count - 1]->at(o.dim - 1) != data[(first + count) * o.dim - 1]) {
        std::fprintf(stderr, "decode failed: %s\n",
                     r.ok() ? "wrong values" : r.status().ToString().c_str());
        std::exit(1);
      }
      first += count;
    }
  };
  simdjson::dom::parser parser;
  auto parse = [&](const std::vector<std::string>& bodies) {
    for (const std::string& body : bodies) {
      simdjson::padded_string padded(body);
      simdjson::dom::element root;
      if (parser.parse(padded).get(root)) {
        std::fprintf(stderr, "simdjson parse failed\n");
        std::exit(1);
      }
    }
  };
  const double dec_s = Best(o.reps, [&] { decode(arrays_bodies); });
  const double parse_s = Best(o.reps, [&] { parse(arrays_bodies); });
  const double dec64_s = Best(o.reps, [&] { decode(b64_bodies); });
  const double parse64_s = Best(o.reps, [&] { parse(b64_bodies); });
  const double dec_mbs = double(arrays_bytes) / dec_s / 1e6;
  const double parse_mbs = double(arrays_bytes) / parse_s / 1e6;
  const double dec64_mbs = double(b64_bytes) / dec64_s / 1e6;
  const double parse64_mbs = double(b64_bytes) / parse64_s / 1e6;

  std::vector<Row> rows = {
      {"encode get response with embeddings (MB/s)", Fmt("%.0f", enc_mbs),
       Fmt("%.0f", floor_mbs) + " (std::to_chars alone)", Fmt("%.2f×", enc_mbs / floor_mbs),
       "≥ 200 MB/s", enc_mbs >= 200 ? "PASS" : "MISS"},
      {"… into a new buffer from the pool, pages mapped at once (first response of its size) "
       "(MB/s)",
       Fmt("%.0f", fresh_pool_mbs), Fmt("%.0f", floor_mbs) + " (std::to_chars alone)",
       Fmt("%.2f×", fresh_pool_mbs / floor_mbs), "", ""},
      {"… into a plain new string, pages faulted one by one (MB/s)", Fmt("%.0f", fresh_mbs),
       Fmt("%.0f", floor_mbs) + " (std::to_chars alone)", Fmt("%.2f×", fresh_mbs / floor_mbs), "",
       ""},
      {"decode add body, float arrays (MB/s)", Fmt("%.0f", dec_mbs),
       Fmt("%.0f", parse_mbs) + " (simdjson DOM parse)", Fmt("%.2f×", dec_mbs / parse_mbs),
       "≥ 400 MB/s", dec_mbs >= 400 ? "PASS" : "MISS"},
      {"decode add body, base64 (MB/s)", Fmt("%.0f", dec64_mbs),
       Fmt("%.0f", parse64_mbs) + " (simdjson DOM parse)", Fmt("%.2f×", dec64_mbs / parse64_mbs),
       "≥ 400 MB/s", dec64_mbs >= 400 ? "PASS" : "MISS"},
  };
  std::printf(
      "# bodies: get response %.1f MB; add bodies of %zu records: %zu, %.1f MB (arrays), "
      "%.1f MB (base64)\n\n",
      encoded.size() / 1e6, batch, arrays_bodies.size(), arrays_bytes / 1e6, b64_bytes / 1e6);
  std::printf("| measure | chromahouse | baseline, same run | ratio | target |\n");
  std::printf("|---|---:|---:|---:|---|\n");
  for (const Row& r : rows) {
    std::printf("| %s | %s | %s | %s | %s %s |\n", r.measure.c_str(), r.ours.c_str(),
                r.baseline.c_str(), r.ratio.c_str(), r.target.c_str(), r.verdict.c_str());
  }
  std::printf("\n# load average at end: %s\n", LoadAverage().c_str());
  if (!o.out.empty()) {
    std::ofstream out(o.out);
    out << "{\"n\": " << o.n << ", \"dim\": " << o.dim << ", \"encode_mb_s\": " << JsonNum(enc_mbs)
        << ", \"encode_fresh_buffer_mb_s\": " << JsonNum(fresh_mbs)
        << ", \"encode_new_pool_buffer_mb_s\": " << JsonNum(fresh_pool_mbs)
        << ", \"to_chars_mb_s\": " << JsonNum(floor_mbs)
        << ", \"decode_arrays_mb_s\": " << JsonNum(dec_mbs)
        << ", \"simdjson_arrays_mb_s\": " << JsonNum(parse_mbs)
        << ", \"decode_base64_mb_s\": " << JsonNum(dec64_mbs)
        << ", \"simdjson_base64_mb_s\": " << JsonNum(parse64_mbs) << "}\n";
  }
  return 0;
}

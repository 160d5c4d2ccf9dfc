// The filter planner (with the document and metadata indexes) against checking every record
// with the evaluator: random documents (ASCII of both cases, Unicode, short and long), random
// patterns (substrings of documents, case-changed, shorter than a trigram, absent) and regexes,
// mixed with metadata conditions under $and / $or, through inserts, updates and deletes.
#include "collection/filter_planner.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <random>

#include "codec/where_codec.h"
#include "filter/evaluator.h"

namespace chromahouse {
namespace {

const std::vector<std::string> kWords = {"alpha",    "Beta",        "gamma",  "delta",
                                         "ÉCOLE",    "école",       "straße", "STRASSE",
                                         "naïve",    "日本語",      "the",    "a",
                                         "ab",       "abc",         "abcd",   "xyz",
                                         "Kelvin",   "KKK",         "kkk",    "\u212A\u212A\u212A",
                                         "x\u212Ay", "hello_world", "42",     "4242"};

std::string RandomDocument(std::mt19937& rng) {
  std::string doc;
  const size_t n = rng() % 12;
  for (size_t i = 0; i < n; ++i) {
    if (i) doc += rng() % 5 == 0 ? "\n" : " ";
    doc += kWords[rng() % kWords.size()];
  }
  return doc;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string RandomPattern(std::mt19937& rng, const std::vector<std::string>& docs) {
  std::string p;
  switch (rng() % 4) {
    case 0: {  // a piece of a document
      const std::string& d = docs[rng() % docs.size()];
      if (d.empty()) return "abc";
      size_t start = rng() % d.size(), len = 1 + rng() % 8;
      p = d.substr(start, len);
      break;
    }
    case 1: p = kWords[rng() % kWords.size()]; break;
    case 2: p = std::string(1, "aBx4 "[rng() % 5]) + (rng() % 2 ? "b" : ""); break;  // short
    default: p = "absent-text"; break;
  }
  if (rng() % 4 == 0) {
    for (char& c : p) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  // A cut through a UTF-8 sequence is not valid JSON text: keep whole characters.
  while (!p.empty() && (static_cast<unsigned char>(p.back()) & 0xC0) == 0x80) p.pop_back();
  while (!p.empty() && (static_cast<unsigned char>(p.back()) & 0xC0) == 0xC0) p.pop_back();
  while (!p.empty() && (static_cast<unsigned char>(p.front()) & 0xC0) == 0x80) p.erase(0, 1);
  return p;
}

// A regex of more alternatives than the document index narrows (it checks every record then).
std::string ManyAlternatives() {
  std::string out = "(";
  for (int i = 0; i < 80; ++i) out += std::string(i ? "|" : "") + "zq" + std::to_string(1000 + i);
  return out + "|gamma delta)";
}

std::string RandomRegex(std::mt19937& rng) {
  if (rng() % 20 == 0) return ManyAlternatives();
  static const std::vector<std::string> kRegexes = {"alpha",
                                                    "(?i)beta",
                                                    "gam+a",
                                                    "del.a",
                                                    "^the",
                                                    "abc$",
                                                    "(alpha|gamma) delta",
                                                    "école|ECOLE",
                                                    "(?i)école",
                                                    "(?i)straße",
                                                    "\\d{3}",
                                                    "4242|xyz",
                                                    "[a-c]{3}",
                                                    "a*",
                                                    "hello_\\w+",
                                                    "(?i)kkk",
                                                    "(?i)xky",
                                                    "日本",
                                                    "x.z",
                                                    "(?s)alpha.+beta",
                                                    "Beta\\s+gamma",
                                                    "abcd?e?"};
  return kRegexes[rng() % kRegexes.size()];
}

TEST(FilterPlannerTest, MatchesCheckingEveryRecordThroughWrites) {
  std::mt19937 rng(2024);
  RecordStore store(Metric::kL2);
  std::vector<std::string> docs;
  uint64_t version = 1;
  int64_t narrowed = 0;
  simdjson::dom::parser parser;
  for (int round = 0; round < 40; ++round) {
    // Writes: new records, replaced documents, deletions (offsets get reused).
    std::vector<RecordRow> rows;
    for (int i = 0; i < 60; ++i) {
      RecordRow r;
      r.id = "r" + std::to_string(rng() % 400);
      r.version = version++;
      r.created = r.version;
      if (rng() % 6 == 0) {
        r.deleted = true;
      } else {
        r.embedding = {1.0f};
        if (rng() % 8 != 0) {
          r.document = RandomDocument(rng);
          docs.push_back(*r.document);
        }
        Metadata m;
        m["n"] = int64_t(rng() % 10);
        r.metadata = m;
      }
      rows.push_back(std::move(r));
    }
    store.Apply(rows);
    if (round == 0) (void)store.document_index();  // built now, kept up to date from here on
    for (int q = 0; q < 25; ++q) {
      std::string doc_clause;
      switch (rng() % 4) {
        case 0:
          doc_clause =
              R"({"#document":{"$contains":)" + JsonString(RandomPattern(rng, docs)) + "}}";
          break;
        case 1:
          doc_clause =
              R"({"#document":{"$not_contains":)" + JsonString(RandomPattern(rng, docs)) + "}}";
          break;
        case 2:
          doc_clause = R"({"#document":{"$regex":)" + JsonString(RandomRegex(rng)) + "}}";
          break;
        default:
          doc_clause = R"({"#document":{"$not_regex":)" + JsonString(RandomRegex(rng)) + "}}";
          break;
      }
      std::string where;
      switch (rng() % 4) {
        case 0: where = doc_clause; break;
        case 1:
          where =
              R"({"$and":[{"n":{"$lt":)" + std::to_string(rng() % 10) + "}}," + doc_clause + "]}";
          break;
        case 2:
          where = R"({"$or":[{"n":)" + std::to_string(rng() % 10) + "}," + doc_clause + "]}";
          break;
        default: where = R"({"$and":[)" + doc_clause + R"(,{"#id":{"$ne":"r7"}}]})"; break;
      }
      auto parsed = parser.parse(where);
      ASSERT_FALSE(parsed.error()) << where;
      auto decoded = DecodeWhere(parsed.value(), WhereDialect::kV2);
      ASSERT_TRUE(decoded.ok()) << where << ": " << decoded.status().ToString();
      FilterPlanner planner(store);
      OffsetBitmap got = planner.Evaluate(*decoded);
      narrowed += planner.counts().document_index;
      for (uint32_t o = 0; o < store.capacity(); ++o) {
        bool want = false;
        if (store.IsLive(o)) {
          const auto& md = store.metadata(o);
          const auto& doc = store.document(o);
          want = Matches(*decoded, md ? &*md : nullptr, doc ? &*doc : nullptr, &store.id(o));
        }
        ASSERT_EQ(got.Contains(o), want)
            << where << " offset " << o << " document "
            << (store.document(o) ? *store.document(o) : std::string("<none>"));
      }
    }
  }
  EXPECT_GT(narrowed, 200);  // the index narrowed most document conditions
}

}  // namespace
}  // namespace chromahouse

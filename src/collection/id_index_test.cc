#include "collection/id_index.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace chromahouse {
namespace {

// Random inserts and erases against std::map, through several growths and with many erased
// slots (reuse and rehash).
TEST(IdIndexTest, AgreesWithAMapThroughGrowthAndErasure) {
  std::vector<std::string> ids;
  std::map<std::string, uint32_t> model;
  std::vector<uint32_t> free;
  IdIndex index;
  std::mt19937_64 rng(5);
  for (int step = 0; step < 200000; ++step) {
    const std::string id = "id-" + std::to_string(rng() % 30000);
    auto it = model.find(id);
    if (it == model.end()) {
      uint32_t o;
      if (!free.empty()) {
        o = free.back();
        free.pop_back();
      } else {
        o = static_cast<uint32_t>(ids.size());
        ids.emplace_back();
      }
      ids[o] = id;
      index.Insert(id, o);
      model[id] = o;
    } else {
      ASSERT_TRUE(index.Erase(id, ids));
      ids[it->second].clear();
      free.push_back(it->second);
      model.erase(it);
      EXPECT_FALSE(index.Erase(id, ids));
    }
    if (step % 20000 == 0) {
      ASSERT_EQ(index.size(), model.size());
      for (const auto& [k, v] : model) ASSERT_EQ(index.Find(k, ids), std::optional<uint32_t>(v));
      EXPECT_FALSE(index.Find("absent", ids).has_value());
    }
  }
  ASSERT_EQ(index.size(), model.size());
  for (const auto& [k, v] : model) ASSERT_EQ(index.Find(k, ids), std::optional<uint32_t>(v));
  // At most 3/4 full: 8 bytes per slot, well under an unordered_map node per id.
  EXPECT_LE(index.MemoryBytes(), model.size() * 8 * 4);
}

TEST(IdIndexTest, EmptyAndReserved) {
  std::vector<std::string> ids;
  IdIndex index;
  EXPECT_FALSE(index.Find("x", ids).has_value());
  EXPECT_FALSE(index.Erase("x", ids));
  index.Reserve(1000);
  const size_t reserved = index.MemoryBytes();
  EXPECT_GE(reserved, 1000u * 8 * 4 / 3);
  for (uint32_t i = 0; i < 1000; ++i) {
    ids.push_back(std::to_string(i));
    index.Insert(ids.back(), i);
  }
  EXPECT_EQ(index.MemoryBytes(), reserved);  // no growth within the reservation
  EXPECT_EQ(index.Find("999", ids), std::optional<uint32_t>(999));
  EXPECT_EQ(index.Find("", ids), std::nullopt);
}

}  // namespace
}  // namespace chromahouse

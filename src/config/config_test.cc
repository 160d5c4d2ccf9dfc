#include "config/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace chromahouse {
namespace {

TEST(Config, DefaultsAreChromasAndValid) {
  Config c;
  EXPECT_EQ(c.port, 8000);
  EXPECT_EQ(c.max_payload_size_bytes, 40 * 1024 * 1024);
  EXPECT_EQ(c.max_batch_size, 5461);
  EXPECT_FALSE(c.allow_reset);
  EXPECT_TRUE(c.clickhouse_url.empty());
  EXPECT_TRUE(Validate(c).ok());
}

TEST(Config, EnvironmentUsesChromasNamesAndOurs) {
  Config c;
  ASSERT_TRUE(ApplyEnvironment({{"CHROMA_PORT", "9001"},
                                {"CHROMA_ALLOW_RESET", "TRUE"},
                                {"CHROMA_CORS_ALLOW_ORIGINS", R"(["http://a", "http://b"])"},
                                {"CHROMAHOUSE_CLICKHOUSE_URL", "http://ch:8123"},
                                {"UNRELATED", "x"}},
                               &c)
                  .ok());
  EXPECT_EQ(c.port, 9001);
  EXPECT_TRUE(c.allow_reset);
  EXPECT_EQ(c.cors_allow_origins, (std::vector<std::string>{"http://a", "http://b"}));
  EXPECT_EQ(c.clickhouse_url, "http://ch:8123");
  EXPECT_EQ(c.sources["port"], "env");
}

TEST(Config, BadValuesNameTheSettingAndValue) {
  Config c;
  Status s = ApplyEnvironment({{"CHROMA_PORT", "eighty"}}, &c);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("CHROMA_PORT"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("eighty"), std::string::npos) << s.message();
  c.port = 70000;
  EXPECT_NE(Validate(c).message().find("70000"), std::string::npos);
}

TEST(Config, FileThenEnvironmentThenFlags) {
  std::string path = ::testing::TempDir() + "/chromahouse_config_test.yaml";
  {
    std::ofstream f(path);
    f << "port: 7000\nlisten_address: 0.0.0.0\nallow_reset: true\n"
         "cors_allow_origins: [\"*\"]\nclickhouse_database: other_db\n";
  }
  Config c;
  ASSERT_TRUE(ApplyConfigFile(path, &c).ok());
  EXPECT_EQ(c.port, 7000);
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.cors_allow_origins, (std::vector<std::string>{"*"}));
  EXPECT_EQ(c.clickhouse_database, "other_db");
  ASSERT_TRUE(ApplyEnvironment({{"CHROMA_PORT", "7001"}}, &c).ok());
  EXPECT_EQ(c.port, 7001);
  ASSERT_TRUE(ApplySetting("port", "7002", "flag", &c).ok());
  EXPECT_EQ(c.port, 7002);
  EXPECT_EQ(c.sources["port"], "flag");
  std::remove(path.c_str());
}

TEST(Config, UnknownFileKeyIsAnError) {
  std::string path = ::testing::TempDir() + "/chromahouse_config_bad.yaml";
  {
    std::ofstream f(path);
    f << "prot: 7000\n";
  }
  Config c;
  Status s = ApplyConfigFile(path, &c);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("prot"), std::string::npos) << s.message();
  std::remove(path.c_str());
  EXPECT_FALSE(ApplyConfigFile("/nonexistent/chromahouse.yaml", &c).ok());
}

// Ranges come from the settings table: one past either end of every integer setting's range is
// refused by Validate, naming the setting and the value.
TEST(Config, EveryIntegerRangeIsChecked) {
  size_t checked = 0;
  for (const auto& s : Settings()) {
    if (s.range.min == SettingRange{}.min) continue;
    for (int64_t bad :
         {s.range.min - 1, s.range.max == kNoMax ? s.range.min - 1 : s.range.max + 1}) {
      Config c;
      ASSERT_TRUE(ApplySetting(s.key, std::to_string(bad), "test", &c).ok()) << s.key;
      Status v = Validate(c);
      EXPECT_FALSE(v.ok()) << s.key << " = " << bad;
      EXPECT_NE(v.message().find(s.key), std::string::npos) << v.message();
      EXPECT_NE(v.message().find(std::to_string(bad)), std::string::npos) << v.message();
    }
    Config c;
    ASSERT_TRUE(ApplySetting(s.key, std::to_string(s.range.min), "test", &c).ok());
    EXPECT_TRUE(Validate(c).ok()) << s.key << " = " << s.range.min;
    ++checked;
  }
  EXPECT_GE(checked, 15u);
}

TEST(Config, EverySettingHasAnEnvironmentVariableAndFlag) {
  Config c;
  for (const auto& s : Settings()) {
    EXPECT_TRUE(std::string(s.flag).starts_with("--")) << s.key;
    EXPECT_TRUE(std::string(s.env).starts_with("CHROMA")) << s.key;
    // Every listed key is accepted by ApplySetting (bool/int keys get a valid value).
    std::string value = "1";
    EXPECT_TRUE(ApplySetting(s.key, value, "test", &c).ok()) << s.key;
  }
}

// The README's configuration table lists every setting with its environment variable and flag.
TEST(Config, ReadmeDocumentsEverySetting) {
  std::ifstream in(std::string(CHROMAHOUSE_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(in) << "README.md not found";
  std::stringstream text;
  text << in.rdbuf();
  const std::string readme = text.str();
  for (const auto& s : Settings()) {
    const std::string row = "| `" + std::string(s.key) + "` | `" + s.env + "`";
    EXPECT_NE(readme.find(row), std::string::npos) << "README.md lacks the row for " << s.key;
    EXPECT_NE(readme.find("`" + std::string(s.flag) + "`"), std::string::npos) << s.flag;
  }
}

}  // namespace
}  // namespace chromahouse

// chromahouse: a Chroma-compatible vector database server that keeps its data in ClickHouse.
#include <CLI/CLI.hpp>

#include <iostream>

#include "config/config.h"
#include "server/app.h"

// jemalloc: a background thread returns freed pages to the system (after a collection is
// evicted or a load's temporary rows are freed) instead of keeping them until the same arena
// allocates again.
extern "C" {
const char* malloc_conf = "background_thread:true";
}

int main(int argc, char** argv) {
  using chromahouse::Config;
  CLI::App app{"chromahouse: a Chroma-compatible vector database server on ClickHouse"};
  app.require_subcommand(1);

  auto* version = app.add_subcommand("version", "print the version and exit");
  auto* run = app.add_subcommand("run", "start the server");
  auto* catalog = app.add_subcommand("catalog", "manage the catalog store");
  catalog->require_subcommand(1);
  auto* migrate = catalog->add_subcommand(
      "migrate",
      "copy the catalog kept in ClickHouse into PostgreSQL (idempotent); stop the instance "
      "first, then start every instance with --catalog-url");
  std::string migrate_to;
  migrate->add_option("--to", migrate_to, "PostgreSQL URL, e.g. postgresql://host/chromahouse")
      ->required();

  std::string config_file;
  // Every setting is also a flag (of `run` and of `catalog migrate`, which opens the same
  // ClickHouse); values are applied after the file and the environment.
  std::map<std::string, std::string> flag_values;
  std::vector<std::pair<std::string, CLI::Option*>> flag_options;
  for (CLI::App* sub : {run, migrate}) {
    sub->add_option("--config", config_file, "YAML config file (also CHROMAHOUSE_CONFIG)");
    for (const auto& s : chromahouse::Settings()) {
      std::string key = s.key;
      if (key == "allow_reset") {
        flag_options.emplace_back(key, sub->add_flag(s.flag, s.description));
      } else {
        auto* opt = sub->add_option(s.flag, flag_values[key], s.description);
        flag_options.emplace_back(key, opt);
      }
    }
  }

  CLI11_PARSE(app, argc, argv);

  if (version->parsed()) {
    std::cout << "chromahouse " << chromahouse::kVersion << "\n";
    return 0;
  }

  Config config;
  auto env = chromahouse::CurrentEnvironment();
  if (config_file.empty() && env.count("CHROMAHOUSE_CONFIG"))
    config_file = env["CHROMAHOUSE_CONFIG"];
  if (!config_file.empty()) {
    if (auto s = chromahouse::ApplyConfigFile(config_file, &config); !s.ok()) {
      std::cerr << "chromahouse: " << s.message() << "\n";
      return 2;
    }
  }
  if (auto s = chromahouse::ApplyEnvironment(env, &config); !s.ok()) {
    std::cerr << "chromahouse: " << s.message() << "\n";
    return 2;
  }
  for (const auto& [key, opt] : flag_options) {
    if (opt->count() == 0) continue;
    std::string value = key == "allow_reset" ? "true" : flag_values[key];
    if (auto s = chromahouse::ApplySetting(key, value, "flag", &config); !s.ok()) {
      std::cerr << "chromahouse: " << s.message() << "\n";
      return 2;
    }
  }
  if (auto s = chromahouse::Validate(config); !s.ok()) {
    std::cerr << "chromahouse: " << s.message() << "\n";
    return 2;
  }
  if (migrate->parsed()) return chromahouse::MigrateCatalog(config, migrate_to);
  return chromahouse::RunServer(config);
}

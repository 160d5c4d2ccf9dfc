#include "postgres_fixture.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

namespace chromahouse::testing {
namespace {

std::string BinDir() {
  if (const char* dir = std::getenv("CHROMAHOUSE_PG_BIN")) return dir;
  std::string best;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql")) {
    if (std::filesystem::exists(entry.path() / "bin" / "postgres")) {
      std::string dir = (entry.path() / "bin").string();
      if (dir > best) best = dir;
    }
  }
  return best;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// Runs `argv` as the `postgres` user when we are root; returns the child's pid.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    if (getuid() == 0) {
      if (passwd* pw = getpwnam("postgres")) {
        if (setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) _exit(126);
      }
    }
    FILE* out = freopen(log.c_str(), "a", stdout);
    (void)out;
    dup2(STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

class PostgresEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    Stop();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void Start() {
    if (pid_ > 0) return;
    if (dir_.empty()) Init();
    pid_ = Spawn({BinDir() + "/postgres", "-D", dir_ + "/data", "-p", std::to_string(port_), "-k",
                  dir_, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
                  "synchronous_commit=off", "-c", "full_page_writes=off"},
                 dir_ + "/server.log");
    const std::string url = Url("postgres");
    for (int i = 0; i < 300; ++i) {
      if (PQping(url.c_str()) == PQPING_OK) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    fprintf(stderr, "PostgreSQL did not start (log: %s/server.log)\n", dir_.c_str());
    std::abort();
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGINT);  // fast shutdown
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::string Url(const std::string& database) const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
  }

 private:
  void Init() {
    char tmpl[] = "/tmp/chromahouse-pg-XXXXXX";
    dir_ = mkdtemp(tmpl);
    if (getuid() == 0) {
      if (passwd* pw = getpwnam("postgres")) {
        if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) std::abort();
      }
    }
    port_ = FreePort();
    pid_t pid = Spawn({BinDir() + "/initdb", "-D", dir_ + "/data", "-U", "postgres", "--auth=trust",
                       "-E", "UTF8", "--no-sync"},
                      dir_ + "/initdb.log");
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "initdb failed (log: %s/initdb.log; is postgresql-15 installed?)\n",
              dir_.c_str());
      std::abort();
    }
  }

  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

PostgresEnvironment* env =
    static_cast<PostgresEnvironment*>(::testing::AddGlobalTestEnvironment(new PostgresEnvironment));

std::atomic<int> counter{0};

}  // namespace

std::string FreshPostgresUrl() {
  env->Start();
  const std::string name =
      "it_" + std::to_string(getpid()) + "_" + std::to_string(counter.fetch_add(1));
  PGconn* conn = PQconnectdb(env->Url("postgres").c_str());
  PGresult* r = PQexec(conn, ("CREATE DATABASE " + name).c_str());
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    fprintf(stderr, "CREATE DATABASE failed: %s\n", PQerrorMessage(conn));
    std::abort();
  }
  PQclear(r);
  PQfinish(conn);
  return env->Url(name);
}

void StopPostgres() { env->Stop(); }
void StartPostgres() { env->Start(); }

}  // namespace chromahouse::testing

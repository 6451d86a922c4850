// The socket client against a scripted Unix-socket server: reuse of a kept-alive connection,
// one retry of a GET when the server dropped it while idle (never of a POST), the deadline,
// and the errno of a socket that is not there.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/error.hpp>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "socket_client.hpp"

namespace {

namespace http = boost::beast::http;
using shopseg::socket_client;

std::string temp_socket_path() {
  char dir[] = "/tmp/shopseg-cli-test-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  return std::string(dir) + "/s.sock";
}

// Reads one request head (no body: the client sends none).
bool read_request(int fd) {
  std::string head;
  char c;
  while (head.find("\r\n\r\n") == std::string::npos) {
    if (::read(fd, &c, 1) != 1) return false;
    head += c;
  }
  return true;
}

void answer(int fd, bool keep_alive, const std::string& body) {
  std::string res = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n" +
                    (keep_alive ? "" : "Connection: close\r\n") + "\r\n" + body;
  REQUIRE(::write(fd, res.data(), res.size()) == static_cast<ssize_t>(res.size()));
}

// Listens on a fresh path; `script` runs on a thread with the listening fd and owns it.
class scripted_server {
 public:
  explicit scripted_server(std::function<void(int)> script) : path_(temp_socket_path()) {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener_, 8) == 0);
    thread_ = std::thread([this, script] { script(listener_); });
  }
  ~scripted_server() {
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
    ::unlink(path_.c_str());
    ::rmdir(path_.substr(0, path_.rfind('/')).c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int listener_ = -1;
  std::thread thread_;
};

constexpr std::chrono::seconds generous{30};

}  // namespace

TEST_CASE("a kept-alive connection serves the next request") {
  std::atomic<int> connections{0};
  scripted_server server([&](int listener) {
    int fd = ::accept(listener, nullptr, nullptr);
    ++connections;
    for (int i = 0; i < 2 && read_request(fd); ++i)
      answer(fd, true, "{\"n\":" + std::to_string(i) + "}");
    ::close(fd);
  });
  socket_client client(server.path());
  auto first = client.request(http::verb::get, "/v1/a", generous);
  auto second = client.request(http::verb::get, "/v1/b", generous);
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  CHECK(first->status == 200);
  CHECK(first->body == "{\"n\":0}");
  CHECK(second->body == "{\"n\":1}");
  CHECK(connections == 1);
}

TEST_CASE("a GET on a connection the daemon closed while idle is sent again on a new one") {
  std::atomic<int> connections{0};
  scripted_server server([&](int listener) {
    int fd = ::accept(listener, nullptr, nullptr);  // answers once, then drops the connection
    ++connections;
    if (read_request(fd)) answer(fd, true, "1");
    ::close(fd);
    fd = ::accept(listener, nullptr, nullptr);
    ++connections;
    if (read_request(fd)) answer(fd, false, "2");
    ::close(fd);
  });
  socket_client client(server.path());
  REQUIRE(client.request(http::verb::get, "/", generous).has_value());
  auto again = client.request(http::verb::get, "/", generous);
  REQUIRE(again.has_value());
  CHECK(again->body == "2");
  CHECK(connections == 2);
}

TEST_CASE("a POST is never sent twice") {
  std::atomic<int> connections{0};
  scripted_server server([&](int listener) {
    int fd = ::accept(listener, nullptr, nullptr);
    ++connections;
    if (read_request(fd)) answer(fd, true, "1");
    ::close(fd);
    fd = ::accept(listener, nullptr, nullptr);  // a resent POST would land and succeed here
    if (fd < 0) return;                         // the listener was shut down: none came
    ++connections;
    if (read_request(fd)) answer(fd, false, "2");
    ::close(fd);
  });
  socket_client client(server.path());
  REQUIRE(client.request(http::verb::get, "/", generous).has_value());
  auto post = client.request(http::verb::post, "/v1/reload", generous);
  CHECK_FALSE(post.has_value());
  CHECK(connections == 1);
}

TEST_CASE("no answer within the deadline is timed_out") {
  scripted_server server([](int listener) {
    int fd = ::accept(listener, nullptr, nullptr);
    read_request(fd);
    char c;
    while (::read(fd, &c, 1) > 0) {  // holds the connection until the client gives up
    }
    ::close(fd);
  });
  socket_client client(server.path());
  auto r = client.request(http::verb::get, "/v1/changes?wait=30", std::chrono::seconds(1));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == boost::asio::error::timed_out);
}

TEST_CASE("a missing socket reports its errno") {
  socket_client client("/nonexistent-dir/shopseg.sock");
  auto r = client.request(http::verb::get, "/", generous);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == boost::system::errc::no_such_file_or_directory);
}

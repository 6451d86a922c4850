// A database file in a fresh temporary directory, removed with the fixture.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <ostream>
#include <random>
#include <string>

#include "store/reader.hpp"
#include "store/writer.hpp"

namespace store {
// For doctest's messages about result<outcome>.
inline std::ostream& operator<<(std::ostream& out, outcome o) {
  constexpr const char* names[] = {"applied", "stale", "tombstoned", "ignored"};
  return out << names[static_cast<int>(o)];
}
}  // namespace store

namespace store_test {

struct temp_db {
  std::filesystem::path dir;
  std::string path;

  temp_db() {
    std::random_device random;
    dir = std::filesystem::temp_directory_path() /
          ("shopseg-store-test-" + std::to_string(random()) + std::to_string(random()));
    std::filesystem::create_directories(dir);
    path = (dir / "shopseg.db").string();
  }
  ~temp_db() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  std::unique_ptr<store::writer> open_writer() const {
    auto opened = store::writer::open(path);
    REQUIRE_MESSAGE(opened.has_value(), (opened ? "" : opened.error().message()));
    return std::move(*opened);
  }
  std::unique_ptr<store::reader> open_reader() const {
    auto opened = store::reader::open(path);
    REQUIRE_MESSAGE(opened.has_value(), (opened ? "" : opened.error().message()));
    return std::move(*opened);
  }
  // Every byte of the database, its WAL and shared memory files.
  std::string all_bytes() const {
    std::string bytes;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::ifstream in(path + suffix, std::ios::binary);
      bytes.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return bytes;
  }
};

}  // namespace store_test

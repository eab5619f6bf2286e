// Text and token-id files: bytes read back as written, and each bad file or bad id gets a message
// naming the file (and for an id, its line, column and what is allowed).
#include <catch2/catch.hpp>

#include "data/text_file.h"
#include "tensor/error.h"

#include <filesystem>
#include <fstream>

#include <unistd.h>

using namespace lab::data;
namespace fs = std::filesystem;

namespace {

// A fresh folder under the system's temporary directory, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("loralab_test_data_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& bytes) const {
    std::ofstream f(path / name, std::ios::binary);
    f.write(bytes.data(), std::streamsize(bytes.size()));
    return (path / name).string();
  }
};

}  // namespace

TEST_CASE("read_text_file: any bytes come back as they were written") {
  TempDir dir;
  std::string bytes("hello\n\x00\xff\xc3\x28 caf\xc3\xa9\r\n", 17);
  CHECK(read_text_file(dir.write("a.txt", bytes)) == bytes);
  std::string big(300000, 'x');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = char(i % 256);
  CHECK(read_text_file(dir.write("big.bin", big)) == big);
}

TEST_CASE("read_text_file: missing, a directory, empty: each an error naming the path") {
  TempDir dir;
  std::string missing = (dir.path / "nope.txt").string();
  CHECK_THROWS_WITH(read_text_file(missing), Catch::Contains(missing) && Catch::Contains("cannot open") &&
                                                  Catch::Contains("No such file"));
  CHECK_THROWS_WITH(read_text_file(dir.path.string()), Catch::Contains(dir.path.string()) && Catch::Contains("is a directory"));
  std::string empty = dir.write("empty.txt", "");
  CHECK_THROWS_WITH(read_text_file(empty), Catch::Contains(empty) && Catch::Contains("is empty"));
  CHECK_THROWS_WITH(read_text_file("/dev/null"), Catch::Contains("/dev/null: is not a regular file"));
}

TEST_CASE("parse_token_ids: whitespace-separated ids, any whitespace") {
  CHECK(parse_token_ids("1 2 3", 256, "x") == std::vector<int64_t>{1, 2, 3});
  CHECK(parse_token_ids("  0\t255\n\n17\r\n42 \f\v 7\n", 256, "x") == std::vector<int64_t>{0, 255, 17, 42, 7});
  CHECK(parse_token_ids("007", 256, "x") == std::vector<int64_t>{7});
  CHECK(parse_token_ids("50256", 50257, "x") == std::vector<int64_t>{50256});
  CHECK(parse_token_ids("9223372036854775806", INT64_MAX, "x") == std::vector<int64_t>{INT64_MAX - 1});
}

TEST_CASE("parse_token_ids: each bad token names the source, line, column, token and the allowed range") {
  CHECK_THROWS_WITH(parse_token_ids("1 2\n3 abc 4", 256, "ids.txt"),
                    Catch::Contains("ids.txt:2:3: token 'abc' is not a token id") && Catch::Contains("[0, 256)"));
  CHECK_THROWS_WITH(parse_token_ids("12x", 256, "s"), Catch::Contains("s:1:1: token '12x' is not a token id"));
  CHECK_THROWS_WITH(parse_token_ids("+5", 256, "s"), Catch::Contains("token '+5' is not a token id"));
  CHECK_THROWS_WITH(parse_token_ids("1,2", 256, "s"), Catch::Contains("token '1,2' is not a token id"));
  CHECK_THROWS_WITH(parse_token_ids("-", 256, "s"), Catch::Contains("token '-' is not a token id"));
  CHECK_THROWS_WITH(parse_token_ids("5 \xff\x01", 256, "s"), Catch::Contains("s:1:3: token '\\xff\\x01' is not a token id"));
  CHECK_THROWS_WITH(parse_token_ids("7\n\n  -3", 256, "s"), Catch::Contains("s:3:3: token id '-3' is negative: ids must be in [0, 256)"));
  CHECK_THROWS_WITH(parse_token_ids("1 256", 256, "s"), Catch::Contains("s:1:3: token id 256 is too large: ids must be in [0, 256)"));
  CHECK_THROWS_WITH(parse_token_ids("50257", 50257, "s"), Catch::Contains("token id 50257 is too large: ids must be in [0, 50257)"));
  CHECK_THROWS_WITH(parse_token_ids("9223372036854775808", 256, "s"),
                    Catch::Contains("s:1:1: token id '9223372036854775808' does not fit in 64 bits: ids must be in [0, 256)"));
  CHECK_THROWS_WITH(parse_token_ids("1 99999999999999999999999999", 256, "s"), Catch::Contains("does not fit in 64 bits"));
  std::string long_token(100, '9');
  long_token += 'z';
  CHECK_THROWS_WITH(parse_token_ids(long_token, 256, "s"), Catch::Contains("...' (101 bytes)"));
}

TEST_CASE("parse_token_ids: empty input, whitespace only and a bad vocab_size are errors") {
  CHECK_THROWS_WITH(parse_token_ids("", 256, "empty.txt"), Catch::Contains("empty.txt: no token ids found"));
  CHECK_THROWS_WITH(parse_token_ids(" \n\t\n", 256, "blank.txt"), Catch::Contains("blank.txt: no token ids found"));
  CHECK_THROWS_WITH(parse_token_ids("1", 0, "s"), Catch::Contains("vocab_size is 0"));
}

TEST_CASE("read_token_ids: the path is the source of every message") {
  TempDir dir;
  std::string good = dir.write("good.txt", "15496 11 995\n");
  CHECK(read_token_ids(good, 50257) == std::vector<int64_t>{15496, 11, 995});
  CHECK_THROWS_WITH(read_token_ids(good, 256), Catch::Contains(good + ":1:1: token id 15496 is too large"));
  std::string blank = dir.write("blank.txt", "\n\n");
  CHECK_THROWS_WITH(read_token_ids(blank, 256), Catch::Contains(blank + ": no token ids found"));
  CHECK_THROWS_WITH(read_token_ids((dir.path / "missing.txt").string(), 256), Catch::Contains("missing.txt: cannot open"));
}

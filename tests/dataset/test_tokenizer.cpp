// The byte tokenizer: every byte round-trips, and an id outside [0, 256) is an error naming it.
#include <catch2/catch.hpp>

#include "data/byte_tokenizer.h"
#include "tensor/error.h"

using namespace lab::data;

TEST_CASE("byte tokenizer: every byte value round-trips, 0x00 and 0xff and invalid UTF-8 included") {
  std::string all;
  for (int b = 0; b < 256; b++) all += char(b);
  std::vector<int64_t> ids = encode_bytes(all);
  REQUIRE(ids.size() == 256);
  for (int b = 0; b < 256; b++) CHECK(ids[size_t(b)] == b);  // unsigned: 0xff is 255, not -1
  CHECK(decode_bytes(ids) == all);

  std::string invalid_utf8 = "ok \xc3\x28 \xff\xfe \x80 \xe2\x82 end";  // bad continuation, not UTF-8, lone continuation, truncated
  CHECK(decode_bytes(encode_bytes(invalid_utf8)) == invalid_utf8);
  std::string with_nul("a\0b", 3);
  CHECK(encode_bytes(with_nul) == std::vector<int64_t>{97, 0, 98});
  CHECK(decode_bytes(encode_bytes(with_nul)) == with_nul);
  CHECK(encode_bytes("").empty());
  CHECK(decode_bytes({}).empty());
  CHECK(encode_bytes("Hi") == std::vector<int64_t>{72, 105});
}

TEST_CASE("byte tokenizer: decoding an id outside 0 to 255 names the id and its position") {
  CHECK_THROWS_AS(decode_bytes({72, 256}), lab::Error);
  CHECK_THROWS_WITH(decode_bytes({72, 105, 256}), Catch::Contains("id 256 at position 2 is outside [0, 256)"));
  CHECK_THROWS_WITH(decode_bytes({-1}), Catch::Contains("id -1 at position 0"));
  CHECK_THROWS_WITH(decode_bytes({0, 50257}), Catch::Contains("id 50257 at position 1") && Catch::Contains("HINT"));
  CHECK(decode_bytes({0, 255}) == std::string("\x00\xff", 2));
}

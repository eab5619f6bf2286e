// The allocator counts every byte, and the budget refuses what would not fit.
#include <catch2/catch.hpp>

#include "tensor/all.h"

using namespace lab;

TEST_CASE("current and peak bytes follow tensors' lifetimes") {
  Device cpu = Device::cpu();
  size_t before = memory_stats(cpu).current;
  reset_peak_memory(cpu);
  {
    Tensor a = zeros({256, 256});  // 256 KiB
    CHECK(memory_stats(cpu).current == before + 262144);
    Tensor v = a.t();  // a view costs nothing
    CHECK(memory_stats(cpu).current == before + 262144);
    {
      Tensor b = a.to(DType::f64);
      CHECK(memory_stats(cpu).current == before + 262144 * 3);
    }
    CHECK(memory_stats(cpu).current == before + 262144);
  }
  CHECK(memory_stats(cpu).current == before);
  CHECK(memory_stats(cpu).peak == before + 262144 * 3);
  reset_peak_memory(cpu);
  CHECK(memory_stats(cpu).peak == before);
}

TEST_CASE("the memory budget refuses an allocation and says why") {
  Device cpu = Device::cpu();
  size_t in_use = memory_stats(cpu).current;
  set_memory_budget(cpu, in_use + 1000000);
  Tensor ok = zeros({1000});  // 4 KB fits
  CHECK_THROWS_AS(zeros({1000, 1000}), OutOfMemory);
  try {
    zeros({1000, 1000});
  } catch (const OutOfMemory& e) {
    std::string m = e.what();
    CHECK_THAT(m, Catch::Contains("out of memory on cpu") && Catch::Contains("asked for 3.81 MiB") && Catch::Contains("budget"));
  }
  // A refused allocation leaves the accounts as they were.
  CHECK(memory_stats(cpu).current == in_use + 4000);
  set_memory_budget(cpu, 0);
  Tensor big = zeros({1000, 1000});
  CHECK(big.numel() == 1000000);
}

TEST_CASE("sizes parse and print in human units") {
  CHECK(parse_bytes("4096") == 4096);
  CHECK(parse_bytes("64MB") == 64000000);
  CHECK(parse_bytes("64MiB") == 67108864);
  CHECK(parse_bytes("1.5GiB") == 1610612736);
  CHECK(parse_bytes("2 kb") == 2000);
  CHECK_THROWS_WITH(parse_bytes("lots"), Catch::Contains("cannot read 'lots'"));
  CHECK_THROWS_WITH(parse_bytes("-5MB"), Catch::Contains("cannot read"));
  CHECK_THROWS_WITH(parse_bytes("1.2.3MB"), Catch::Contains("cannot read"));
  CHECK(format_bytes(512) == "512 B");
  CHECK(format_bytes(1536) == "1.50 KiB");
  CHECK(format_bytes(3 * 1048576) == "3.00 MiB");
}

TEST_CASE("absurd shapes are refused before they reach the allocator") {
  CHECK_THROWS_WITH(zeros({1LL << 40, 1LL << 40}), Catch::Contains("too large"));
}

TEST_CASE("cuda tensors fail clearly without a GPU") {
  if (cuda_available()) return;  // a machine with a GPU checks this in tests/cuda
  CHECK_THROWS_WITH(zeros({2}, DType::f32, Device::cuda()), Catch::Contains("cuda:0 is not usable"));
  CHECK_THROWS_WITH(parse_device("tpu"), Catch::Contains("allowed: cpu, cuda"));
  CHECK(parse_device("cuda:1").index == 1);
  CHECK_THROWS(parse_device("cuda:x"));
}

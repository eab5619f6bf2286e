// Lesson 08 with --quick, checked by the numbers it writes (summary.json): every CPU matmul version
// (v1, v2-v3, v4 for each ISA this CPU runs, v5), every NF4 dequantization version and memcpy, the
// NF4 matmuls at batch 1 and 16, and the LoRA / QLoRA forwards ran, took time and agreed with their
// references; where a GPU is present, every GPU SGEMM version (v1-v8) and the GPU's NF4 kernels
// too, and where none is, the lesson says why instead of a table.
#include "tests/lessons/run_lesson.h"

#include "tensor/matmul_microkernel.h"

#include <filesystem>
#include <string>

namespace {

// Every row of a family ran (positive time and rate) and agreed with its reference.
void check_family(const nlohmann::json& s, const char* key, size_t min_rows) {
  INFO("family " << key);
  REQUIRE(s.contains(key));
  REQUIRE(s[key].size() >= min_rows);
  for (const auto& row : s[key]) {
    INFO(row["name"].get<std::string>());
    CHECK(row["agrees"].get<bool>());
    CHECK(row["ms"].get<double>() > 0);
    CHECK(row["rate"].get<double>() > 0);
  }
}

}  // namespace

TEST_CASE("lesson 08 --quick: every kernel version ran and agreed with its reference") {
  namespace fs = std::filesystem;
  fs::path out;
  nlohmann::json s = run_lesson_quick("lesson_08", &out);
  CHECK(s["cpu_size"].get<int>() == 64);
  // v1, v2-v3, one v4 per ISA, v5; v5 is the CPU's yardstick
  const size_t cpu_rows = 3 + lab::supported_isas().size();
  check_family(s, "cpu", cpu_rows);
  CHECK(s["cpu"].size() == cpu_rows);
  CHECK(s["cpu"].front()["name"].get<std::string>().rfind("v1", 0) == 0);
  CHECK(s["cpu"].back()["name"].get<std::string>().rfind("v5", 0) == 0);
  CHECK(s["cpu"].back()["percent"].get<double>() == Approx(100.0));
  if (s.contains("gpu")) {
    check_family(s, "gpu", 8);
    CHECK(s["gpu_peak_gflops"].get<double>() > 0);
    check_family(s, "gpu_nf4_dequant", 2);
    check_family(s, "gpu_nf4_gemv", 2);
    check_family(s, "gpu_nf4_gemm", 2);
    check_family(s, "gpu_lora", 4);
  } else {
    CHECK_FALSE(s["gpu_skipped"].get<std::string>().empty());
  }
  check_family(s, "nf4_dequant", 3);  // at least v1, v2 and memcpy
  CHECK(s["nf4_dequant"].back()["name"].get<std::string>().rfind("memcpy", 0) == 0);
  check_family(s, "nf4_gemv", 2);
  check_family(s, "nf4_gemm", 2);
  check_family(s, "lora", 4);  // unfused and fused, on an f32 and an NF4 base
  CHECK(s["all_agree"].get<bool>());
  for (const char* file : {"cpu.csv", "nf4_dequant.csv", "lora.csv"}) CHECK(fs::file_size(out / file) > 0);
}

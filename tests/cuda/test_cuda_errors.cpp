// GPU failures give clear messages and leave the GPU usable: an allocation larger than the card
// (lab::OutOfMemory with the request, the card's free memory, loralab's use and a HINT) and a
// launch with an invalid configuration (cuda::CudaError naming the kernel and its sizes).
// Where these messages are made: tensor/allocator.cpp, cuda/runtime.cu, cuda/cuda_check.h.
#include <catch2/catch.hpp>

#include <type_traits>

#include "cuda/cuda_error.h"
#include "cuda/runtime.h"
#include "tensor/all.h"

#include <string>

using namespace lab;

namespace {

const Device gpu = Device::cuda(0);

// A small op on the GPU still gives the CPU's answer: the device survived the error.
void require_gpu_usable() {
  Generator gen(3);
  const Tensor x = randn({7, 33}, gen);
  const std::vector<float> want = softmax(x, 1).to_vector<float>(), got = softmax(x.to(gpu), 1).to_vector<float>();
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); i++) REQUIRE(std::abs(got[i] - want[i]) <= 1e-6f);
}

}  // namespace

TEST_CASE("a GPU allocation larger than the card is an OutOfMemory that says what was asked and what is free", "[cuda][errors]") {
  const MemoryStats before = memory_stats(gpu);
  const size_t one_tib = size_t(1) << 40;
  std::string message;
  try {
    allocate(gpu, one_tib);
    FAIL("allocating 1 TiB on the GPU did not throw");
  } catch (const OutOfMemory& e) {
    message = e.what();
  }
  INFO(message);
  CHECK_THAT(message, Catch::Contains("out of memory on cuda:0") && Catch::Contains("cudaMalloc of 1.00 TiB failed"));
  CHECK_THAT(message, Catch::Contains("free of") && Catch::Contains("on the card") && Catch::Contains("in use by loralab"));
  CHECK_THAT(message, Catch::Contains("HINT") && Catch::Contains("--batch") && Catch::Contains("--mem-budget"));
  // The refused request left no trace in the accounting, and the GPU still works.
  CHECK(memory_stats(gpu).current == before.current);
  CHECK(memory_stats(gpu).peak == before.peak);
  require_gpu_usable();
  // Through a tensor too: the same error type from Tensor::empty.
  CHECK_THROWS_AS(Tensor::empty({int64_t(1) << 38}, DType::f32, gpu), OutOfMemory);
  require_gpu_usable();
}

// A GPU failure is a lab::Error like any other (issue 3): callers need no CUDA-specific catch.
static_assert(std::is_base_of_v<Error, cuda::CudaError>, "cuda::CudaError must be a lab::Error");

TEST_CASE("a launch with an invalid configuration names the kernel and its sizes, and the GPU stays usable", "[cuda][errors]") {
  std::string message;
  int code = 0;
  try {
    cuda::launch_empty_kernel(1, 2048);  // at most 1024 threads a block on every GPU CUDA 13 supports
    FAIL("a launch of 2048 threads a block did not throw");
  } catch (const Error& e) {  // caught as lab::Error; its CUDA details through the derived type
    message = e.what();
    const auto* cuda_error = dynamic_cast<const cuda::CudaError*>(&e);
    REQUIRE(cuda_error != nullptr);
    code = cuda_error->code();
    CHECK_FALSE(cuda_error->out_of_memory());
  }
  INFO(message);
  CHECK(code != 0);
  CHECK_THAT(message, Catch::StartsWith("CUDA error in empty_kernel (blocks 1, threads 2048): invalid configuration argument"));
  CHECK_THAT(message, Catch::Contains("cudaErrorInvalidConfiguration") && Catch::Contains("HINT") && Catch::Contains("(at cuda/runtime.cu:"));
  require_gpu_usable();
  // A valid launch right after is fine: the error did not stay in CUDA's last-error slot.
  CHECK_NOTHROW(cuda::launch_empty_kernel(1, 32));
  CHECK_NOTHROW(cuda::synchronize());
}

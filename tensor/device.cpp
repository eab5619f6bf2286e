// Device names and the "is there a GPU?" questions of device.h.
#include "tensor/device.h"

#include "tensor/error.h"

#if LAB_HAS_CUDA
#include "cuda/runtime.h"
#endif

#include <charconv>

namespace lab {

std::string Device::str() const { return is_cpu() ? "cpu" : fmt::format("cuda:{}", index); }

Device parse_device(std::string_view name) {
  if (name == "cpu") return Device::cpu();
  if (name == "cuda") return Device::cuda(0);
  if (name.substr(0, 5) == "cuda:") {
    std::string_view digits = name.substr(5);
    int index = -1;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (ec == std::errc() && end == digits.data() + digits.size() && index >= 0) return Device::cuda(index);
  }
  LAB_FAIL("unknown device '{}' (allowed: cpu, cuda, cuda:N)", name);
}

bool cuda_built() { return LAB_HAS_CUDA != 0; }

bool cuda_available() {
#if LAB_HAS_CUDA
  return cuda::device_count() > 0;
#else
  return false;
#endif
}

std::string cuda_unavailable_reason() {
#if LAB_HAS_CUDA
  return cuda::device_count() > 0 ? std::string() : "no CUDA device: " + cuda::why_no_device();
#else
  return "loralab was built without CUDA (nvcc was not found at configure time, or LAB_CUDA=OFF)";
#endif
}

void require_device(Device d) {
  if (d.is_cpu()) return;
  LAB_CHECK(cuda_available(), "device {} is not usable: {}", d.str(), cuda_unavailable_reason());
#if LAB_HAS_CUDA
  LAB_CHECK(d.index < cuda::device_count(), "device {} does not exist: this machine has {} CUDA device(s)", d.str(),
            cuda::device_count());
#endif
}

}  // namespace lab

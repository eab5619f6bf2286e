// `loralab devices`: see devices.h.
#include "tools/loralab/devices.h"

#include "tensor/allocator.h"
#include "tensor/device.h"

#if LAB_HAS_CUDA
#include "cuda/runtime.h"
#endif

#include <fmt/format.h>

#include <thread>

namespace lab::tools {

CLI::App* add_devices_command(CLI::App& app) {
  return app.add_subcommand("devices", "list the devices loralab can use here (CPU, CUDA GPUs), or why there is no GPU");
}

void run_devices() {
  fmt::print("cpu      {} hardware threads\n", std::thread::hardware_concurrency());
  if (!cuda_available()) {
    fmt::print("cuda     not usable: {}\n", cuda_unavailable_reason());
    return;
  }
#if LAB_HAS_CUDA
  for (int i = 0; i < cuda::device_count(); i++) {
    size_t free_bytes = 0, total_bytes = 0;
    cuda::free_and_total_memory(i, &free_bytes, &total_bytes);
    fmt::print("cuda:{}   {}, {} total, {} free\n", i, cuda::device_name(i), format_bytes(total_bytes), format_bytes(free_bytes));
  }
#endif
}

}  // namespace lab::tools

// The emulator's own test (CTest runs it in the emulator preset only; tests/cuda_emulator/CMakeLists.txt):
// `self_test answers` prints results a GPU would give (in every order of LAB_EMULATOR_SCHEDULE),
// `races` three races that the default order hides and another shows, and the other modes make the
// mistakes the emulator must catch (a divergent barrier, a shuffle its lanes never reach, host code
// reading device memory, and under AddressSanitizer a kernel reading past its buffer); CTest
// matches each run's output against what it must say.
#include <cstdio>
#include <cstring>

// Lanes 0-15 return, 16-31 wait at __syncthreads: undefined on a GPU, a fault here.
__global__ void divergent_barrier(int* out) {
  if (threadIdx.x < 16) return;
  __syncthreads();
  out[threadIdx.x] = 1;
}

// A butterfly over the warp: every lane ends with the sum of the 32 lane numbers of its warp.
__global__ void warp_sum(int* out) {
  int v = int(threadIdx.x);
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  out[threadIdx.x] = v;
}

// Only lanes 0-7 shuffle, with a mask that names all 32: the others never come.
__global__ void shuffle_without_its_lanes(int* out) {
  int v = int(threadIdx.x);
  if (threadIdx.x < 8) v = __shfl_down_sync(0xffffffffu, v, 1);
  out[threadIdx.x] = v;
}

// A tree sum in shared memory: each block's own 256 values, whatever the other blocks did.
__global__ void block_sum(int* out) {
  __shared__ int s[256];
  s[threadIdx.x] = int(threadIdx.x + blockIdx.x);
  __syncthreads();
  for (int half = 128; half > 0; half /= 2) {
    if (threadIdx.x < unsigned(half)) s[threadIdx.x] += s[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = s[0];
}

// Three races, each unseen in the default order of LAB_EMULATOR_SCHEDULE and a wrong answer in
// another. Each kernel's out[i] for i in 1..63 is i when nothing goes wrong.

// Thread i reads the shared value thread i - 1 writes, with no __syncthreads between. In index order
// thread i - 1 has always run first; highest rank first, none has.
__global__ void missing_barrier(int* out) {
  __shared__ int s[64];
  s[threadIdx.x] = int(threadIdx.x) + 1;
  out[threadIdx.x] = threadIdx.x > 0 ? s[threadIdx.x - 1] : 1;
}

// Block b reads what block b - 1 writes: a GPU runs blocks in no particular order.
__global__ void reads_previous_block(int* out) {
  out[64 + blockIdx.x] = int(blockIdx.x) + 1;
  out[blockIdx.x] = blockIdx.x > 0 ? out[64 + blockIdx.x - 1] : 1;
}

// One shared slot used twice, the second write with no __syncthreads after the first reads: the
// mistake cuda/block_reduce.cuh's first barrier prevents. When warp 0 runs ahead (lowest rank
// first), thread 0 overwrites the slot before warp 1 has read it.
__global__ void reused_slot(int* out) {
  __shared__ int slot;
  if (threadIdx.x == 0) slot = 0;
  __syncthreads();
  const int first = slot;  // 0, for every thread
  __syncwarp();
  if (threadIdx.x == 0) slot = 100;  // a __syncthreads() is missing before this
  __syncthreads();
  out[threadIdx.x] = first + slot - 100 + int(threadIdx.x);
}

// Each thread copies the element after its own: the last one reads one past the end of the
// buffer. On a GPU, garbage or nothing; under AddressSanitizer (the asan preset) a report.
__global__ void reads_past_the_end(const int* in, int* out) { out[threadIdx.x] = in[threadIdx.x + 1]; }

// How many of out[1..63] differ from out[i] = i (what the two kernels above give without a race).
int wrong_reads(const int* d) {
  int h[64];
  cudaMemcpy(h, d, sizeof(h), cudaMemcpyDeviceToHost);
  int wrong = 0;
  for (int i = 1; i < 64; i++) wrong += h[i] != i ? 1 : 0;
  return wrong;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "answers";
  int* d = nullptr;
  cudaMalloc(reinterpret_cast<void**>(&d), 256 * sizeof(int));
  int h[256];
  if (!std::strcmp(mode, "answers")) {
    warp_sum<<<1, 64>>>(d);
    cudaMemcpy(h, d, 64 * sizeof(int), cudaMemcpyDeviceToHost);
    std::printf("warp sums: %d %d\n", h[0], h[63]);  // 0+...+31 = 496; 32+...+63 = 1520
    block_sum<<<3, 256>>>(d);
    cudaMemcpy(h, d, 3 * sizeof(int), cudaMemcpyDeviceToHost);
    std::printf("block sums: %d %d %d\n", h[0], h[1], h[2]);  // 32640 + 256 b
    warp_sum<<<1, 2048>>>(d);
    std::printf("2048 threads a block: %s\n", cudaGetErrorName(cudaGetLastError()));
    std::printf("after reading it: %s\n", cudaGetErrorName(cudaGetLastError()));
    std::printf("a copy past the end of a buffer: %s\n", cudaGetErrorName(cudaMemcpy(h, d + 200, 100 * sizeof(int), cudaMemcpyDeviceToHost)));
  } else if (!std::strcmp(mode, "races")) {
    missing_barrier<<<1, 64>>>(d);
    std::printf("missing barrier: %d of 63 reads got an old value\n", wrong_reads(d));
    reads_previous_block<<<64, 1>>>(d);
    std::printf("previous block: %d of 63 reads got an unwritten value\n", wrong_reads(d));
    reused_slot<<<1, 64>>>(d);
    std::printf("reused slot: %d of 63 reads got the later value\n", wrong_reads(d));
  } else if (!std::strcmp(mode, "overrun")) {
    int* small = nullptr;
    cudaMalloc(reinterpret_cast<void**>(&small), 64 * sizeof(int));
    reads_past_the_end<<<1, 64>>>(small, d);
    std::printf("read past the end of a 64-int buffer, unnoticed\n");
    cudaFree(small);
  } else if (!std::strcmp(mode, "divergent")) {
    divergent_barrier<<<1, 64>>>(d);
  } else if (!std::strcmp(mode, "shuffle")) {
    shuffle_without_its_lanes<<<1, 32>>>(d);
  } else if (!std::strcmp(mode, "host_read")) {
    std::printf("%d\n", d[5]);  // host code dereferencing a device pointer
  }
  cudaFree(d);
  return 0;
}

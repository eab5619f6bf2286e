// uniform_index of world.h: the one place data/ turns PCG32's bits into an integer range.
// Not std::uniform_int_distribution: its output differs between standard libraries.
#include "data/world.h"

#include "tensor/error.h"

namespace lab::data::world {

int64_t uniform_index(Generator& gen, int64_t n) {
  LAB_ASSERT(n >= 1);
  if (uint64_t(n) <= (uint64_t(1) << 32)) {
    // accept x < limit, the largest multiple of n that is <= 2^32: then x mod n is uniform
    uint64_t limit = (uint64_t(1) << 32) - ((uint64_t(1) << 32) % uint64_t(n));
    for (;;) {
      uint64_t x = gen.next_u32();
      if (x < limit) return int64_t(x % uint64_t(n));
    }
  }
  // more than 2^32 choices (a token file of over 4 GiB): the same on 64 bits from two draws
  uint64_t limit = UINT64_MAX - (UINT64_MAX % uint64_t(n));  // accept x < limit
  for (;;) {
    uint64_t x = (uint64_t(gen.next_u32()) << 32) | gen.next_u32();
    if (x < limit) return int64_t(x % uint64_t(n));
  }
}

}  // namespace lab::data::world

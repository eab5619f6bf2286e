// A seeded random number generator that gives the same numbers on every platform.
//
// std::mt19937 is portable but std::normal_distribution and std::uniform_real_distribution are
// not (each standard library turns bits into floats its own way), so we do that step ourselves:
//   bits:    PCG32 (O'Neill 2014, pcg-random.org): 64-bit LCG state, xorshift + rotate output
//   uniform: the top 24 bits / 2^24, exactly representable, in [0, 1)
//   normal:  Box-Muller in double, z = sqrt(-2 ln u1) cos(2 pi u2), rounded to float
// The integer stream is bit-exact everywhere; the normal values depend only on IEEE double log/cos
// from the C library, which agree to the last bit of a float on every platform we know of.
#pragma once

#include <cstdint>

namespace lab {

class Generator {
public:
  explicit Generator(uint64_t seed = 0);
  uint32_t next_u32();
  float uniform();           // [0, 1)
  float normal();            // mean 0, std 1
  uint64_t seed() const { return seed_; }

private:
  uint64_t seed_, state_, inc_;
  bool has_spare_ = false;   // Box-Muller makes two normals at a time
  float spare_ = 0;
};

}  // namespace lab

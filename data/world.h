// The small world that the corpus (corpus.cpp) and the downstream task (task.cpp) share: who lives in
// it, what they own, the colours, places and animals, and the one way both draw from it at random.
//
// Kept small on purpose (about 200 distinct words in all): lesson 04's model sees under a million
// bytes, so each word must come back often enough to be learned. Names have at most 4 letters,
// colours 6 and objects 4, which keeps a task prompt short (task.h). Not here: sentences
// (corpus.cpp writes stories, task.cpp questions).
#pragma once

#include "tensor/random.h"

#include <array>
#include <cstdint>
#include <string_view>

namespace lab::data::world {

struct Person {
  std::string_view name, he, his;  // "Mia", "she", "her"
};

inline constexpr std::array<Person, 24> people{{
    {"Tom", "he", "his"},   {"Mia", "she", "her"}, {"Sam", "he", "his"},   {"Lily", "she", "her"}, {"Ben", "he", "his"},
    {"Anna", "she", "her"}, {"Max", "he", "his"},  {"Lucy", "she", "her"}, {"Jack", "he", "his"},  {"Emma", "she", "her"},
    {"Leo", "he", "his"},   {"Zoe", "she", "her"}, {"Finn", "he", "his"},  {"Ella", "she", "her"}, {"Noah", "he", "his"},
    {"Ruby", "she", "her"}, {"Owen", "he", "his"}, {"Nina", "she", "her"}, {"Jake", "he", "his"},  {"Rose", "she", "her"},
    {"Dan", "he", "his"},   {"Amy", "she", "her"}, {"Paul", "he", "his"},  {"Kate", "she", "her"},
}};
inline constexpr std::array<std::string_view, 11> colours{"red",   "blue",  "green",  "yellow", "pink", "black",
                                                          "white", "brown", "orange", "purple", "grey"};
inline constexpr std::array<std::string_view, 20> objects{"ball", "hat", "cup",  "box",  "kite", "book", "bag",
                                                          "car",  "boat", "doll", "drum", "coat", "key",  "lamp",
                                                          "sock", "bell", "bowl", "pen",  "cap",  "shoe"};
inline constexpr std::array<std::string_view, 12> places{"park", "garden", "house", "forest", "beach", "school",
                                                         "shop", "farm",   "river", "hill",   "lake",  "town"};
inline constexpr std::array<std::string_view, 12> animals{"cat", "dog",   "bird", "fish", "frog", "duck",
                                                          "cow", "horse", "pig",  "fox",  "owl",  "mouse"};
inline constexpr std::array<std::string_view, 8> animal_traits{"happy", "funny", "shy", "fast", "slow", "sleepy", "kind", "loud"};
inline constexpr std::array<std::string_view, 8> animal_acts{"ran away",       "jumped up",         "sat down",     "went to sleep",
                                                             "looked at them", "hid behind a tree", "made a sound", "came back"};
inline constexpr std::array<std::string_view, 10> foods{"apple", "cake", "bread", "soup", "pie", "egg", "cookie", "banana", "carrot", "pear"};
inline constexpr std::array<std::string_view, 5> food_traits{"good", "sweet", "warm", "big", "soft"};
inline constexpr std::array<std::string_view, 7> feelings{"happy", "sad", "tired", "glad", "scared", "hungry", "angry"};
inline constexpr std::array<std::string_view, 6> sizes{"big", "small", "old", "new", "little", "shiny"};
inline constexpr std::array<std::string_view, 5> weathers{"sunny", "cold", "warm", "windy", "rainy"};
inline constexpr std::array<std::string_view, 6> hiding_spots{"the bed", "a chair", "the table", "a tree", "the door", "a box"};

// A uniform integer in [0, n), n >= 1, without modulo bias (rejection sampling on PCG32's bits).
int64_t uniform_index(Generator& gen, int64_t n);

// One element of a list, uniformly.
template <typename T, size_t N> const T& pick(Generator& gen, const std::array<T, N>& list) {
  return list[size_t(uniform_index(gen, int64_t(N)))];
}

// True with probability num / den.
inline bool chance(Generator& gen, int64_t num, int64_t den) { return uniform_index(gen, den) < num; }

}  // namespace lab::data::world

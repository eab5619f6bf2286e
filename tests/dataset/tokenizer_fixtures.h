// The folder of tokenizer files that tests/reference/make_tokenizer_fixtures.py wrote (GPT-2's
// vocab.json + merges.txt, tokenizer.json files, and the ids `tokenizers` gave), shared by the BPE tests.
#pragma once

#include <string>

inline const std::string kTokenizerFixtures = LAB_TEST_DATA_DIR "/tokenizers/";

// Running the `loralab` program from a test: the exit status, stdout and stderr of one command
// line, the numbers it prints, a fresh temporary folder per test program, and tables of bad inputs
// checked row by row.
// LAB_LORALAB_BINARY comes from CMake.
// Used by test_loralab_eval.cpp and test_loralab_generate.cpp; the inspect checks are a shell
// script (test_loralab_inspect.sh) because they need no files made at test time.
#pragma once

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

struct CliResult {
  int code = -1;
  std::string out, err;
  // stderr holds exactly one line (what main() promises for every error)
  bool one_error_line() const { return !err.empty() && err.find('\n') == err.size() - 1; }
};

// The number after `label` at the start of a line of `out` ("loss        5.545177 nats/token"): the
// first line that starts with the label and then, after any spaces, a number.
inline double printed_value(const std::string& out, const std::string& label) {
  for (size_t line = 0; line < out.size();) {
    if (out.compare(line, label.size(), label) == 0) {
      size_t from = out.find_first_not_of(' ', line + label.size());
      size_t to = from == std::string::npos ? from : out.find_first_not_of("-+.0123456789e", from);
      if (from != std::string::npos && to != from) return std::stod(out.substr(from, to - from));
    }
    const size_t next = out.find('\n', line);
    line = next == std::string::npos ? out.size() : next + 1;
  }
  FAIL("no line starts with '" << label << "' and a number in:\n" << out);
  return 0;
}

inline std::string read_file_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// A folder of its own under the system's temporary folder: made empty on first use, removed when
// the test program ends.
inline std::filesystem::path test_temp_dir(const std::string& name) {
  namespace fs = std::filesystem;
  struct Made {
    std::set<fs::path> dirs;
    ~Made() {
      std::error_code ec;
      for (const fs::path& d : dirs) fs::remove_all(d, ec);
    }
  };
  static Made made;
  fs::path dir = fs::temp_directory_path() / ("loralab_test_" + name + "_" + std::to_string(getpid()));
  if (made.dirs.insert(dir).second) fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Runs LAB_LORALAB_BINARY with `args` (each passed as one argument, whatever it holds).
inline CliResult run_loralab(const std::vector<std::string>& args) {
  namespace fs = std::filesystem;
  fs::path dir = test_temp_dir("cli");
  auto quote = [](const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  };
  std::string command = quote(LAB_LORALAB_BINARY);
  for (const std::string& a : args) command += " " + quote(a);
  command += " >" + quote((dir / "out").string()) + " 2>" + quote((dir / "err").string());
  int status = std::system(command.c_str());
  CliResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file_text(dir / "out");
  r.err = read_file_text(dir / "err");
  return r;
}

// --- tables of bad inputs: each row is one command line, the exit status it must get, and a
// phrase that its one line on stderr must contain.

struct BadInput {
  std::string what;               // the input, in words (the first column of tests/README.md's table)
  std::vector<std::string> args;  // after `loralab`
  int code;                       // 1: the command failed (lab::Error), 2: a bad command line
  std::string phrase;
};

// With LAB_PRINT_BAD_INPUTS=1 in the environment, also prints each row as a line of the Markdown
// table in tests/README.md, with `shown_as` replacing the temporary folder's path.
inline void check_bad_inputs(const std::vector<BadInput>& rows, const std::string& temp_dir, const std::string& shown_as) {
  const bool print = std::getenv("LAB_PRINT_BAD_INPUTS") != nullptr;
  for (const BadInput& row : rows) {
    std::string line;
    auto shown = [&](std::string s) {
      for (size_t at; !temp_dir.empty() && (at = s.find(temp_dir)) != std::string::npos;) s.replace(at, temp_dir.size(), shown_as);
      return s;
    };
    for (const std::string& a : row.args)
      line += (line.empty() ? "" : " ") + (a.empty() || a.find(' ') != std::string::npos ? "'" + a + "'" : a);
    line = shown(line);
    CliResult r = run_loralab(row.args);
    INFO(row.what << ": loralab " << line << "\n  stdout: " << r.out << "\n  stderr: " << r.err);
    CHECK(r.code == row.code);
    CHECK(r.one_error_line());
    CHECK_THAT(r.err, Catch::Contains(row.phrase));
    std::string phrase = shown(row.phrase);  // and a '|' would end the Markdown cell
    for (size_t at = 0; (at = phrase.find('|', at)) != std::string::npos; at += 2) phrase.replace(at, 1, "\\|");
    if (print) std::printf("| %s | `loralab %s` | %s | %d |\n", row.what.c_str(), line.c_str(), phrase.c_str(), row.code);
  }
}

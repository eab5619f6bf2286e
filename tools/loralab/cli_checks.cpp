// The flag checks of cli_checks.h. Each returns "" when the value is fine, else the message CLI11
// prints after the flag's name.
#include "tools/loralab/cli_checks.h"

#include "tensor/device.h"
#include "tensor/error.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <string>

namespace lab::tools {

namespace fs = std::filesystem;

CLI::Validator whole_number_at_least(int64_t min) {
  return CLI::Validator(
      [min](std::string& s) -> std::string {
        // parsed as unsigned where no negative is allowed, so that a 64-bit --seed passes
        auto parses = [&s](auto& v) {
          auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
          return !s.empty() && ec == std::errc() && end == s.data() + s.size();
        };
        int64_t v = 0;
        uint64_t u = 0;
        bool ok = min >= 0 ? parses(u) && u >= uint64_t(min) : parses(v) && v >= min;
        return ok ? std::string() : fmt::format("must be a whole number >= {}, got '{}'", min, s);
      },
      fmt::format("INT>={}", min));
}

CLI::Validator finite_at_least(double min) {
  return CLI::Validator(
      [min](std::string& s) -> std::string {
        double v = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        bool ok = !s.empty() && ec == std::errc() && end == s.data() + s.size() && std::isfinite(v) && v >= min;
        return ok ? std::string() : fmt::format("must be a finite number >= {}, got '{}'", min, s);
      },
      fmt::format("FLOAT>={}", min));
}

CLI::Validator usable_device() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        try {
          require_device(parse_device(s));
          return std::string();
        } catch (const Error& e) {
          std::string m = e.what();  // drop lab::Error's "(at file:line)": the flag is where it went wrong
          size_t at = m.rfind(" (at ");
          return at == std::string::npos ? m : m.substr(0, at);
        }
      },
      "cpu|cuda|cuda:N");
}

CLI::Validator existing_folder(const char* what) {
  return CLI::Validator(
      [what](std::string& s) -> std::string {
        std::error_code ec;
        fs::file_status st = fs::status(s, ec);
        if (!fs::exists(st)) return fmt::format("{}: no such folder (expected {})", s, what);
        if (!fs::is_directory(st)) return fmt::format("{} is a file, expected a folder: {}", s, what);
        return std::string();
      },
      "DIR");
}

CLI::Validator existing_file(const char* what) {
  return CLI::Validator(
      [what](std::string& s) -> std::string {
        std::error_code ec;
        fs::file_status st = fs::status(s, ec);
        if (!fs::exists(st)) return fmt::format("{}: no such file (expected {})", s, what);
        if (fs::is_directory(st)) return fmt::format("{} is a folder, expected a file: {}", s, what);
        return std::string();
      },
      "FILE");
}

}  // namespace lab::tools

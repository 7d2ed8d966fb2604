// UTF-8 and Unicode helpers shared by the tokenizers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace reckoning {

// Appends code point `cp` (<= U+10FFFF) as UTF-8.
inline void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The well-formed UTF-8 character at `text[pos]`: its length in bytes (1-4) and code point, or
// length 0 where the bytes there are not one (overlong, surrogate, above U+10FFFF, cut short).
struct Utf8Char {
  int length = 0;
  uint32_t cp = 0;
};
inline Utf8Char utf8_char_at(std::string_view text, size_t pos) {
  const auto b = static_cast<unsigned char>(text[pos]);
  if (b < 0x80) return {1, b};
  int len = 0;
  uint32_t cp = 0;
  if ((b & 0xE0) == 0xC0) { len = 2; cp = b & 0x1F; }
  else if ((b & 0xF0) == 0xE0) { len = 3; cp = b & 0x0F; }
  else if ((b & 0xF8) == 0xF0) { len = 4; cp = b & 0x07; }
  else return {};
  if (pos + len > text.size()) return {};
  for (int k = 1; k < len; ++k) {
    const auto c = static_cast<unsigned char>(text[pos + k]);
    if ((c & 0xC0) != 0x80) return {};
    cp = (cp << 6) | (c & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {};
  return {len, cp};
}

// The well-formed character that ends at `text[pos]` and starts at or after `begin`, or length 0.
inline Utf8Char utf8_char_before(std::string_view text, size_t pos, size_t begin = 0) {
  if (pos <= begin) return {};
  size_t start = pos - 1;  // back over continuation bytes to the start of the last character
  while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  const Utf8Char c = utf8_char_at(text, start);
  return start + c.length == pos ? c : Utf8Char{};
}

// Unicode's White_Space property (Rust's char::is_whitespace, Python `regex`'s and Oniguruma's \s).
inline bool unicode_white_space(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

// The end of the run of White_Space characters that starts at `begin` (at most `end`).
inline size_t skip_white_space(std::string_view text, size_t begin, size_t end) {
  while (begin < end) {
    const Utf8Char c = utf8_char_at(text, begin);
    if (c.length == 0 || !unicode_white_space(c.cp)) break;
    begin += c.length;
  }
  return begin;
}

// The start of the run of White_Space characters that ends at `end` (at least `begin`).
inline size_t skip_white_space_back(std::string_view text, size_t begin, size_t end) {
  while (end > begin) {
    const Utf8Char c = utf8_char_before(text, end, begin);
    if (c.length == 0 || !unicode_white_space(c.cp)) break;
    end -= c.length;
  }
  return end;
}

// unicode_white_space as the inside of a PCRE2 character class ("[" + this + "]").
inline constexpr const char* kPcre2WhiteSpace =
    "\\t\\n\\x{0B}\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"
    "\\x{205F}\\x{3000}";

}  // namespace reckoning

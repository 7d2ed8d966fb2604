// Hugging Face tokenizers' normalizers, pre-tokenizers and decoders; see hf_pipeline.h. Each
// follows the Rust library's code (tokenizers/src/{normalizers,pre_tokenizers,decoders}), named
// in the comments where its behaviour is not obvious.
#include "reckoning/text/hf_pipeline.h"

#include <utf8proc.h>

#include <algorithm>
#include <memory>

#include "reckoning/base/error.h"
#include "reckoning/text/bpe_tokenizer.h"
#include "reckoning/text/pretokenizer.h"
#include "reckoning/text/regex.h"
#include "reckoning/text/utf8.h"

namespace reckoning {

namespace {

std::string type_of(const nlohmann::json& json, const std::string& where) {
  check(json.is_object() && json.contains("type") && json["type"].is_string(), where,
        "an object with a string field 'type'", json.dump().substr(0, 80));
  return json["type"].get<std::string>();
}

// Optional typed fields: the default when absent or null, else the value (type checked).
bool flag(const nlohmann::json& json, const char* key, bool fallback, const std::string& where) {
  if (!json.contains(key) || json[key].is_null()) return fallback;
  check(json[key].is_boolean(), str(where, ".", key), "true or false", json[key].dump().substr(0, 60));
  return json[key].get<bool>();
}
std::string text_field(const nlohmann::json& json, const char* key, const std::string& fallback, const std::string& where) {
  if (!json.contains(key) || json[key].is_null()) return fallback;
  check(json[key].is_string(), str(where, ".", key), "a string", json[key].dump().substr(0, 60));
  return json[key].get<std::string>();
}
int64_t integer(const nlohmann::json& json, const char* key, int64_t fallback, const std::string& where) {
  if (!json.contains(key) || json[key].is_null()) return fallback;
  check(json[key].is_number_integer() && json[key].get<int64_t>() >= 0, str(where, ".", key), "a non-negative integer",
        json[key].dump().substr(0, 60));
  return json[key].get<int64_t>();
}
const nlohmann::json& list(const nlohmann::json& json, const char* key, const std::string& where) {
  check(json.contains(key) && json[key].is_array(), str(where, ".", key), "an array",
        json.contains(key) ? json[key].dump().substr(0, 60) : std::string("none"));
  return json[key];
}
// A single character ("▁"), as Metaspace's and Strip's fields hold.
std::string one_char(const nlohmann::json& json, const char* key, const std::string& fallback, const std::string& where) {
  std::string c = text_field(json, key, fallback, where);
  const Utf8Char first = c.empty() ? Utf8Char{} : utf8_char_at(c, 0);
  check(first.length > 0 && static_cast<size_t>(first.length) == c.size(), str(where, ".", key), "one character",
        str("'", c, "'"));
  return c;
}

// A Split / Replace pattern: {"String": s} or {"Regex": r}.
struct Pattern {
  std::string literal;
  std::shared_ptr<const Regex> regex;

  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const {
    if (regex) return regex->find_all(text);
    std::vector<std::pair<size_t, size_t>> out;
    if (literal.empty()) return out;
    for (size_t at = text.find(literal); at != std::string_view::npos; at = text.find(literal, at + literal.size()))
      out.emplace_back(at, at + literal.size());
    return out;
  }
};

Pattern pattern_from_json(const nlohmann::json& json, const std::string& where) {
  check(json.is_object() && json.size() == 1 && (json.contains("String") || json.contains("Regex")), where,
        "{\"String\": ...} or {\"Regex\": ...}", json.dump().substr(0, 80));
  Pattern p;
  if (json.contains("String")) {
    p.literal = text_field(json, "String", "", where);
  } else {
    const std::string onig = text_field(json, "Regex", "", where);
    p.regex = std::make_shared<const Regex>(hf_regex_translate(onig, str(where, ".Regex")), str(where, ".Regex"));
  }
  return p;
}

std::string replace_all(std::string_view text, const Pattern& pattern, const std::string& content,
                        bool* start_deleted = nullptr) {
  std::string out;
  size_t pos = 0;
  for (const auto& [begin, end] : pattern.find_all(text)) {
    if (start_deleted != nullptr && begin == 0 && content.empty()) *start_deleted = true;
    out.append(text.substr(pos, begin - pos));
    out += content;
    pos = end;
  }
  out.append(text.substr(pos));
  return out;
}

// Rust's String::from_utf8_lossy: each maximal ill-formed subsequence becomes one U+FFFD.
std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    const Utf8Char c = utf8_char_at(bytes, i);
    if (c.length > 0) {
      out.append(bytes.substr(i, c.length));
      i += c.length;
      continue;
    }
    // The longest prefix of a well-formed sequence starting here (Unicode's "maximal subpart").
    const auto lead = static_cast<unsigned char>(bytes[i]);
    int need = lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3 : lead >= 0xF0 && lead <= 0xF4 ? 4 : 1;
    size_t used = 1;
    for (int k = 1; k < need && i + used < bytes.size(); ++k) {
      const auto b = static_cast<unsigned char>(bytes[i + used]);
      unsigned char lo = 0x80, hi = 0xBF;
      if (k == 1) {
        if (lead == 0xE0) lo = 0xA0;
        if (lead == 0xED) hi = 0x9F;
        if (lead == 0xF0) lo = 0x90;
        if (lead == 0xF4) hi = 0x8F;
      }
      if (b < lo || b > hi) break;
      ++used;
    }
    out += "\xEF\xBF\xBD";
    i += used;
  }
  return out;
}

// What the Lowercase normalizer runs (NormalizedString::lowercase): Rust's char::to_lowercase on
// each character alone - the full lowercase mapping, where U+0130 becomes "i" + U+0307 (the one
// unconditional multi-character mapping), and no context (capital sigma is always small sigma,
// never final sigma) - else utf8proc's simple mapping, which agrees everywhere else.
std::string lowercase(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const Utf8Char c = utf8_char_at(text, i);
    if (c.length == 0) {  // a byte that is not UTF-8 stays
      out += text[i++];
      continue;
    }
    if (c.cp == 0x130) {
      out += "i\xcc\x87";
    } else {
      utf8_append(out, static_cast<uint32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c.cp))));
    }
    i += c.length;
  }
  return out;
}

// ---- pre-tokenizer splitting (NormalizedString::split and the Pattern impls) ----

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

Behavior behavior_from(const std::string& name, const std::string& where) {
  if (name == "Removed") return Behavior::Removed;
  if (name == "Isolated") return Behavior::Isolated;
  if (name == "MergedWithPrevious") return Behavior::MergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::MergedWithNext;
  if (name == "Contiguous") return Behavior::Contiguous;
  throw_error(where, "Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous", str("'", name, "'"));
}

struct Span {
  size_t begin, end;
  bool match;
};

// The text cut into matches and the gaps between them, in order, covering all of it.
std::vector<Span> spans_of(size_t size, const std::vector<std::pair<size_t, size_t>>& matches) {
  std::vector<Span> spans;
  size_t prev = 0;
  for (const auto& [begin, end] : matches) {
    if (begin > prev) spans.push_back({prev, begin, false});
    spans.push_back({begin, end, true});
    prev = end;
  }
  if (prev < size) spans.push_back({prev, size, false});
  return spans;
}

// Applies a split behaviour; the pieces kept, as [begin, end).
std::vector<std::pair<size_t, size_t>> apply_behavior(std::vector<Span> spans, Behavior behavior, bool invert) {
  if (invert) {
    for (Span& s : spans) s.match = !s.match;
  }
  std::vector<std::pair<size_t, size_t>> out;
  bool previous_match = false;
  switch (behavior) {
    case Behavior::Removed:
      for (const Span& s : spans)
        if (!s.match) out.emplace_back(s.begin, s.end);
      break;
    case Behavior::Isolated:
      for (const Span& s : spans) out.emplace_back(s.begin, s.end);
      break;
    case Behavior::MergedWithPrevious:  // a match joins the piece before it (unless that is a match)
      for (const Span& s : spans) {
        if (s.match && !previous_match && !out.empty()) {
          out.back().second = s.end;
        } else {
          out.emplace_back(s.begin, s.end);
        }
        previous_match = s.match;
      }
      break;
    case Behavior::MergedWithNext:  // a match joins the piece after it (unless that is a match)
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->match && !previous_match && !out.empty()) {
          out.back().first = it->begin;
        } else {
          out.emplace_back(it->begin, it->end);
        }
        previous_match = it->match;
      }
      std::reverse(out.begin(), out.end());
      break;
    case Behavior::Contiguous:  // runs of matches (and of non-matches) become one piece each
      for (size_t i = 0; i < spans.size(); ++i) {
        if (i > 0 && spans[i].match == previous_match) {
          out.back().second = spans[i].end;
        } else {
          out.emplace_back(spans[i].begin, spans[i].end);
        }
        previous_match = spans[i].match;
      }
      break;
  }
  return out;
}

// Splits every piece with `cut` (piece text -> kept [begin, end) ranges); empty pieces are dropped
// (PreTokenizedString::split). Only the first sub-piece of a piece at the start stays at the start.
template <typename Cut>
std::vector<HfPiece> split_pieces(const std::vector<HfPiece>& pieces, Cut cut) {
  std::vector<HfPiece> out;
  for (const HfPiece& piece : pieces) {
    for (const auto& [begin, end] : cut(piece)) {
      if (end > begin) out.push_back({piece.text.substr(begin, end - begin), piece.at_start && begin == 0});
    }
  }
  return out;
}

// Matches of a per-character predicate, as the Rust Pattern impl for Fn(char) -> bool gives them:
// each matching character on its own.
std::vector<std::pair<size_t, size_t>> char_matches(std::string_view text, bool (*predicate)(uint32_t)) {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i < text.size();) {
    const Utf8Char c = utf8_char_at(text, i);
    const size_t len = c.length > 0 ? c.length : 1;
    if (c.length > 0 && predicate(c.cp)) out.emplace_back(i, i + len);
    i += len;
  }
  return out;
}

// Rust's char::is_numeric: general categories Nd, Nl, No.
bool is_numeric(uint32_t cp) {
  const utf8proc_category_t c = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

HfPreTokenizer byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex) {
  return [add_prefix_space, use_regex](std::vector<HfPiece> pieces) {
    std::vector<HfPiece> out;
    for (HfPiece& piece : pieces) {
      if (add_prefix_space && (piece.text.empty() || piece.text[0] != ' ')) piece.text.insert(0, " ");
      if (use_regex) {
        bool first = true;
        for (std::string_view part : gpt2_pretokenize(piece.text)) {
          out.push_back({gpt2_bytes_to_unicode(part), piece.at_start && first});
          first = false;
        }
      } else if (!piece.text.empty()) {
        out.push_back({gpt2_bytes_to_unicode(piece.text), piece.at_start});
      }
    }
    return out;
  };
}

enum class Prepend { Always, First, Never };

Prepend prepend_scheme(const nlohmann::json& json, const std::string& where) {
  if (json.contains("prepend_scheme") && !json["prepend_scheme"].is_null()) {
    const std::string scheme = text_field(json, "prepend_scheme", "", where);
    if (scheme == "always") return Prepend::Always;
    if (scheme == "first") return Prepend::First;
    if (scheme == "never") return Prepend::Never;
    throw_error(str(where, ".prepend_scheme"), "\"always\", \"first\" or \"never\"", str("'", scheme, "'"));
  }
  return flag(json, "add_prefix_space", true, where) ? Prepend::Always : Prepend::Never;  // before tokenizers 0.14
}

}  // namespace

std::string hf_regex_translate(const std::string& pattern, const std::string& where) {
  const std::string ws = kPcre2WhiteSpace;
  std::string out;
  int depth = 0;             // character-class nesting (Oniguruma allows nested classes)
  size_t class_start = 0;    // where the innermost open class's content begins
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[++i];
      if (next == 's') {
        out += depth > 0 ? ws : "[" + ws + "]";
      } else if (next == 'S') {
        check(depth == 0, where, "no \\S inside a character class (it has no Unicode White_Space rewriting here)",
              str("'", pattern, "'"));
        out += "[^" + ws + "]";
      } else {
        out += c;
        out += next;
      }
      continue;
    }
    if (c == '[') {
      // "[:alpha:]" inside a class is a POSIX class, not a nested one; both nest the same way.
      ++depth;
      out += c;
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      class_start = i + 1;
      continue;
    }
    if (c == ']' && depth > 0 && i != class_start) {
      --depth;
      out += c;
      continue;
    }
    out += c;
  }
  return out;
}

std::string unicode_normalize(std::string_view text, const std::string& form) {
  int options = UTF8PROC_STABLE;
  if (form == "NFC") options |= UTF8PROC_COMPOSE;
  else if (form == "NFD") options |= UTF8PROC_DECOMPOSE;
  else if (form == "NFKC") options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
  else if (form == "NFKD") options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
  else throw_error("unicode_normalize: form", "NFC, NFD, NFKC or NFKD", form);
  std::string out;
  auto flush = [&](size_t begin, size_t end) {
    if (end <= begin) return;
    utf8proc_uint8_t* mapped = nullptr;
    const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + begin),
                                            static_cast<utf8proc_ssize_t>(end - begin), &mapped,
                                            static_cast<utf8proc_option_t>(options));
    check(n >= 0, str("Unicode ", form, " normalization"), "valid UTF-8", utf8proc_errmsg(n));
    out.append(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n));
    std::free(mapped);
  };
  size_t run = 0, i = 0;
  while (i < text.size()) {
    const Utf8Char c = utf8_char_at(text, i);
    if (c.length > 0) {
      i += c.length;
      continue;
    }
    flush(run, i);  // a byte that is not UTF-8 stays as it is
    out += text[i];
    run = ++i;
  }
  flush(run, text.size());
  return out;
}

HfNormalizer hf_normalizer_from_json(const nlohmann::json& json, const std::string& where) {
  if (json.is_null()) return [](HfNormalized n) { return n; };
  const std::string type = type_of(json, where);
  if (type == "Sequence") {
    std::vector<HfNormalizer> steps;
    const nlohmann::json& items = list(json, "normalizers", where);
    for (size_t i = 0; i < items.size(); ++i)
      steps.push_back(hf_normalizer_from_json(items[i], str(where, ".normalizers[", i, "]")));
    return [steps](HfNormalized n) {
      for (const HfNormalizer& step : steps) n = step(std::move(n));
      return n;
    };
  }
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD")
    return [type](HfNormalized n) { return HfNormalized{unicode_normalize(n.text, type), n.start_kept}; };
  if (type == "Lowercase") return [](HfNormalized n) { return HfNormalized{lowercase(n.text), n.start_kept}; };
  if (type == "Prepend") {
    // The prepended text is aligned with the first character: the start stays where it was.
    const std::string prepend = text_field(json, "prepend", "", where);
    return [prepend](HfNormalized n) {
      if (!n.text.empty()) n.text.insert(0, prepend);
      return n;
    };
  }
  if (type == "Replace") {
    const Pattern pattern = pattern_from_json(json.value("pattern", nlohmann::json()), str(where, ".pattern"));
    const std::string content = text_field(json, "content", "", where);
    return [pattern, content](HfNormalized n) {
      bool start_deleted = false;
      n.text = replace_all(n.text, pattern, content, &start_deleted);
      n.start_kept = n.start_kept && !start_deleted;
      return n;
    };
  }
  if (type == "Strip") {
    const bool left = flag(json, "strip_left", true, where), right = flag(json, "strip_right", true, where);
    return [left, right](HfNormalized n) {
      const std::string& text = n.text;
      const size_t begin = left ? skip_white_space(text, 0, text.size()) : 0;
      const size_t end = right ? skip_white_space_back(text, begin, text.size()) : text.size();
      return HfNormalized{text.substr(begin, end - begin), n.start_kept && begin == 0};
    };
  }
  throw_error(str(where, ".type"), "a supported normalizer: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace or Strip",
              str("'", type, "'"));
}

HfPreTokenizer hf_pre_tokenizer_from_json(const nlohmann::json& json, const std::string& where) {
  if (json.is_null()) return [](std::vector<HfPiece> pieces) { return pieces; };
  const std::string type = type_of(json, where);
  if (type == "Sequence") {
    std::vector<HfPreTokenizer> steps;
    const nlohmann::json& items = list(json, "pretokenizers", where);
    for (size_t i = 0; i < items.size(); ++i)
      steps.push_back(hf_pre_tokenizer_from_json(items[i], str(where, ".pretokenizers[", i, "]")));
    return [steps](std::vector<HfPiece> pieces) {
      for (const HfPreTokenizer& step : steps) pieces = step(std::move(pieces));
      return pieces;
    };
  }
  if (type == "Split") {
    const Pattern pattern = pattern_from_json(json.value("pattern", nlohmann::json()), str(where, ".pattern"));
    const Behavior behavior = behavior_from(text_field(json, "behavior", "", where), str(where, ".behavior"));
    const bool invert = flag(json, "invert", false, where);
    return [pattern, behavior, invert](std::vector<HfPiece> pieces) {
      return split_pieces(pieces, [&](const HfPiece& p) {
        return apply_behavior(spans_of(p.text.size(), pattern.find_all(p.text)), behavior, invert);
      });
    };
  }
  if (type == "ByteLevel")
    return byte_level_pre_tokenizer(flag(json, "add_prefix_space", true, where), flag(json, "use_regex", true, where));
  if (type == "Metaspace") {
    const std::string replacement = one_char(json, "replacement", "\xE2\x96\x81", where);
    const Prepend prepend = prepend_scheme(json, where);
    const bool split = flag(json, "split", true, where);
    return [replacement, prepend, split](std::vector<HfPiece> pieces) {
      for (HfPiece& p : pieces) {
        p.text = replace_all(p.text, Pattern{" ", nullptr}, replacement);
        const bool starts = p.text.compare(0, replacement.size(), replacement) == 0;
        if (!starts && (prepend == Prepend::Always || (prepend == Prepend::First && p.at_start))) p.text.insert(0, replacement);
      }
      if (!split) return pieces;
      return split_pieces(pieces, [&](const HfPiece& p) {
        return apply_behavior(spans_of(p.text.size(), Pattern{replacement, nullptr}.find_all(p.text)),
                              Behavior::MergedWithNext, false);
      });
    };
  }
  if (type == "Digits") {
    const bool individual = flag(json, "individual_digits", false, where);
    return [individual](std::vector<HfPiece> pieces) {
      return split_pieces(pieces, [&](const HfPiece& p) {
        return apply_behavior(spans_of(p.text.size(), char_matches(p.text, is_numeric)),
                              individual ? Behavior::Isolated : Behavior::Contiguous, false);
      });
    };
  }
  throw_error(str(where, ".type"), "a supported pre-tokenizer: Sequence, Split, ByteLevel, Metaspace or Digits",
              str("'", type, "'"));
}

HfDecoder hf_decoder_from_json(const nlohmann::json& json, const std::string& where) {
  if (json.is_null()) {
    return [](std::vector<std::string> tokens) {
      std::string joined;
      for (size_t i = 0; i < tokens.size(); ++i) joined += (i ? " " : "") + tokens[i];
      return std::vector<std::string>{joined};
    };
  }
  const std::string type = type_of(json, where);
  if (type == "Sequence") {
    std::vector<HfDecoder> steps;
    const nlohmann::json& items = list(json, "decoders", where);
    for (size_t i = 0; i < items.size(); ++i)
      steps.push_back(hf_decoder_from_json(items[i], str(where, ".decoders[", i, "]")));
    return [steps](std::vector<std::string> tokens) {
      for (const HfDecoder& step : steps) tokens = step(std::move(tokens));
      return tokens;
    };
  }
  if (type == "ByteLevel") {
    // Every token of byte-level characters back to its bytes; a token with any other character
    // stands for its own UTF-8 (an added token). One string, made valid UTF-8.
    return [](std::vector<std::string> tokens) {
      std::string bytes;
      for (const std::string& t : tokens) {
        const std::optional<std::string> b = gpt2_unicode_to_bytes(t);
        bytes += b ? *b : t;
      }
      return std::vector<std::string>{utf8_lossy(bytes)};
    };
  }
  if (type == "Replace") {
    const Pattern pattern = pattern_from_json(json.value("pattern", nlohmann::json()), str(where, ".pattern"));
    const std::string content = text_field(json, "content", "", where);
    return [pattern, content](std::vector<std::string> tokens) {
      for (std::string& t : tokens) t = replace_all(t, pattern, content);
      return tokens;
    };
  }
  if (type == "ByteFallback") {
    // Runs of "<0xAB>" tokens become the text their bytes spell, or one U+FFFD per byte when those
    // bytes are not UTF-8 (decoders/byte_fallback.rs).
    return [](std::vector<std::string> tokens) {
      std::vector<std::string> out;
      std::string pending;
      size_t pending_count = 0;
      auto flush = [&] {
        if (pending_count == 0) return;
        if (utf8_is_valid(pending)) {
          out.push_back(pending);
        } else {
          for (size_t k = 0; k < pending_count; ++k) out.push_back("\xEF\xBF\xBD");
        }
        pending.clear();
        pending_count = 0;
      };
      for (std::string& t : tokens) {
        int byte = -1;
        if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
          try {
            size_t used = 0;
            const int v = std::stoi(t.substr(3, 2), &used, 16);
            if (used == 2) byte = v;
          } catch (const std::exception&) {
          }
        }
        if (byte >= 0) {
          pending += static_cast<char>(byte);
          ++pending_count;
        } else {
          flush();
          out.push_back(std::move(t));
        }
      }
      flush();
      return out;
    };
  }
  if (type == "Fuse") {
    return [](std::vector<std::string> tokens) {
      std::string joined;
      for (const std::string& t : tokens) joined += t;
      return std::vector<std::string>{joined};
    };
  }
  if (type == "Strip") {
    const std::string content = one_char(json, "content", " ", where);
    const int64_t start = integer(json, "start", 0, where), stop = integer(json, "stop", 0, where);
    return [content, start, stop](std::vector<std::string> tokens) {
      for (std::string& t : tokens) {
        size_t begin = 0, end = t.size();
        for (int64_t k = 0; k < start && t.compare(begin, content.size(), content) == 0 && begin < end; ++k)
          begin += content.size();
        for (int64_t k = 0; k < stop && end >= begin + content.size() &&
                            t.compare(end - content.size(), content.size(), content) == 0;
             ++k)
          end -= content.size();
        t = t.substr(begin, end - begin);
      }
      return tokens;
    };
  }
  if (type == "Metaspace") {
    const std::string replacement = one_char(json, "replacement", "\xE2\x96\x81", where);
    const Prepend prepend = prepend_scheme(json, where);
    // Every replacement character becomes a space, except in the first token, where they are
    // dropped unless nothing was prepended (decoders/metaspace.rs).
    return [replacement, prepend](std::vector<std::string> tokens) {
      for (size_t i = 0; i < tokens.size(); ++i)
        tokens[i] = replace_all(tokens[i], Pattern{replacement, nullptr}, i == 0 && prepend != Prepend::Never ? "" : " ");
      return tokens;
    };
  }
  throw_error(str(where, ".type"),
              "a supported decoder: Sequence, ByteLevel, Replace, ByteFallback, Fuse, Strip or Metaspace",
              str("'", type, "'"));
}

bool hf_has_byte_level(const nlohmann::json& json) {
  if (!json.is_object()) return false;
  if (json.value("type", std::string()) == "ByteLevel") return true;
  for (const char* key : {"pretokenizers", "decoders", "normalizers"}) {
    if (json.contains(key) && json[key].is_array()) {
      for (const nlohmann::json& item : json[key])
        if (hf_has_byte_level(item)) return true;
    }
  }
  return false;
}

}  // namespace reckoning

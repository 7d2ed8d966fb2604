// Word tokenizer: whole GPT-2 pre-tokens plus byte fallback; see word_tokenizer.h.
#include "reckoning/text/word_tokenizer.h"

#include <algorithm>
#include <fstream>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/text/pretokenizer.h"

namespace reckoning {

namespace {

const char* const kFormat = "reckoning-word-tokenizer";

std::string quote_token(std::string_view s) {
  return "'" + (s.size() > 60 ? std::string(s.substr(0, 60)) + "..." : std::string(s)) + "'";
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

WordTokenizer::WordTokenizer(std::vector<std::string> words, const std::string& where)
    : words_(std::move(words)) {
  for (size_t i = 0; i < words_.size(); ++i) {
    const std::string& w = words_[i];
    std::string at = str(where, "[", i, "]");
    check(w.size() >= 2, at, "a word of at least two bytes (single bytes have byte ids)", quote_token(w));
    check(utf8_is_valid(w), at, "valid UTF-8", quote_token(w));
    check(w != kEndOfText, at, "an ordinary word", "the special token <|endoftext|>");
    auto [it, inserted] = word_ids_.emplace(w, kFirstWordId + static_cast<int64_t>(i));
    check(inserted, at, "each word once", str(quote_token(w), ", also at index ", it->second - kFirstWordId));
  }
}

std::vector<int64_t> WordTokenizer::encode(const std::string& text) const {
  std::vector<int64_t> out;
  static const std::vector<std::string> specials = {kEndOfText};
  for (const TextSegment& segment : split_special_tokens(text, specials)) {
    if (segment.special >= 0) {
      out.push_back(kEosId);
      continue;
    }
    for (std::string_view piece : gpt2_pretokenize(segment.text)) {
      auto it = piece.size() >= 2 ? word_ids_.find(std::string(piece)) : word_ids_.end();
      if (it != word_ids_.end()) {
        out.push_back(it->second);
      } else {
        for (char c : piece) out.push_back(static_cast<unsigned char>(c));
      }
    }
  }
  return out;
}

std::string WordTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    int64_t id = ids[i];
    check(id >= 0 && id < vocab_size(), str("decode: ids[", i, "]"),
          str("a token id in [0, ", vocab_size(), ")"), std::to_string(id));
    if (id < 256) {
      out += static_cast<char>(id);
    } else if (id == kEosId) {
      out += kEndOfText;
    } else {
      out += words_[id - kFirstWordId];
    }
  }
  return out;
}

void WordTokenizer::save(const std::string& dir) const { word_tokenizer_save(*this, dir); }

std::unique_ptr<WordTokenizer> word_tokenizer_build(const std::vector<std::string>& corpus,
                                                    int64_t min_count, int64_t max_size) {
  check(min_count >= 1, "word_tokenizer_build: min_count", "an integer >= 1", std::to_string(min_count));
  check(max_size == 0 || max_size >= WordTokenizer::kFirstWordId, "word_tokenizer_build: max_size",
        "0 (no limit) or at least 257 (256 bytes + <|endoftext|>)", std::to_string(max_size));
  static const std::vector<std::string> specials = {kEndOfText};
  std::unordered_map<std::string, int64_t> counts;
  for (const std::string& text : corpus) {
    for (const TextSegment& segment : split_special_tokens(text, specials)) {
      if (segment.special >= 0) continue;
      for (std::string_view piece : gpt2_pretokenize(segment.text))
        if (piece.size() >= 2) ++counts[std::string(piece)];
    }
  }
  std::vector<std::pair<std::string, int64_t>> kept;
  for (auto& [word, count] : counts)
    if (count >= min_count && utf8_is_valid(word)) kept.emplace_back(word, count);
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (max_size > 0 && static_cast<int64_t>(kept.size()) > max_size - WordTokenizer::kFirstWordId)
    kept.resize(max_size - WordTokenizer::kFirstWordId);
  std::vector<std::string> words;
  words.reserve(kept.size());
  for (auto& [word, count] : kept) words.push_back(std::move(word));
  return std::make_unique<WordTokenizer>(std::move(words));
}

std::vector<std::string> word_tokenizer_read_corpus(const std::string& path,
                                                    const std::vector<std::string>& fields) {
  std::string contents = read_file(path);
  bool json_lines = ends_with(path, ".jsonl") || ends_with(path, ".json");
  std::vector<std::string> texts;
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < contents.size()) {
    size_t end = contents.find('\n', pos);
    if (end == std::string::npos) end = contents.size();
    std::string line = contents.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!json_lines) {
      texts.push_back(std::move(line));
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::string where = str(path, ":", line_no);
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw_error(where, "a JSON object", str("invalid JSON (", e.what(), ")"));
    }
    check(record.is_object(), where, "a JSON object", record.type_name());
    for (const std::string& field : fields) {
      std::string at = str(where, ": field '", field, "'");
      check(record.contains(field), at, "a string or an array of strings", "none");
      const nlohmann::json& value = record[field];
      if (value.is_string()) {
        texts.push_back(value.get<std::string>());
        continue;
      }
      check(value.is_array(), at, "a string or an array of strings", value.dump().substr(0, 60));
      for (const nlohmann::json& item : value) {
        check(item.is_string(), at, "a string or an array of strings",
              str("an array holding ", item.dump().substr(0, 60)));
        texts.push_back(item.get<std::string>());
      }
    }
  }
  return texts;
}

std::unique_ptr<WordTokenizer> word_tokenizer_load(const std::string& path) {
  nlohmann::json json = read_json_file(path);
  check(json.is_object(), path, "a JSON object", json.type_name());
  // Compared as JSON: a number there is a wrong format, not a type error of the JSON library.
  check(json.contains("format") && json["format"] == kFormat, str(path, ": field 'format'"),
        str("\"", kFormat, "\""), json.contains("format") ? json["format"].dump() : "none");
  check(json.contains("version") && json["version"] == 1, str(path, ": field 'version'"), "1",
        json.contains("version") ? json["version"].dump() : "none");
  check(json.contains("words") && json["words"].is_array(), str(path, ": field 'words'"),
        "an array of strings", json.contains("words") ? json["words"].type_name() : "none");
  std::vector<std::string> words;
  const nlohmann::json& list = json["words"];
  for (size_t i = 0; i < list.size(); ++i) {
    check(list[i].is_string(), str(path, ": words[", i, "]"), "a string", list[i].dump().substr(0, 60));
    words.push_back(list[i].get<std::string>());
  }
  return std::make_unique<WordTokenizer>(std::move(words), str(path, ": words"));
}

void word_tokenizer_save(const WordTokenizer& tokenizer, const std::string& dir) {
  nlohmann::ordered_json json = {{"format", kFormat},
                                 {"version", 1},
                                 {"eos_token", kEndOfText},
                                 {"eos_id", WordTokenizer::kEosId},
                                 {"byte_ids", "0..255 are the bytes 0x00..0xff"},
                                 {"first_word_id", WordTokenizer::kFirstWordId},
                                 {"words", tokenizer.words()}};
  write_file_atomic(path_join(dir, kWordTokenizerFile), json.dump(1) + "\n");
  tokenizer_write_marker(dir, "word",
                         {{"tokenizer_class", "ReckoningWordTokenizer"}, {"eos_token", kEndOfText}});
}

}  // namespace reckoning

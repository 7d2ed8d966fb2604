// GPT-2 byte-level BPE: byte table, BPE model, decoder, file formats; see bpe_tokenizer.h.
// The merge loop is the priority-queue form of GPT-2's "merge the lowest-ranked pair everywhere,
// left to right, repeat" (as in Hugging Face tokenizers' Word::merge_all): same result, but
// O(n log n) on the long pre-tokens that runs of spaces or digits produce.
#include "reckoning/text/bpe_tokenizer.h"

#include <algorithm>
#include <array>
#include <functional>
#include <queue>
#include <tuple>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/text/pretokenizer.h"
#include "reckoning/text/utf8.h"

namespace reckoning {

namespace {

const std::array<uint32_t, 256>& byte_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    uint32_t n = 0;
    for (uint32_t b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      t[b] = printable ? b : 256 + n++;
    }
    return t;
  }();
  return table;
}

// Code point -> byte for the 256 code points of byte_table(), -1 elsewhere (all are < 324).
const std::array<int, 324>& unicode_table() {
  static const std::array<int, 324> table = [] {
    std::array<int, 324> t;
    t.fill(-1);
    for (int b = 0; b < 256; ++b) t[byte_table()[b]] = b;
    return t;
  }();
  return table;
}

// A token for an error message: quoted, cut to 60 bytes.
std::string quote_token(std::string_view s) {
  std::string out = "'";
  out += s.size() > 60 ? std::string(s.substr(0, 60)) + "..." : std::string(s);
  return out + "'";
}

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

std::unordered_map<std::string, int64_t> parse_vocab(const nlohmann::json& json,
                                                     const std::string& where) {
  check(json.is_object(), where, "a JSON object {token: id}", json.type_name());
  std::unordered_map<std::string, int64_t> vocab;
  for (const auto& [token, id] : json.items()) {
    check(id.is_number_integer(), str(where, ": token ", quote_token(token)), "an integer id",
          id.dump().substr(0, 60));
    vocab.emplace(token, id.get<int64_t>());
  }
  return vocab;
}

std::vector<BpeMerge> parse_merges_file(const std::string& path) {
  std::string text = read_file(path);
  std::vector<BpeMerge> merges;
  size_t pos = 0;
  int64_t line_no = 0;
  int64_t first_empty = 0;  // an empty line is only allowed at the end of the file
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no == 1 && line.substr(0, 8) == "#version") continue;
    if (line.empty()) {
      if (first_empty == 0) first_empty = line_no;
      continue;
    }
    if (first_empty != 0) bpe_merge_parse("", str(path, ":", first_empty));
    BpeMerge merge = bpe_merge_parse(line, str(path, ":", line_no));
    merge.line = line_no;
    merges.push_back(std::move(merge));
  }
  return merges;
}

// Adds {content: id} to `vocab` for an added token, refusing an id clash.
void add_special(std::unordered_map<std::string, int64_t>& vocab, std::vector<std::string>& specials,
                 const std::string& content, int64_t id, const std::string& where) {
  auto it = vocab.find(content);
  if (it == vocab.end()) {
    vocab.emplace(content, id);
  } else {
    check(it->second == id, where, str("the id the vocabulary gives ", quote_token(content), " (",
                                       it->second, ")"),
          std::to_string(id));
  }
  specials.push_back(content);
}

}  // namespace

BpeMerge bpe_merge_parse(std::string_view line, const std::string& where) {
  size_t space = line.find(' ');
  bool ok = space != std::string_view::npos && space > 0 && space + 1 < line.size() &&
            line.find(' ', space + 1) == std::string_view::npos;
  check(ok, where, "two symbols separated by one space",
        line.empty() ? std::string("an empty line") : quote_token(line));
  return {std::string(line.substr(0, space)), std::string(line.substr(space + 1)), 0};
}

std::optional<int32_t> BpeMergeTable::add(int32_t left, int32_t right, int32_t rank, int32_t merged) {
  auto [it, inserted] = rules_.emplace(pair_key(left, right), Rule{rank, merged});
  if (inserted) return std::nullopt;
  return it->second.rank;
}

std::vector<int32_t> BpeMergeTable::apply(std::vector<int32_t> ids) const {
  const int32_t n = static_cast<int32_t>(ids.size());
  if (n < 2) return ids;
  // Symbols form a linked list in text order; a merge folds the right symbol into the left one,
  // so a symbol's index stays its position and the queue's (rank, index) order is "lowest rank
  // first, then left to right".
  struct Symbol {
    int32_t id, prev, next;
  };
  std::vector<Symbol> symbols(n);
  for (int32_t i = 0; i < n; ++i) symbols[i] = {ids[i], i - 1, i + 1 < n ? i + 1 : -1};
  using Candidate = std::tuple<int32_t, int32_t, int32_t>;  // (rank, left index, right index)
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  auto consider = [&](int32_t left) {
    if (left < 0) return;
    int32_t right = symbols[left].next;
    if (right < 0) return;
    auto it = rules_.find(pair_key(symbols[left].id, symbols[right].id));
    if (it != rules_.end()) queue.emplace(it->second.rank, left, right);
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i);
  while (!queue.empty()) {
    auto [rank, left, right] = queue.top();
    queue.pop();
    // Skip candidates made stale by an earlier merge of either symbol.
    if (symbols[left].id < 0 || symbols[left].next != right || symbols[right].id < 0) continue;
    auto it = rules_.find(pair_key(symbols[left].id, symbols[right].id));
    if (it == rules_.end() || it->second.rank != rank) continue;
    symbols[left].id = it->second.merged;
    symbols[left].next = symbols[right].next;
    if (symbols[right].next >= 0) symbols[symbols[right].next].prev = left;
    symbols[right].id = -1;
    consider(symbols[left].prev);
    consider(left);
  }
  std::vector<int32_t> out;
  for (int32_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
  return out;
}

uint32_t gpt2_byte_to_unicode(uint8_t b) { return byte_table()[b]; }

std::string gpt2_bytes_to_unicode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) utf8_append(out, byte_table()[static_cast<unsigned char>(c)]);
  return out;
}

std::optional<std::string> gpt2_unicode_to_bytes(std::string_view symbol) {
  if (!utf8_is_valid(symbol)) return std::nullopt;
  std::string out;
  size_t i = 0;
  while (i < symbol.size()) {
    auto b = static_cast<unsigned char>(symbol[i]);
    uint32_t cp;
    if (b < 0x80) {
      cp = b;
      i += 1;
    } else if ((b & 0xE0) == 0xC0) {
      cp = ((b & 0x1F) << 6) | (static_cast<unsigned char>(symbol[i + 1]) & 0x3F);
      i += 2;
    } else {
      return std::nullopt;  // three- and four-byte code points are all above U+0143
    }
    if (cp >= unicode_table().size() || unicode_table()[cp] < 0) return std::nullopt;
    out += static_cast<char>(unicode_table()[cp]);
  }
  return out;
}

BpeTokenizer::BpeTokenizer(const std::unordered_map<std::string, int64_t>& vocab,
                           const std::vector<BpeMerge>& merges,
                           std::vector<std::string> special_tokens, const BpeSource& source)
    : merges_(merges) {
  const int64_t n = static_cast<int64_t>(vocab.size());
  check(n > 0, source.vocab, "a non-empty vocabulary", "no tokens");
  tokens_.assign(n, std::string());
  std::vector<bool> seen(n, false);
  for (const auto& [token, id] : vocab) {
    check(id >= 0 && id < n, str(source.vocab, ": token ", quote_token(token)),
          str("an id in [0, ", n, ") (ids must be 0..n-1, each once)"), std::to_string(id));
    check(!seen[id], str(source.vocab, ": token ", quote_token(token)), "an id no other token has",
          str("id ", id, ", also used by ", quote_token(tokens_[id])));
    seen[id] = true;
    tokens_[id] = token;
  }
  token_ids_ = vocab;

  if (std::find(special_tokens.begin(), special_tokens.end(), kEndOfText) == special_tokens.end())
    special_tokens.push_back(kEndOfText);
  special_tokens_ = std::move(special_tokens);
  for (const auto& special : special_tokens_) {
    auto it = token_ids_.find(special);
    check(it != token_ids_.end(), str(source.vocab, ": special token ", quote_token(special)),
          "it in the vocabulary", "none");
    special_ids_.push_back(it->second);
  }
  eos_id_ = token_ids_.at(kEndOfText);

  token_bytes_.assign(n, std::string());
  for (int64_t id = 0; id < n; ++id) {
    if (std::find(special_ids_.begin(), special_ids_.end(), id) != special_ids_.end()) {
      token_bytes_[id] = tokens_[id];  // specials stand for their literal text
      continue;
    }
    std::optional<std::string> bytes = gpt2_unicode_to_bytes(tokens_[id]);
    check(bytes.has_value() && !bytes->empty(), str(source.vocab, ": token ", quote_token(tokens_[id])),
          "a non-empty string of GPT-2 byte-level characters (bytes_to_unicode)",
          "characters outside that table");
    token_bytes_[id] = std::move(*bytes);
  }
  for (int b = 0; b < 256; ++b) {
    auto it = token_ids_.find(gpt2_bytes_to_unicode(std::string(1, static_cast<char>(b))));
    check(it != token_ids_.end(), source.vocab,
          "a token for every byte (GPT-2 byte-level BPE)",
          str("none for byte 0x", "0123456789abcdef"[b >> 4], "0123456789abcdef"[b & 15]));
    byte_ids_[b] = static_cast<int32_t>(it->second);
  }

  for (size_t rank = 0; rank < merges_.size(); ++rank) {
    const BpeMerge& m = merges_[rank];
    std::string where = m.line > 0 ? str(source.merges, ":", m.line)
                                   : str(source.merges, "[", rank, "]");
    std::string name = str("merge ", quote_token(m.left + " " + m.right));
    auto left = token_ids_.find(m.left);
    auto right = token_ids_.find(m.right);
    auto merged = token_ids_.find(m.left + m.right);
    check(left != token_ids_.end(), str(where, ": ", name),
          str("symbol ", quote_token(m.left), " in ", source.vocab), "none");
    check(right != token_ids_.end(), str(where, ": ", name),
          str("symbol ", quote_token(m.right), " in ", source.vocab), "none");
    check(merged != token_ids_.end(), str(where, ": ", name),
          str("the merged symbol ", quote_token(m.left + m.right), " in ", source.vocab), "none");
    const std::optional<int32_t> earlier =
        merge_table_.add(static_cast<int32_t>(left->second), static_cast<int32_t>(right->second),
                         static_cast<int32_t>(rank), static_cast<int32_t>(merged->second));
    if (earlier) {
      const BpeMerge& first = merges_[*earlier];
      throw_error(str(where, ": ", name), "each merge once",
                  first.line > 0 ? str("a repeat of line ", first.line) : str("a repeat of merge ", *earlier));
    }
  }
}

std::vector<int32_t> BpeTokenizer::bpe_piece_uncached(std::string_view piece) const {
  std::vector<int32_t> ids(piece.size());
  for (size_t i = 0; i < piece.size(); ++i) ids[i] = byte_ids_[static_cast<unsigned char>(piece[i])];
  return merge_table_.apply(std::move(ids));
}

std::vector<int32_t> BpeTokenizer::bpe_piece(std::string_view piece) const {
  if (cache_capacity_ > 0) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(std::string(piece));
    if (it != cache_.end()) return it->second;
  }
  std::vector<int32_t> ids = bpe_piece_uncached(piece);
  if (cache_capacity_ > 0) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() >= cache_capacity_) cache_.clear();  // bounded memory on endless input
    cache_.emplace(std::string(piece), ids);
  }
  return ids;
}

void BpeTokenizer::set_cache_capacity(size_t capacity) {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  cache_capacity_ = capacity;
  cache_.clear();
}

void BpeTokenizer::append_ordinary(std::string_view text, std::vector<int64_t>& out) const {
  for (std::string_view piece : gpt2_pretokenize(text)) {
    if (piece.size() == 1) {  // the common single-byte piece needs neither BPE nor the cache
      out.push_back(byte_ids_[static_cast<unsigned char>(piece[0])]);
      continue;
    }
    for (int32_t id : bpe_piece(piece)) out.push_back(id);
  }
}

std::vector<int64_t> BpeTokenizer::encode_ordinary(std::string_view text) const {
  std::vector<int64_t> out;
  out.reserve(text.size() / 3);
  append_ordinary(text, out);
  return out;
}

std::vector<int64_t> BpeTokenizer::encode(const std::string& text) const {
  std::vector<int64_t> out;
  out.reserve(text.size() / 3);
  for (const TextSegment& segment : split_special_tokens(text, special_tokens_)) {
    if (segment.special >= 0) {
      out.push_back(special_ids_[segment.special]);
    } else {
      append_ordinary(segment.text, out);
    }
  }
  return out;
}

std::string BpeTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    check(ids[i] >= 0 && ids[i] < vocab_size(), str("decode: ids[", i, "]"),
          str("a token id in [0, ", vocab_size(), ")"), std::to_string(ids[i]));
    out += token_bytes_[ids[i]];
  }
  return out;
}

const std::string& BpeTokenizer::token(int64_t id) const {
  check(id >= 0 && id < vocab_size(), "BpeTokenizer::token", str("an id in [0, ", vocab_size(), ")"),
        std::to_string(id));
  return tokens_[id];
}

std::optional<int64_t> BpeTokenizer::token_id(const std::string& token) const {
  auto it = token_ids_.find(token);
  if (it == token_ids_.end()) return std::nullopt;
  return it->second;
}

void BpeTokenizer::save(const std::string& dir) const { bpe_tokenizer_save(*this, dir); }

std::unique_ptr<BpeTokenizer> bpe_tokenizer_load(const std::string& vocab_path,
                                                 const std::string& merges_path) {
  std::unordered_map<std::string, int64_t> vocab = parse_vocab(read_json_file(vocab_path), vocab_path);
  std::vector<BpeMerge> merges = parse_merges_file(merges_path);
  std::vector<std::string> specials;
  // Hugging Face keeps added tokens (ids beyond vocab.json included) in tokenizer_config.json.
  std::string config_path = path_join(parent_path(vocab_path), "tokenizer_config.json");
  if (file_exists(config_path)) {
    nlohmann::json config = read_json_file(config_path);
    if (config.is_object() && config.contains("added_tokens_decoder")) {
      const nlohmann::json& added = config["added_tokens_decoder"];
      check(added.is_object(), str(config_path, ": field 'added_tokens_decoder'"),
            "an object {id: {\"content\": ...}}", added.type_name());
      for (const auto& [key, entry] : added.items()) {
        std::string where = str(config_path, ": added_tokens_decoder.", key);
        int64_t id = -1;
        try {
          size_t used = 0;
          id = std::stoll(key, &used);
          if (used != key.size()) id = -1;
        } catch (const std::exception&) {
        }
        check(id >= 0, where, "a non-negative integer key", quote_token(key));
        check(entry.is_object() && entry.contains("content") && entry["content"].is_string(),
              where, "an object with a string field 'content'", entry.dump().substr(0, 60));
        add_special(vocab, specials, entry["content"].get<std::string>(), id, where);
      }
    }
  }
  return std::make_unique<BpeTokenizer>(vocab, merges, specials, BpeSource{vocab_path, merges_path});
}

std::unique_ptr<BpeTokenizer> bpe_tokenizer_load_json(const std::string& path) {
  nlohmann::json json = read_json_file(path);
  check(json.is_object() && json.contains("model") && json["model"].is_object(), path,
        "a tokenizers JSON object with an object field 'model'", json.dump().substr(0, 60));
  const nlohmann::json& model = json["model"];
  std::string type = model.value("type", std::string("BPE"));
  check(type == "BPE", str(path, ": field 'model.type'"), "\"BPE\"", quote_token(type));
  for (const char* field : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(field) && !model[field].is_null())
      check(model[field] == "", str(path, ": field 'model.", field, "'"),
            "null or \"\" (GPT-2 byte-level BPE)", model[field].dump());
  }
  if (json.contains("pre_tokenizer") && !json["pre_tokenizer"].is_null()) {
    const nlohmann::json& pre = json["pre_tokenizer"];
    check(pre.is_object() && pre.value("type", std::string()) == "ByteLevel",
          str(path, ": field 'pre_tokenizer'"), "null or {\"type\": \"ByteLevel\"}",
          pre.dump().substr(0, 80));
    check(!pre.value("add_prefix_space", false), str(path, ": field 'pre_tokenizer.add_prefix_space'"),
          "false (GPT-2)", "true");
  }
  check(model.contains("vocab"), str(path, ": field 'model.vocab'"), "an object", "none");
  std::unordered_map<std::string, int64_t> vocab = parse_vocab(model["vocab"], str(path, ": model.vocab"));
  check(model.contains("merges") && model["merges"].is_array(), str(path, ": field 'model.merges'"),
        "an array", model.contains("merges") ? model["merges"].type_name() : "none");
  std::vector<BpeMerge> merges;
  const nlohmann::json& merge_list = model["merges"];
  for (size_t i = 0; i < merge_list.size(); ++i) {
    std::string where = str(path, ": model.merges[", i, "]");
    const nlohmann::json& m = merge_list[i];
    if (m.is_string()) {
      merges.push_back(bpe_merge_parse(m.get<std::string>(), where));
    } else {
      check(m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string(), where,
            "\"left right\" or [\"left\", \"right\"]", m.dump().substr(0, 60));
      merges.push_back({m[0].get<std::string>(), m[1].get<std::string>(), 0});
    }
  }
  std::vector<std::string> specials;
  if (json.contains("added_tokens") && !json["added_tokens"].is_null()) {
    const nlohmann::json& added = json["added_tokens"];
    check(added.is_array(), str(path, ": field 'added_tokens'"), "an array", added.type_name());
    for (size_t i = 0; i < added.size(); ++i) {
      std::string where = str(path, ": added_tokens[", i, "]");
      const nlohmann::json& a = added[i];
      check(a.is_object() && a.contains("id") && a["id"].is_number_integer() &&
                a.contains("content") && a["content"].is_string(),
            where, "{\"id\": integer, \"content\": string, ...}", a.dump().substr(0, 60));
      add_special(vocab, specials, a["content"].get<std::string>(), a["id"].get<int64_t>(), where);
    }
  }
  return std::make_unique<BpeTokenizer>(vocab, merges, specials,
                                        BpeSource{str(path, ": model.vocab"), str(path, ": model.merges")});
}

void bpe_tokenizer_save(const BpeTokenizer& tokenizer, const std::string& dir) {
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  for (int64_t id = 0; id < tokenizer.vocab_size(); ++id) vocab[tokenizer.token(id)] = id;
  write_file_atomic(path_join(dir, "vocab.json"), vocab.dump() + "\n");
  std::string merges = "#version: 0.2\n";
  for (const BpeMerge& m : tokenizer.merges()) merges += m.left + " " + m.right + "\n";
  write_file_atomic(path_join(dir, "merges.txt"), merges);
  nlohmann::json added = nlohmann::json::object();
  for (const std::string& special : tokenizer.special_tokens()) {
    added[std::to_string(*tokenizer.token_id(special))] = {
        {"content", special}, {"special", true},   {"lstrip", false},
        {"rstrip", false},    {"normalized", true}, {"single_word", false}};
  }
  tokenizer_write_marker(dir, "gpt2-bpe",
                         {{"tokenizer_class", "GPT2Tokenizer"},
                          {"bos_token", kEndOfText},
                          {"eos_token", kEndOfText},
                          {"unk_token", kEndOfText},
                          {"add_prefix_space", false},
                          {"added_tokens_decoder", added}});
}

}  // namespace reckoning

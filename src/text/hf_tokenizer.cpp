// The general tokenizer.json tokenizer; see hf_tokenizer.h. The BPE model follows
// tokenizers/src/models/bpe/model.rs (merge_word), the added-token splitting
// tokenizers/src/tokenizer/added_vocabulary.rs.
#include "reckoning/text/hf_tokenizer.h"

#include <algorithm>
#include <cstdio>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/text/pretokenizer.h"
#include "reckoning/text/utf8.h"

#include <utf8proc.h>

namespace reckoning {

namespace {

constexpr size_t kCacheCapacity = 1 << 16;

std::string quote_text(std::string_view s) {
  return "'" + (s.size() > 60 ? std::string(s.substr(0, 60)) + "..." : std::string(s)) + "'";
}

// A tokenizer_config.json token field: "text", {"content": "text", ...} or null.
std::optional<std::string> config_token(const nlohmann::json& config, const char* key, const std::string& where) {
  if (!config.is_object() || !config.contains(key) || config[key].is_null()) return std::nullopt;
  const nlohmann::json& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  check(v.is_object() && v.contains("content") && v["content"].is_string(), str(where, ": field '", key, "'"),
        "a string, an object with a string 'content', or null", v.dump().substr(0, 60));
  return v["content"].get<std::string>();
}

// The special token a post-processor's TemplateProcessing puts first in a single sequence, if any
// (looking inside a Sequence of processors).
std::optional<std::string> template_first_special(const nlohmann::json& post) {
  if (!post.is_object()) return std::nullopt;
  if (post.value("type", std::string()) == "Sequence" && post.contains("processors") && post["processors"].is_array()) {
    for (const nlohmann::json& p : post["processors"])
      if (auto first = template_first_special(p)) return first;
    return std::nullopt;
  }
  if (post.value("type", std::string()) != "TemplateProcessing" || !post.contains("single") ||
      !post["single"].is_array() || post["single"].empty())
    return std::nullopt;
  const nlohmann::json& first = post["single"][0];
  if (first.is_object() && first.contains("SpecialToken") && first["SpecialToken"].is_object() &&
      first["SpecialToken"].contains("id") && first["SpecialToken"]["id"].is_string())
    return first["SpecialToken"]["id"].get<std::string>();
  return std::nullopt;
}

// A "word" character for single_word added tokens: Unicode's \w (letters, marks, decimal and letter
// numbers, connector punctuation such as '_', the joiners U+200C / U+200D).
bool word_char(uint32_t cp) {
  if (cp == 0x200C || cp == 0x200D) return true;
  const utf8proc_category_t c = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) || (c >= UTF8PROC_CATEGORY_MN && c <= UTF8PROC_CATEGORY_ME) ||
         c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_PC;
}
bool word_char_after(std::string_view text, size_t pos) {
  if (pos >= text.size()) return false;
  const Utf8Char c = utf8_char_at(text, pos);
  return c.length > 0 && word_char(c.cp);
}
bool word_char_before(std::string_view text, size_t pos) {
  const Utf8Char c = utf8_char_before(text, pos);
  return c.length > 0 && word_char(c.cp);
}

}  // namespace

bool tokenizer_json_is_gpt2(const nlohmann::json& json) {
  if (!json.is_object() || !json.contains("model") || !json["model"].is_object()) return false;
  if (json.contains("normalizer") && !json["normalizer"].is_null()) return false;
  const nlohmann::json& model = json["model"];
  if (model.value("type", std::string("BPE")) != "BPE") return false;
  if (model.contains("byte_fallback") && model["byte_fallback"] == true) return false;
  if (!json.contains("pre_tokenizer") || json["pre_tokenizer"].is_null()) return true;
  const nlohmann::json& pre = json["pre_tokenizer"];
  return pre.is_object() && pre.value("type", std::string()) == "ByteLevel" && !pre.value("add_prefix_space", false) &&
         pre.value("use_regex", true);
}

HfTokenizer::HfTokenizer(nlohmann::json tokenizer_json, nlohmann::json tokenizer_config, const std::string& source)
    : json_(std::move(tokenizer_json)), config_(std::move(tokenizer_config)) {
  const std::string& path = source;
  check(json_.is_object() && json_.contains("model") && json_["model"].is_object(), path,
        "a tokenizers JSON object with an object field 'model'", json_.dump().substr(0, 60));
  const nlohmann::json& model = json_["model"];
  const std::string type = model.value("type", std::string("BPE"));
  check(type == "BPE", str(path, ": field 'model.type'"), "\"BPE\" (WordPiece, Unigram and WordLevel are not supported)",
        quote_text(type));
  for (const char* field : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(field) && !model[field].is_null())
      check(model[field] == "", str(path, ": field 'model.", field, "'"), "null or \"\"", model[field].dump());
  }
  if (model.contains("dropout") && !model["dropout"].is_null())
    check(model["dropout"].is_number() && model["dropout"].get<double>() == 0.0, str(path, ": field 'model.dropout'"),
          "null or 0 (BPE dropout is for training a tokenizer)", model["dropout"].dump());
  auto model_flag = [&](const char* key) {
    if (!model.contains(key) || model[key].is_null()) return false;
    check(model[key].is_boolean(), str(path, ": field 'model.", key, "'"), "true or false", model[key].dump());
    return model[key].get<bool>();
  };
  ignore_merges_ = model_flag("ignore_merges");
  byte_fallback_ = model_flag("byte_fallback");
  fuse_unk_ = model_flag("fuse_unk");

  // Vocabulary and added tokens: ids need not be dense (a model's embedding may be larger).
  check(model.contains("vocab") && model["vocab"].is_object(), str(path, ": field 'model.vocab'"), "an object {token: id}",
        model.contains("vocab") ? model["vocab"].type_name() : "none");
  int64_t max_id = -1;
  for (const auto& [token, id] : model["vocab"].items()) {
    check(id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() < (int64_t{1} << 31),
          str(path, ": model.vocab token ", quote_text(token)), "a non-negative integer id", id.dump().substr(0, 60));
    const auto [it, inserted] = token_ids_.emplace(token, id.get<int64_t>());
    (void)it;
    check(inserted, str(path, ": model.vocab token ", quote_text(token)), "each token once", "a repeat");
    max_id = std::max(max_id, id.get<int64_t>());
  }
  if (json_.contains("added_tokens") && !json_["added_tokens"].is_null()) {
    const nlohmann::json& added = json_["added_tokens"];
    check(added.is_array(), str(path, ": field 'added_tokens'"), "an array", added.type_name());
    for (size_t i = 0; i < added.size(); ++i) {
      const std::string where = str(path, ": added_tokens[", i, "]");
      const nlohmann::json& a = added[i];
      check(a.is_object() && a.contains("id") && a["id"].is_number_integer() && a["id"].get<int64_t>() >= 0 &&
                a.contains("content") && a["content"].is_string() && !a["content"].get<std::string>().empty(),
            where, "{\"id\": non-negative integer, \"content\": non-empty string, ...}", a.dump().substr(0, 80));
      HfAddedToken t;
      t.id = a["id"].get<int64_t>();
      t.content = a["content"].get<std::string>();
      t.special = a.value("special", false);
      t.lstrip = a.value("lstrip", false);
      t.rstrip = a.value("rstrip", false);
      t.normalized = a.value("normalized", !t.special);
      t.single_word = a.value("single_word", false);
      auto known = token_ids_.find(t.content);
      check(known == token_ids_.end() || known->second == t.id, str(where, " ", quote_text(t.content)),
            str("the id model.vocab gives it (", known == token_ids_.end() ? 0 : known->second, ")"), str(t.id));
      max_id = std::max(max_id, t.id);
      added_.push_back(std::move(t));
    }
  }
  check(max_id >= 0, str(path, ": field 'model.vocab'"), "at least one token", "none");
  tokens_.assign(max_id + 1, std::string());
  for (const auto& [token, id] : token_ids_) tokens_[id] = token;
  for (const HfAddedToken& t : added_) {
    check(tokens_[t.id].empty() || tokens_[t.id] == t.content, str(path, ": added token ", quote_text(t.content)),
          "an id no other token has", str("id ", t.id, ", also ", quote_text(tokens_[t.id])));
    tokens_[t.id] = t.content;
    token_ids_.emplace(t.content, t.id);
  }

  if (model.contains("unk_token") && !model["unk_token"].is_null()) {
    check(model["unk_token"].is_string(), str(path, ": field 'model.unk_token'"), "a string or null", model["unk_token"].dump());
    auto it = token_ids_.find(model["unk_token"].get<std::string>());
    check(it != token_ids_.end(), str(path, ": field 'model.unk_token'"), "a token of the vocabulary",
          quote_text(model["unk_token"].get<std::string>()));
    unk_id_ = it->second;
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    auto it = token_ids_.find(name);
    byte_ids_[b] = it == token_ids_.end() ? -1 : static_cast<int32_t>(it->second);
  }

  // Merges, by rank; each merged symbol must be a token.
  check(model.contains("merges") && model["merges"].is_array(), str(path, ": field 'model.merges'"), "an array",
        model.contains("merges") ? model["merges"].type_name() : "none");
  const nlohmann::json& merges = model["merges"];
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string where = str(path, ": model.merges[", rank, "]");
    const nlohmann::json& m = merges[rank];
    BpeMerge merge;
    if (m.is_string()) {
      merge = bpe_merge_parse(m.get<std::string>(), where);
    } else {
      check(m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string(), where,
            "\"left right\" or [\"left\", \"right\"]", m.dump().substr(0, 60));
      merge = {m[0].get<std::string>(), m[1].get<std::string>(), 0};
    }
    const auto left = token_ids_.find(merge.left), right = token_ids_.find(merge.right),
               merged = token_ids_.find(merge.left + merge.right);
    check(left != token_ids_.end(), where, str("symbol ", quote_text(merge.left), " in model.vocab"), "none");
    check(right != token_ids_.end(), where, str("symbol ", quote_text(merge.right), " in model.vocab"), "none");
    check(merged != token_ids_.end(), where, str("the merged symbol ", quote_text(merge.left + merge.right), " in model.vocab"),
          "none");
    const std::optional<int32_t> earlier =
        merges_.add(static_cast<int32_t>(left->second), static_cast<int32_t>(right->second), static_cast<int32_t>(rank),
                    static_cast<int32_t>(merged->second));
    check(!earlier, where, "each merge once", str("a repeat of model.merges[", earlier.value_or(0), "]"));
  }

  normalizer_ = hf_normalizer_from_json(json_.value("normalizer", nlohmann::json()), str(path, ": normalizer"));
  pre_tokenizer_ = hf_pre_tokenizer_from_json(json_.value("pre_tokenizer", nlohmann::json()), str(path, ": pre_tokenizer"));
  decoder_ = hf_decoder_from_json(json_.value("decoder", nlohmann::json()), str(path, ": decoder"));
  for (size_t i = 0; i < added_.size(); ++i) {
    AddedSet& set = added_[i].normalized ? normalized_added_ : raw_added_;
    set.contents.push_back(added_[i].normalized ? normalizer_({added_[i].content, true}).text : added_[i].content);
    set.tokens.push_back(i);
    if (added_[i].normalized) {  // it stands for its normalized content (the library's id -> token)
      tokens_[added_[i].id] = set.contents.back();
      token_ids_.emplace(set.contents.back(), added_[i].id);
    }
  }

  // BOS and EOS.
  const std::string config_where = str(path, " (tokenizer_config.json)");
  auto id_of = [&](const std::string& token, const char* field) {
    auto it = token_ids_.find(token);
    check(it != token_ids_.end(), str(config_where, ": field '", field, "'"), "a token of the vocabulary", quote_text(token));
    return it->second;
  };
  if (auto bos = config_token(config_, "bos_token", config_where)) bos_id_ = id_of(*bos, "bos_token");
  const std::optional<std::string> template_bos = template_first_special(json_.value("post_processor", nlohmann::json()));
  if (config_.is_object() && config_.contains("add_bos_token") && config_["add_bos_token"].is_boolean()) {
    adds_bos_ = config_["add_bos_token"].get<bool>();
  } else {
    adds_bos_ = template_bos.has_value();
  }
  if (!bos_id_ && template_bos) bos_id_ = id_of(*template_bos, "post_processor template");
  check(!adds_bos_ || bos_id_.has_value(), config_where, "a bos_token when add_bos_token is true", "none");
  if (auto eos = config_token(config_, "eos_token", config_where)) {
    eos_id_ = id_of(*eos, "eos_token");
  } else {
    for (const char* name : {"</s>", "<|endoftext|>", "<|end_of_text|>", "<|im_end|>", "<eos>"}) {
      auto it = token_ids_.find(name);
      if (it != token_ids_.end()) {
        eos_id_ = it->second;
        break;
      }
    }
    check(eos_id_ >= 0, config_where, "an eos_token (or one of </s>, <|endoftext|>, <|end_of_text|>, <|im_end|>, <eos>)",
          "none");
  }
}

std::vector<int32_t> HfTokenizer::bpe_piece(std::string_view piece) const {
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(std::string(piece));
    if (it != cache_.end()) return it->second;
  }
  std::vector<int32_t> symbols;
  auto whole = ignore_merges_ ? token_ids_.find(std::string(piece)) : token_ids_.end();
  if (whole != token_ids_.end()) {
    symbols.push_back(static_cast<int32_t>(whole->second));
  } else {
    std::optional<int32_t> unk;  // a pending unknown-token symbol (fused with the next with fuse_unk)
    for (size_t i = 0; i < piece.size();) {
      const Utf8Char c = utf8_char_at(piece, i);
      const size_t len = c.length > 0 ? c.length : 1;  // a byte that is not UTF-8 stands alone
      const std::string_view ch = piece.substr(i, len);
      i += len;
      auto it = token_ids_.find(std::string(ch));
      if (it != token_ids_.end()) {
        if (unk) symbols.push_back(*unk);
        unk.reset();
        symbols.push_back(static_cast<int32_t>(it->second));
        continue;
      }
      if (byte_fallback_ && std::all_of(ch.begin(), ch.end(), [&](char b) { return byte_ids_[static_cast<unsigned char>(b)] >= 0; })) {
        for (char b : ch) symbols.push_back(byte_ids_[static_cast<unsigned char>(b)]);
        continue;  // (a pending unknown token stays pending, as in the library)
      }
      if (unk_id_ >= 0) {
        if (unk && !fuse_unk_) symbols.push_back(*unk);
        unk = static_cast<int32_t>(unk_id_);
      }
    }
    if (unk) symbols.push_back(*unk);
    symbols = merges_.apply(std::move(symbols));
  }
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= kCacheCapacity) cache_.clear();  // bounded memory on endless input
  cache_.emplace(std::string(piece), symbols);
  return symbols;
}

void HfTokenizer::append_piece_ids(std::string_view piece, std::vector<int64_t>& out) const {
  for (int32_t id : bpe_piece(piece)) out.push_back(id);
}

// Splits `text` at the added tokens of `set` (leftmost, longest first), with lstrip / rstrip taking
// the whitespace beside a token; the stretches between them go on to normalization (when
// !normalized: step 1 -> 2) or pre-tokenization and the model (step 2 -> 3).
void HfTokenizer::append_with_added(std::string_view text, const AddedSet& set, bool at_start, bool normalized,
                                    std::vector<int64_t>& out) const {
  struct Cut {
    size_t begin, end;
    int token;  // index into set.tokens, -1 for ordinary text
  };
  std::vector<Cut> cuts;
  // Leftmost, longest matches, non-overlapping; a single_word token's match that touches a word
  // character on either side is skipped (and the search goes on after it), as the library does.
  const auto single_word_ok = [&](int index, size_t begin, size_t end) {
    return !added_[set.tokens[index]].single_word || (!word_char_before(text, begin) && !word_char_after(text, end));
  };
  for (const TextSegment& s : split_special_tokens(text, set.contents, single_word_ok)) {
    const size_t begin = static_cast<size_t>(s.text.data() - text.data());
    cuts.push_back({begin, begin + s.text.size(), s.special});
  }
  // lstrip / rstrip: whitespace of the neighbouring ordinary stretches joins the token.
  for (size_t i = 0; i < cuts.size(); ++i) {
    if (cuts[i].token < 0) continue;
    const HfAddedToken& t = added_[set.tokens[cuts[i].token]];
    if (t.lstrip && i > 0 && cuts[i - 1].token < 0) {
      cuts[i].begin = skip_white_space_back(text, cuts[i - 1].begin, cuts[i - 1].end);
      cuts[i - 1].end = cuts[i].begin;
    }
    if (t.rstrip && i + 1 < cuts.size() && cuts[i + 1].token < 0) {
      cuts[i].end = skip_white_space(text, cuts[i + 1].begin, cuts[i + 1].end);
      cuts[i + 1].begin = cuts[i].end;
    }
  }
  for (const Cut& cut : cuts) {
    if (cut.token >= 0) {
      out.push_back(added_[set.tokens[cut.token]].id);
      continue;
    }
    if (cut.end <= cut.begin) continue;
    const std::string_view stretch = text.substr(cut.begin, cut.end - cut.begin);
    const bool first = at_start && cut.begin == 0;
    if (!normalized) {
      const HfNormalized n = normalizer_({std::string(stretch), true});
      append_with_added(n.text, normalized_added_, first && n.start_kept, true, out);
    } else {
      for (const HfPiece& piece : pre_tokenizer_({{std::string(stretch), first}})) append_piece_ids(piece.text, out);
    }
  }
}

std::vector<int64_t> HfTokenizer::encode(const std::string& text) const {
  std::vector<int64_t> out;
  out.reserve(text.size() / 3);
  append_with_added(text, raw_added_, true, false, out);
  return out;
}

std::string HfTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    check(ids[i] >= 0 && ids[i] < vocab_size(), str("decode: ids[", i, "]"), str("a token id in [0, ", vocab_size(), ")"),
          std::to_string(ids[i]));
    if (!tokens_[ids[i]].empty()) tokens.push_back(tokens_[ids[i]]);
  }
  std::string text;
  for (const std::string& part : decoder_(std::move(tokens))) text += part;
  return text;
}

const std::string& HfTokenizer::token(int64_t id) const {
  check(id >= 0 && id < vocab_size(), "HfTokenizer::token", str("an id in [0, ", vocab_size(), ")"), std::to_string(id));
  return tokens_[id];
}

std::optional<int64_t> HfTokenizer::token_id(const std::string& token) const {
  auto it = token_ids_.find(token);
  if (it == token_ids_.end()) return std::nullopt;
  return it->second;
}

void HfTokenizer::save(const std::string& dir) const {
  create_directories(dir);
  write_file_atomic(path_join(dir, "tokenizer.json"), json_.dump() + "\n");
  tokenizer_write_marker(dir, "hf-tokenizer", config_.is_object() ? config_ : nlohmann::json::object());
}

std::unique_ptr<HfTokenizer> hf_tokenizer_load(const std::string& dir) {
  const std::string path = path_join(dir, "tokenizer.json");
  const std::string config_path = path_join(dir, "tokenizer_config.json");
  nlohmann::json config = file_exists(config_path) ? read_json_file(config_path) : nlohmann::json();
  if (!config.is_null()) check(config.is_object(), config_path, "a JSON object", config.type_name());
  return std::make_unique<HfTokenizer>(read_json_file(path), std::move(config), path);
}

}  // namespace reckoning

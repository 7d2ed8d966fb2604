// Python literal parser; see python_literal.h.
#include "reckoning/base/python_literal.h"

#include <cctype>

#include "reckoning/base/error.h"

namespace reckoning {

const char* py_kind_name(PyValue::Kind kind) {
  switch (kind) {
    case PyValue::Kind::none: return "None";
    case PyValue::Kind::boolean: return "a bool";
    case PyValue::Kind::integer: return "an int";
    case PyValue::Kind::string: return "a string";
    case PyValue::Kind::tuple: return "a tuple";
    case PyValue::Kind::list: return "a list";
    case PyValue::Kind::dict: return "a dict";
  }
  return "?";
}

namespace {

class Parser {
 public:
  Parser(const std::string& text, const std::string& where) : s_(text), where_(where) {}

  PyValue parse_all() {
    PyValue v = value();
    skip_space();
    if (i_ != s_.size()) fail("end of the literal");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& expected) {
    std::string got = i_ < s_.size() ? str("'", s_[i_], "'") : std::string("end of text");
    throw_error(where_, str(expected, " at position ", i_), got);
  }
  void skip_space() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool eat(char c) {
    skip_space();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }

  // Nested containers deeper than this are refused (each level is a recursion: a deep enough
  // input would overflow the stack; Python's own parser stops near 200).
  static constexpr int kMaxDepth = 100;

  PyValue value() {
    skip_space();
    if (i_ >= s_.size()) fail("a value");
    if (depth_ > kMaxDepth) fail(str("containers nested at most ", kMaxDepth, " deep"));
    char c = s_[i_];
    if (c == '\'' || c == '"') return string_value();
    if (c == '(') return sequence(PyValue::Kind::tuple, ')');
    if (c == '[') return sequence(PyValue::Kind::list, ']');
    if (c == '{') return dict_value();
    if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) return int_value();
    for (const char* word : {"None", "True", "False"}) {
      if (s_.compare(i_, std::string(word).size(), word) == 0) {
        i_ += std::string(word).size();
        PyValue v;
        v.kind = word[0] == 'N' ? PyValue::Kind::none : PyValue::Kind::boolean;
        v.integer = word[0] == 'T';
        return v;
      }
    }
    fail("a string, int, None, True, False, tuple, list or dict");
  }

  PyValue string_value() {
    const char quote = s_[i_++];
    PyValue v;
    v.kind = PyValue::Kind::string;
    while (true) {
      if (i_ >= s_.size()) fail(str("a closing ", quote));
      char c = s_[i_++];
      if (c == quote) break;
      if (c != '\\') {
        v.string += c;
        continue;
      }
      if (i_ >= s_.size()) fail("an escaped character");
      char e = s_[i_++];
      switch (e) {
        case 'n': v.string += '\n'; break;
        case 't': v.string += '\t'; break;
        case 'r': v.string += '\r'; break;
        case '\\': case '\'': case '"': v.string += e; break;
        default: v.string += '\\'; v.string += e;  // Python keeps unknown escapes verbatim
      }
    }
    return v;
  }

  PyValue int_value() {
    size_t start = i_;
    if (s_[i_] == '-') ++i_;
    if (i_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[i_]))) fail("a digit");
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
    if (i_ < s_.size() && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) fail("an integer");
    PyValue v;
    v.kind = PyValue::Kind::integer;
    try {
      v.integer = std::stoll(s_.substr(start, i_ - start));
    } catch (const std::exception&) {
      i_ = start;
      fail("an integer within 64 bits");
    }
    return v;
  }

  PyValue sequence(PyValue::Kind kind, char close) {
    ++i_;
    const DepthGuard guard(depth_);
    PyValue v;
    v.kind = kind;
    if (eat(close)) return v;
    while (true) {
      v.items.push_back(value());
      if (eat(close)) return v;
      if (!eat(',')) fail(str("'", close, "' or ','"));
      if (eat(close)) return v;  // trailing comma: (1,) [1, 2,]
    }
  }

  PyValue dict_value() {
    ++i_;
    const DepthGuard guard(depth_);
    PyValue v;
    v.kind = PyValue::Kind::dict;
    if (eat('}')) return v;
    while (true) {
      PyValue key = value();
      if (!eat(':')) fail("':'");
      PyValue val = value();
      v.entries.emplace_back(std::move(key), std::move(val));
      if (eat('}')) return v;
      if (!eat(',')) fail("'}' or ','");
      if (eat('}')) return v;
    }
  }

  struct DepthGuard {
    explicit DepthGuard(int& depth) : depth_(depth) { ++depth_; }
    ~DepthGuard() { --depth_; }
    int& depth_;
  };

  const std::string& s_;
  const std::string& where_;
  size_t i_ = 0;
  int depth_ = 0;
};

std::string short_repr(const PyValue& v) {
  switch (v.kind) {
    case PyValue::Kind::string: return str("'", v.string, "'");
    case PyValue::Kind::integer: return std::to_string(v.integer);
    default: return py_kind_name(v.kind);
  }
}

}  // namespace

PyValue py_literal_parse(const std::string& text, const std::string& where) {
  return Parser(text, where).parse_all();
}

const std::string& py_as_string(const PyValue& v, const std::string& where) {
  check(v.kind == PyValue::Kind::string, where, "a string", short_repr(v));
  return v.string;
}

int64_t py_as_int(const PyValue& v, const std::string& where) {
  check(v.kind == PyValue::Kind::integer, where, "an int", short_repr(v));
  return v.integer;
}

const std::vector<PyValue>& py_as_sequence(const PyValue& v, int64_t n, const std::string& where) {
  check(v.is_sequence(), where, n < 0 ? "a tuple or list" : str("a tuple of ", n, " items"),
        short_repr(v));
  check(n < 0 || static_cast<int64_t>(v.items.size()) == n, where, str("a tuple of ", n, " items"),
        str(v.items.size(), " items"));
  return v.items;
}

}  // namespace reckoning

// safetensors reading (validated header, memory-mapped data) and writing; see safetensors.h.
// Follows the format as specified by huggingface/safetensors: little-endian data, data_offsets
// relative to the byte after the header, header padded with spaces (we pad to 8 bytes on write, as
// the reference writer does, so that tensor data stays aligned).
// Deliberately lenient in one way: gaps between tensors' byte ranges are accepted (the reference
// Rust reader refuses them); overlaps are not.
#include "reckoning/base/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.cpp assumes a little-endian host (safetensors data is little-endian)"
#endif

namespace reckoning {

namespace {

using ordered_json = nlohmann::ordered_json;

struct DtypeInfo {
  const char* name;
  torch::Dtype dtype;
  int64_t size;
};

// The safetensors dtypes LibTorch 1.13 can hold. U16/U32/U64 and the F8 types have no LibTorch
// 1.13 equivalent and are refused with a clear error.
constexpr DtypeInfo kDtypes[] = {
    {"F64", torch::kFloat64, 8}, {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
    {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8}, {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},   {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};

const DtypeInfo* find_dtype(const std::string& name) {
  for (const DtypeInfo& d : kDtypes) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

std::string supported_dtypes() {
  std::string s;
  for (const DtypeInfo& d : kDtypes) s += (s.empty() ? "" : ", ") + std::string(d.name);
  return s;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string tensor_where(const std::string& path, const std::string& name) {
  return str(path, ": tensor '", name, "'");
}

// A read-only memory map of a whole file; unmapped on destruction.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) throw Error(str(path, ": cannot open for reading (", std::strerror(errno), ")"));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      throw Error(str(path, ": cannot stat (", std::strerror(err), ")"));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      throw Error(str(path, ": expected a regular file, got a directory or special file"));
    }
    size_ = static_cast<uint64_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        int err = errno;
        ::close(fd);
        throw Error(str(path, ": cannot map into memory (", std::strerror(err), ")"));
      }
      data_ = static_cast<const uint8_t*>(p);
    }
    ::close(fd);
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

// A JSON integer in [0, INT64_MAX], or nullopt.
std::optional<int64_t> non_negative_int(const ordered_json& v) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return v.get<int64_t>();
  return std::nullopt;
}

// numel * element size, saturating at UINT64_MAX (a shape that large never matches its offsets).
uint64_t byte_size(const std::vector<int64_t>& shape, int64_t element_size) {
  uint64_t bytes = static_cast<uint64_t>(element_size);
  for (int64_t d : shape) {
    if (d == 0) return 0;
    uint64_t u = static_cast<uint64_t>(d);
    bytes = bytes > std::numeric_limits<uint64_t>::max() / u ? std::numeric_limits<uint64_t>::max()
                                                             : bytes * u;
  }
  return bytes;
}

SafetensorsEntry parse_entry(const std::string& path, const std::string& name,
                             const ordered_json& value, uint64_t data_size) {
  const std::string where = tensor_where(path, name);
  check(value.is_object(), where, "an object with dtype, shape, data_offsets", value.dump());
  SafetensorsEntry e;
  e.name = name;

  auto dtype = value.find("dtype");
  check(dtype != value.end(), where, "field 'dtype'", "nothing");
  check(dtype->is_string(), str(where, ": field 'dtype'"), "a string", dtype->dump());
  e.dtype = dtype->get<std::string>();
  const DtypeInfo* info = find_dtype(e.dtype);
  check(info != nullptr, str(where, ": field 'dtype'"), str("one of ", supported_dtypes()),
        str("'", e.dtype, "' (unknown or unsupported)"));

  auto shape = value.find("shape");
  check(shape != value.end(), where, "field 'shape'", "nothing");
  check(shape->is_array(), str(where, ": field 'shape'"), "a list of non-negative integers",
        shape->dump());
  for (const ordered_json& d : *shape) {
    std::optional<int64_t> n = non_negative_int(d);
    check(n.has_value(), str(where, ": field 'shape'"), "a list of non-negative integers",
          shape->dump());
    e.shape.push_back(*n);
  }

  auto offsets = value.find("data_offsets");
  check(offsets != value.end(), where, "field 'data_offsets'", "nothing");
  std::optional<int64_t> begin, end;
  if (offsets->is_array() && offsets->size() == 2) {
    begin = non_negative_int((*offsets)[0]);
    end = non_negative_int((*offsets)[1]);
  }
  check(begin && end, str(where, ": field 'data_offsets'"), "two non-negative integers [begin, end]",
        offsets->dump());
  e.begin = static_cast<uint64_t>(*begin);
  e.end = static_cast<uint64_t>(*end);
  check(e.begin <= e.end, str(where, ": field 'data_offsets'"), "begin <= end", offsets->dump());
  check(e.end <= data_size, str(where, ": field 'data_offsets'"),
        str("a range inside the data section of ", data_size, " bytes"),
        str(offsets->dump(), " (file truncated or offsets wrong)"));

  const uint64_t expected = byte_size(e.shape, info->size);
  const bool overflow = expected == std::numeric_limits<uint64_t>::max();
  check(e.end - e.begin == expected, where,
        overflow ? str("a shape whose byte size fits in 64 bits, for ", e.dtype)
                 : str(expected, " bytes for shape ", shape_string(e.shape), " of ", e.dtype),
        overflow ? str("shape ", shape_string(e.shape))
                 : str(e.end - e.begin, " bytes (data_offsets ", offsets->dump(), ")"));
  return e;
}

// Parses and validates the header of an already mapped file.
SafetensorsHeader parse_header(const std::string& path, const uint8_t* data, uint64_t size) {
  check(size >= 8, path, "a safetensors file of at least 8 bytes (header length)",
        str(size, " bytes"));
  uint64_t header_len = 0;
  std::memcpy(&header_len, data, 8);  // little-endian host, checked at compile time
  check(header_len <= size - 8, path,
        str("a header length of at most ", size - 8, " bytes (file size ", size, ")"),
        str(header_len, " (truncated or not a safetensors file)"));

  ordered_json json;
  try {
    json = ordered_json::parse(data + 8, data + 8 + header_len);
  } catch (const nlohmann::json::exception& e) {
    throw_error(path, "a JSON header", str("invalid JSON (", e.what(), ")"));
  }
  check(json.is_object(), path, "a JSON object as header", json.type_name());

  SafetensorsHeader header;
  header.path = path;
  header.data_start = 8 + header_len;
  const uint64_t data_size = size - header.data_start;
  for (auto it = json.begin(); it != json.end(); ++it) {
    if (it.key() == "__metadata__") {
      check(it->is_object(), str(path, ": __metadata__"), "an object of strings", it->dump());
      for (auto m = it->begin(); m != it->end(); ++m) {
        check(m->is_string(), str(path, ": __metadata__ key '", m.key(), "'"), "a string",
              m->dump());
        header.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    header.tensors.push_back(parse_entry(path, it.key(), *it, data_size));
  }

  // Overlap check: sort the non-empty ranges by start; each must start at or after the previous end.
  std::vector<const SafetensorsEntry*> by_offset;
  for (const SafetensorsEntry& e : header.tensors) {
    if (e.end > e.begin) by_offset.push_back(&e);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const SafetensorsEntry* a, const SafetensorsEntry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const SafetensorsEntry& prev = *by_offset[i - 1];
    const SafetensorsEntry& cur = *by_offset[i];
    check(cur.begin >= prev.end, str(tensor_where(path, cur.name), ": field 'data_offsets'"),
          str("a byte range not overlapping tensor '", prev.name, "' [", prev.begin, ", ",
              prev.end, ")"),
          str("[", cur.begin, ", ", cur.end, ")"));
  }
  return header;
}

torch::Tensor read_tensor(const SafetensorsHeader& header, const SafetensorsEntry& e,
                          const uint8_t* file_data, std::optional<torch::Dtype> float_dtype) {
  const DtypeInfo* info = find_dtype(e.dtype);
  TORCH_INTERNAL_ASSERT(info != nullptr, "unvalidated dtype ", e.dtype);
  torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(info->dtype));
  const uint64_t n = e.end - e.begin;
  const uint8_t* src = file_data + header.data_start + e.begin;
  if (info->dtype == torch::kBool) {
    // Any byte other than 0/1 in a bool tensor is undefined behaviour in LibTorch.
    for (uint64_t i = 0; i < n; ++i) {
      check(src[i] <= 1, tensor_where(header.path, e.name), "BOOL bytes 0 or 1",
            str("byte ", int(src[i]), " at element ", i));
    }
  }
  if (n > 0) std::memcpy(t.data_ptr(), src, n);  // memcpy: the file gives no alignment guarantee
  if (float_dtype && t.is_floating_point() && t.scalar_type() != *float_dtype) {
    t = t.to(*float_dtype);
  }
  return t;
}

}  // namespace

int64_t SafetensorsEntry::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

const SafetensorsEntry* SafetensorsHeader::find(const std::string& name) const {
  for (const SafetensorsEntry& e : tensors) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

const torch::Tensor* Safetensors::find(const std::string& name) const {
  for (const auto& [n, t] : tensors) {
    if (n == name) return &t;
  }
  return nullptr;
}

std::string safetensors_dtype_from_torch(torch::Dtype dtype, const std::string& where) {
  for (const DtypeInfo& d : kDtypes) {
    if (d.dtype == dtype) return d.name;
  }
  throw_error(where, str("a dtype among ", supported_dtypes()),
              std::string(c10::toString(dtype)));
}

int64_t safetensors_dtype_size(const std::string& dtype) {
  const DtypeInfo* info = find_dtype(dtype);
  return info ? info->size : 0;
}

SafetensorsHeader safetensors_read_header(const std::string& path) {
  MappedFile file(path);
  return parse_header(path, file.data(), file.size());
}

Safetensors safetensors_load(const std::string& path, std::optional<torch::Dtype> float_dtype) {
  MappedFile file(path);
  SafetensorsHeader header = parse_header(path, file.data(), file.size());
  Safetensors out;
  out.metadata = header.metadata;
  out.tensors.reserve(header.tensors.size());
  for (const SafetensorsEntry& e : header.tensors) {
    out.tensors.emplace_back(e.name, read_tensor(header, e, file.data(), float_dtype));
  }
  return out;
}

void safetensors_save(const std::string& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  ordered_json header = ordered_json::object();
  if (!metadata.empty()) {
    ordered_json m = ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = m;
  }
  std::vector<torch::Tensor> contiguous;
  contiguous.reserve(tensors.size());
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    const std::string where = tensor_where(path, name);
    check(!name.empty() && name != "__metadata__", str(path, ": tensor name"),
          "a non-empty name other than '__metadata__'", str("'", name, "'"));
    check(seen.insert(name).second, where, "a unique name", "a duplicate");
    check(tensor.defined(), where, "a defined tensor", "an undefined tensor");
    const std::string dtype = safetensors_dtype_from_torch(tensor.scalar_type(), where);
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    header[name] = {{"dtype", dtype}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    contiguous.push_back(std::move(t));
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // keeps tensor data 8-byte aligned
  const uint64_t header_len = header_text.size();

  std::string contents;
  contents.reserve(8 + header_len + offset);
  contents.append(reinterpret_cast<const char*>(&header_len), 8);
  contents.append(header_text);
  for (const torch::Tensor& t : contiguous) {
    const size_t nbytes = static_cast<size_t>(t.numel()) * t.element_size();
    if (nbytes > 0) contents.append(static_cast<const char*>(t.data_ptr()), nbytes);
  }
  write_file_atomic(path, contents);
}

SafetensorsIndex safetensors_read_index(const std::string& index_path) {
  nlohmann::ordered_json json;
  {
    std::string text = read_file(index_path);
    try {
      json = nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      throw_error(index_path, "a JSON index", str("invalid JSON (", e.what(), ")"));
    }
  }
  check(json.is_object(), index_path, "a JSON object with \"weight_map\"", json.type_name());
  auto weight_map = json.find("weight_map");
  check(weight_map != json.end(), index_path, "field 'weight_map'", "nothing");
  check(weight_map->is_object(), str(index_path, ": field 'weight_map'"),
        "an object {tensor: shard file}", weight_map->type_name());

  SafetensorsIndex index;
  index.path = index_path;
  const std::string dir = parent_path(index_path);
  std::set<std::string> shards;
  for (auto it = weight_map->begin(); it != weight_map->end(); ++it) {
    const std::string where = str(index_path, ": tensor '", it.key(), "'");
    check(it->is_string(), where, "a shard file name", it->dump());
    const std::string shard = path_join(dir, it->get<std::string>());
    check(is_regular_file(shard), where, "an existing shard file",
          str("'", shard, "' (missing)"));
    index.weight_map.emplace_back(it.key(), shard);
    if (shards.insert(shard).second) index.shards.push_back(shard);
  }
  if (auto meta = json.find("metadata"); meta != json.end() && meta->is_object()) {
    for (auto m = meta->begin(); m != meta->end(); ++m) {
      index.metadata[m.key()] = m->is_string() ? m->get<std::string>() : m->dump();
    }
  }
  return index;
}

Safetensors safetensors_load_index(const std::string& index_path,
                                   std::optional<torch::Dtype> float_dtype) {
  SafetensorsIndex index = safetensors_read_index(index_path);
  std::map<std::string, torch::Tensor> loaded;
  Safetensors out;
  out.metadata = index.metadata;
  for (const std::string& shard : index.shards) {
    Safetensors part = safetensors_load(shard, float_dtype);
    std::set<std::string> assigned;
    for (const auto& [name, file] : index.weight_map) {
      if (file != shard) continue;
      assigned.insert(name);
      check(part.find(name) != nullptr, tensor_where(shard, name),
            str("present (", index_path, " assigns it to this shard)"), "missing");
    }
    for (auto& [name, t] : part.tensors) {
      check(assigned.count(name) == 1, tensor_where(shard, name),
            str("only tensors that ", index_path, " assigns to this shard"),
            "a tensor the index does not assign here");
      loaded[name] = std::move(t);
    }
  }
  for (const auto& [name, shard] : index.weight_map) out.tensors.emplace_back(name, loaded.at(name));
  return out;
}

}  // namespace reckoning

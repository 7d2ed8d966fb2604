// safetensors reader/writer: round trips of every dtype, order and metadata, dtype conversion on
// load, and one test per malformed input (each must be a reckoning::Error naming the file and
// tensor, never a crash), plus truncation/corruption sweeps over a valid file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/base/safetensors.h"

using namespace reckoning;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

namespace {

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = (fs::temp_directory_path() /
            str("reckoning_safetensors_", ::getpid(), "_", info->name()))
               .string();
    reckoning::remove_tree(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { reckoning::remove_tree(dir_); }
  std::string path(const std::string& name) const { return path_join(dir_, name); }

  // A file made of an 8-byte length, `header` and `data_bytes` bytes of data (value 1).
  std::string write_raw(const std::string& name, const std::string& header, size_t data_bytes,
                        std::optional<uint64_t> length = std::nullopt) {
    std::string contents(8, '\0');
    uint64_t n = length ? *length : header.size();
    std::memcpy(contents.data(), &n, 8);
    contents += header + std::string(data_bytes, '\1');
    const std::string p = path(name);
    write_file_atomic(p, contents);
    return p;
  }

  // The message of the reckoning::Error that `f` throws; fails the test if it throws nothing.
  template <class F>
  std::string error_of(F&& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    ADD_FAILURE() << "expected a reckoning::Error";
    return "";
  }

  // Without write_file_atomic's fsync: the sweeps below write thousands of files.
  void write_plain(const std::string& p, const std::string& contents) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << contents;
  }

  std::string dir_;
};

}  // namespace

TEST_F(SafetensorsTest, RoundTripEveryDtypeKeepsOrderValuesAndMetadata) {
  torch::manual_seed(0);
  std::vector<std::pair<std::string, torch::Tensor>> tensors = {
      {"z.f32", torch::randn({3, 4})},
      {"a.f64", torch::randn({2, 3}, torch::kFloat64)},
      {"m.f16", torch::randn({5}).to(torch::kFloat16)},
      {"b.bf16", torch::randn({2, 2}).to(torch::kBFloat16)},
      {"step", torch::tensor(int64_t{1234567890123})},  // 0-d
      {"i32", torch::tensor({-7, 8, 9}, torch::kInt32)},
      {"i16", torch::tensor({-300, 300}, torch::kInt16)},
      {"i8", torch::tensor({-5, 6}, torch::kInt8)},
      {"u8", torch::tensor({250, 3}, torch::kUInt8)},
      {"mask", torch::tensor({true, false, true})},
      {"empty", torch::zeros({0, 4})},
      {"transposed", torch::arange(6, torch::kFloat32).reshape({2, 3}).t()},  // non-contiguous
  };
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"step", "12"}};
  safetensors_save(path("all.safetensors"), tensors, metadata);

  Safetensors loaded = safetensors_load(path("all.safetensors"));
  EXPECT_EQ(loaded.metadata, metadata);
  ASSERT_EQ(loaded.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    SCOPED_TRACE(tensors[i].first);
    EXPECT_EQ(loaded.tensors[i].first, tensors[i].first);  // the order given, not sorted
    EXPECT_EQ(loaded.tensors[i].second.scalar_type(), tensors[i].second.scalar_type());
    EXPECT_EQ(loaded.tensors[i].second.sizes(), tensors[i].second.sizes());
    EXPECT_TRUE(torch::equal(loaded.tensors[i].second, tensors[i].second));
  }
  ASSERT_NE(loaded.find("step"), nullptr);
  EXPECT_EQ(loaded.find("step")->item<int64_t>(), 1234567890123);
  EXPECT_EQ(loaded.find("absent"), nullptr);
}

TEST_F(SafetensorsTest, HeaderIsPaddedAndOffsetsAreContiguous) {
  safetensors_save(path("x.safetensors"), {{"a", torch::ones({3})}, {"bb", torch::ones({2, 2}, torch::kFloat64)}});
  SafetensorsHeader h = safetensors_read_header(path("x.safetensors"));
  EXPECT_EQ(h.data_start % 8, 0u);
  ASSERT_EQ(h.tensors.size(), 2u);
  EXPECT_EQ(h.tensors[0].dtype, "F32");
  EXPECT_EQ(h.tensors[0].begin, 0u);
  EXPECT_EQ(h.tensors[0].end, 12u);
  EXPECT_EQ(h.tensors[1].dtype, "F64");
  EXPECT_EQ(h.tensors[1].begin, 12u);
  EXPECT_EQ(h.tensors[1].end, 44u);
  EXPECT_EQ(fs::file_size(path("x.safetensors")), h.data_start + 44);
  EXPECT_TRUE(h.metadata.empty());
}

TEST_F(SafetensorsTest, FloatDtypeConversionOnLoadLeavesIntegersAlone) {
  torch::Tensor half = torch::randn({4}).to(torch::kFloat16);
  torch::Tensor bf = torch::randn({4}).to(torch::kBFloat16);
  torch::Tensor ints = torch::tensor({1, 2}, torch::kInt64);
  safetensors_save(path("h.safetensors"), {{"half", half}, {"bf", bf}, {"ints", ints}});
  Safetensors f32 = safetensors_load(path("h.safetensors"), torch::kFloat32);
  EXPECT_EQ(f32.find("half")->scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(*f32.find("half"), half.to(torch::kFloat32)));
  EXPECT_EQ(f32.find("bf")->scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(*f32.find("bf"), bf.to(torch::kFloat32)));
  EXPECT_EQ(f32.find("ints")->scalar_type(), torch::kInt64);
  Safetensors f64 = safetensors_load(path("h.safetensors"), torch::kFloat64);
  EXPECT_EQ(f64.find("bf")->scalar_type(), torch::kFloat64);
}

TEST_F(SafetensorsTest, SaveReplacesExistingFileAtomically) {
  safetensors_save(path("x.safetensors"), {{"a", torch::ones({100})}});
  safetensors_save(path("x.safetensors"), {{"b", torch::zeros({2})}});
  Safetensors loaded = safetensors_load(path("x.safetensors"));
  ASSERT_EQ(loaded.tensors.size(), 1u);
  EXPECT_EQ(loaded.tensors[0].first, "b");
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) files += entry.is_regular_file();
  EXPECT_EQ(files, 1u);  // no temporary file left behind
}

TEST_F(SafetensorsTest, SaveRefusesBadNamesAndDtypes) {
  EXPECT_THAT(error_of([&] {
                safetensors_save(path("x.safetensors"), {{"a", torch::ones({1})}, {"a", torch::ones({1})}});
              }),
              HasSubstr("tensor 'a': expected a unique name"));
  EXPECT_THAT(error_of([&] { safetensors_save(path("x.safetensors"), {{"__metadata__", torch::ones({1})}}); }),
              HasSubstr("other than '__metadata__'"));
  EXPECT_THAT(error_of([&] {
                safetensors_save(path("x.safetensors"), {{"c", torch::ones({1}, torch::kComplexFloat)}});
              }),
              HasSubstr("tensor 'c': expected a dtype among F64, F32"));
  EXPECT_THAT(error_of([&] { safetensors_save(path("x.safetensors"), {{"u", torch::Tensor()}}); }),
              HasSubstr("tensor 'u': expected a defined tensor"));
  EXPECT_FALSE(file_exists(path("x.safetensors")));
}

// ---- malformed files: one test per rule -------------------------------------------------------

TEST_F(SafetensorsTest, ErrorTruncatedBelowEightBytes) {
  write_file_atomic(path("short.safetensors"), "abc");
  std::string msg = error_of([&] { safetensors_load(path("short.safetensors")); });
  EXPECT_THAT(msg, HasSubstr("short.safetensors"));
  EXPECT_THAT(msg, HasSubstr("expected a safetensors file of at least 8 bytes"));
  EXPECT_THAT(msg, HasSubstr("got 3 bytes"));
  write_file_atomic(path("empty.safetensors"), "");
  EXPECT_THAT(error_of([&] { safetensors_load(path("empty.safetensors")); }), HasSubstr("got 0 bytes"));
}

TEST_F(SafetensorsTest, ErrorMissingFileOrDirectory) {
  EXPECT_THAT(error_of([&] { safetensors_load(path("nope.safetensors")); }),
              HasSubstr("nope.safetensors: cannot open"));
  EXPECT_THAT(error_of([&] { safetensors_load(dir_); }), HasSubstr("expected a regular file"));
}

TEST_F(SafetensorsTest, ErrorHeaderLengthBeyondFile) {
  std::string p = write_raw("long.safetensors", "{}", 0, uint64_t{1} << 40);
  std::string msg = error_of([&] { safetensors_load(p); });
  EXPECT_THAT(msg, HasSubstr("long.safetensors: expected a header length of at most 2 bytes"));
  EXPECT_THAT(msg, HasSubstr("got 1099511627776"));
  // The largest possible value must not wrap around in the bounds arithmetic.
  p = write_raw("max.safetensors", "{}", 0, ~uint64_t{0});
  EXPECT_THAT(error_of([&] { safetensors_load(p); }), HasSubstr("expected a header length of at most"));
}

TEST_F(SafetensorsTest, ErrorInvalidJsonHeader) {
  std::string p = write_raw("bad.safetensors", R"({"a": {"dtype": "F32",)", 0);
  std::string msg = error_of([&] { safetensors_load(p); });
  EXPECT_THAT(msg, HasSubstr("bad.safetensors: expected a JSON header, got invalid JSON"));
}

TEST_F(SafetensorsTest, ErrorHeaderNotAnObject) {
  std::string p = write_raw("arr.safetensors", "[1, 2]", 0);
  EXPECT_THAT(error_of([&] { safetensors_load(p); }),
              HasSubstr("arr.safetensors: expected a JSON object as header, got array"));
}

TEST_F(SafetensorsTest, ErrorEntryNotAnObjectOrFieldMissing) {
  std::string p = write_raw("e.safetensors", R"({"w": 3})", 0);
  EXPECT_THAT(error_of([&] { safetensors_load(p); }),
              HasSubstr("e.safetensors: tensor 'w': expected an object with dtype, shape, data_offsets, got 3"));
  p = write_raw("f.safetensors", R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", 4);
  EXPECT_THAT(error_of([&] { safetensors_load(p); }),
              HasSubstr("tensor 'w': expected field 'dtype', got nothing"));
  p = write_raw("g.safetensors", R"({"w": {"dtype": "F32", "shape": [1]}})", 4);
  EXPECT_THAT(error_of([&] { safetensors_load(p); }),
              HasSubstr("tensor 'w': expected field 'data_offsets', got nothing"));
}

TEST_F(SafetensorsTest, ErrorUnknownDtype) {
  std::string p = write_raw("d.safetensors", R"({"w": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}})", 1);
  std::string msg = error_of([&] { safetensors_load(p); });
  EXPECT_THAT(msg, HasSubstr("d.safetensors: tensor 'w': field 'dtype': expected one of F64, F32, F16, BF16"));
  EXPECT_THAT(msg, HasSubstr("got 'F8_E4M3' (unknown or unsupported)"));
  p = write_raw("d2.safetensors", R"({"w": {"dtype": 32, "shape": [1], "data_offsets": [0, 4]}})", 4);
  EXPECT_THAT(error_of([&] { safetensors_load(p); }), HasSubstr("field 'dtype': expected a string, got 32"));
}

TEST_F(SafetensorsTest, ErrorShapeNotAListOfNonNegativeInts) {
  for (const char* shape : {"[-1, 2]", "\"2x2\"", "[1.5]", "[\"1\"]", "[null]"}) {
    SCOPED_TRACE(shape);
    std::string p = write_raw("s.safetensors",
                              str(R"({"w": {"dtype": "F32", "shape": )", shape, R"(, "data_offsets": [0, 8]}})"), 8);
    std::string msg = error_of([&] { safetensors_load(p); });
    EXPECT_THAT(msg, HasSubstr("s.safetensors: tensor 'w': field 'shape': expected a list of non-negative integers"));
  }
}

TEST_F(SafetensorsTest, ErrorDataOffsetsNotTwoInts) {
  for (const char* offsets : {"[0]", "[0, 4, 8]", "[0, \"4\"]", "4", "[-4, 4]", "[0, 4.0]"}) {
    SCOPED_TRACE(offsets);
    std::string p = write_raw("o.safetensors",
                              str(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": )", offsets, "}}"), 8);
    EXPECT_THAT(error_of([&] { safetensors_load(p); }),
                HasSubstr("tensor 'w': field 'data_offsets': expected two non-negative integers [begin, end]"));
  }
}

TEST_F(SafetensorsTest, ErrorDataOffsetsBeginAfterEnd) {
  std::string p = write_raw("o.safetensors", R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})", 8);
  EXPECT_THAT(error_of([&] { safetensors_load(p); }),
              HasSubstr("tensor 'w': field 'data_offsets': expected begin <= end, got [8,4]"));
}

TEST_F(SafetensorsTest, ErrorDataOffsetsOutsideDataSection) {
  // The header promises 16 bytes, the file holds 8: a truncated download.
  std::string p = write_raw("t.safetensors", R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8);
  std::string msg = error_of([&] { safetensors_load(p); });
  EXPECT_THAT(msg, HasSubstr("t.safetensors: tensor 'w': field 'data_offsets': expected a range inside the data section of 8 bytes"));
  EXPECT_THAT(msg, HasSubstr("file truncated"));
  // Offsets near 2^64 must not wrap around.
  p = write_raw("t2.safetensors",
                R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [18446744073709551612, 18446744073709551615]}})", 8);
  EXPECT_THAT(error_of([&] { safetensors_load(p); }), HasSubstr("field 'data_offsets': expected two non-negative integers"));
  p = write_raw("t3.safetensors",
                R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [9223372036854775800, 9223372036854775804]}})", 8);
  EXPECT_THAT(error_of([&] { safetensors_load(p); }), HasSubstr("expected a range inside the data section"));
}

TEST_F(SafetensorsTest, ErrorOverlappingTensors) {
  std::string p = write_raw("ov.safetensors",
                            R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                            R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                            12);
  std::string msg = error_of([&] { safetensors_load(p); });
  EXPECT_THAT(msg, HasSubstr("ov.safetensors: tensor 'b': field 'data_offsets': expected a byte range not "
                             "overlapping tensor 'a' [0, 8), got [4, 12)"));
  // Empty tensors occupy no bytes and never overlap; gaps between tensors are accepted.
  p = write_raw("ok.safetensors",
                R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                R"( "e": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]},)"
                R"( "b": {"dtype": "F32", "shape": [1], "data_offsets": [12, 16]}})",
                16);
  EXPECT_EQ(safetensors_load(p).tensors.size(), 3u);
}

TEST_F(SafetensorsTest, ErrorByteSizeNotMatchingShapeTimesDtype) {
  std::string p = write_raw("sz.safetensors", R"({"w": {"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 8]}})", 16);
  std::string msg = error_of([&] { safetensors_load(p); });
  EXPECT_THAT(msg, HasSubstr("sz.safetensors: tensor 'w': expected 12 bytes for shape [2, 3] of F16, got 8 bytes"));
  // A shape whose byte size overflows 64 bits must not wrap into a plausible size.
  p = write_raw("huge.safetensors",
                R"({"w": {"dtype": "F64", "shape": [4294967296, 4294967296, 2], "data_offsets": [0, 0]}})", 0);
  EXPECT_THAT(error_of([&] { safetensors_load(p); }), HasSubstr("expected a shape whose byte size fits in 64 bits, for F64, got shape [4294967296, 4294967296, 2]"));
}

TEST_F(SafetensorsTest, ErrorMetadataNotStrings) {
  std::string p = write_raw("m.safetensors", R"({"__metadata__": {"format": "pt", "step": 3}})", 0);
  EXPECT_THAT(error_of([&] { safetensors_load(p); }),
              HasSubstr("m.safetensors: __metadata__ key 'step': expected a string, got 3"));
  p = write_raw("m2.safetensors", R"({"__metadata__": [1]})", 0);
  EXPECT_THAT(error_of([&] { safetensors_load(p); }), HasSubstr("__metadata__: expected an object of strings"));
}

TEST_F(SafetensorsTest, ErrorBoolByteOutOfRange) {
  std::string p = write_raw("b.safetensors", R"({"m": {"dtype": "BOOL", "shape": [3], "data_offsets": [0, 3]}})", 3);
  // write_raw fills data with byte 1 (valid); corrupt one byte.
  std::string contents = read_file(p);
  contents[contents.size() - 2] = 2;
  write_file_atomic(p, contents);
  EXPECT_THAT(error_of([&] { safetensors_load(p); }),
              HasSubstr("tensor 'm': expected BOOL bytes 0 or 1, got byte 2 at element 1"));
}

TEST_F(SafetensorsTest, EveryTruncationOfAValidFileIsAnError) {
  safetensors_save(path("ok.safetensors"),
                   {{"a", torch::randn({3, 2})}, {"b", torch::tensor({1, 2}, torch::kInt64)}}, {{"k", "v"}});
  const std::string good = read_file(path("ok.safetensors"));
  for (size_t n = 0; n < good.size(); ++n) {
    write_plain(path("cut.safetensors"), good.substr(0, n));
    EXPECT_THROW(safetensors_load(path("cut.safetensors")), Error) << "truncated to " << n << " bytes";
  }
}

TEST_F(SafetensorsTest, CorruptedHeaderBytesNeverCrash) {
  safetensors_save(path("ok.safetensors"),
                   {{"a", torch::randn({3, 2})}, {"b", torch::tensor({1, 2}, torch::kInt64)}});
  const std::string good = read_file(path("ok.safetensors"));
  const size_t header_end = safetensors_read_header(path("ok.safetensors")).data_start;
  // Every header byte (length included) replaced by a few troublesome values: either loads or
  // throws reckoning::Error; anything else (crash, other exception) fails the test.
  for (size_t i = 0; i < header_end; ++i) {
    for (char c : {'\0', '9', '-', '"', '}', '\xff'}) {
      std::string bad = good;
      bad[i] = c;
      write_plain(path("bad.safetensors"), bad);
      try {
        safetensors_load(path("bad.safetensors"));
      } catch (const Error&) {
      }
    }
  }
}

// ---- sharded checkpoints --------------------------------------------------------------------

TEST_F(SafetensorsTest, ShardedIndexLoadsInWeightMapOrder) {
  safetensors_save(path("s1.safetensors"), {{"x", torch::ones({2})}, {"y", torch::zeros({1})}});
  safetensors_save(path("s2.safetensors"), {{"z", torch::full({3}, 2.0)}});
  write_json_file_atomic(path("index.json"),
                         {{"metadata", {{"total_size", 24}}},
                          {"weight_map", {{"z", "s2.safetensors"}, {"x", "s1.safetensors"}, {"y", "s1.safetensors"}}}});
  Safetensors loaded = safetensors_load_index(path("index.json"));
  ASSERT_EQ(loaded.tensors.size(), 3u);
  EXPECT_EQ(loaded.metadata.at("total_size"), "24");
  EXPECT_TRUE(torch::equal(*loaded.find("z"), torch::full({3}, 2.0)));
  EXPECT_TRUE(torch::equal(*loaded.find("x"), torch::ones({2})));
  SafetensorsIndex index = safetensors_read_index(path("index.json"));
  EXPECT_EQ(index.shards.size(), 2u);
}

TEST_F(SafetensorsTest, ErrorIndexRefersToMissingShard) {
  safetensors_save(path("s1.safetensors"), {{"x", torch::ones({2})}});
  write_json_file_atomic(path("index.json"),
                         {{"weight_map", {{"x", "s1.safetensors"}, {"y", "s9.safetensors"}}}});
  std::string msg = error_of([&] { safetensors_load_index(path("index.json")); });
  EXPECT_THAT(msg, HasSubstr("index.json: tensor 'y': expected an existing shard file"));
  EXPECT_THAT(msg, HasSubstr("s9.safetensors' (missing)"));
}

TEST_F(SafetensorsTest, ErrorIndexTensorNotInShard) {
  safetensors_save(path("s1.safetensors"), {{"x", torch::ones({2})}});
  write_json_file_atomic(path("index.json"), {{"weight_map", {{"x", "s1.safetensors"}, {"y", "s1.safetensors"}}}});
  std::string msg = error_of([&] { safetensors_load_index(path("index.json")); });
  EXPECT_THAT(msg, HasSubstr("s1.safetensors: tensor 'y': expected present"));
  EXPECT_THAT(msg, HasSubstr("index.json assigns it to this shard), got missing"));
}

TEST_F(SafetensorsTest, ErrorShardHoldsTensorIndexDoesNotList) {
  safetensors_save(path("s1.safetensors"), {{"x", torch::ones({2})}, {"stray", torch::ones({1})}});
  write_json_file_atomic(path("index.json"), {{"weight_map", {{"x", "s1.safetensors"}}}});
  EXPECT_THAT(error_of([&] { safetensors_load_index(path("index.json")); }),
              HasSubstr("s1.safetensors: tensor 'stray': expected only tensors that"));
}

TEST_F(SafetensorsTest, ErrorIndexMalformed) {
  write_file_atomic(path("a.json"), "{\"weight_map\": ");
  EXPECT_THAT(error_of([&] { safetensors_load_index(path("a.json")); }),
              HasSubstr("a.json: expected a JSON index, got invalid JSON"));
  write_json_file_atomic(path("b.json"), {{"metadata", {}}});
  EXPECT_THAT(error_of([&] { safetensors_load_index(path("b.json")); }),
              HasSubstr("b.json: expected field 'weight_map', got nothing"));
  write_json_file_atomic(path("c.json"), {{"weight_map", {1, 2}}});
  EXPECT_THAT(error_of([&] { safetensors_load_index(path("c.json")); }),
              HasSubstr("c.json: field 'weight_map': expected an object {tensor: shard file}, got array"));
  write_json_file_atomic(path("d.json"), {{"weight_map", {{"x", 5}}}});
  EXPECT_THAT(error_of([&] { safetensors_load_index(path("d.json")); }),
              HasSubstr("d.json: tensor 'x': expected a shard file name, got 5"));
}

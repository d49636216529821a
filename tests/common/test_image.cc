#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "trustsim/crc32.h"
#include "trustsim/image.h"

namespace img = trustsim::image;

namespace {

std::vector<uint8_t> make_image(std::vector<uint8_t> payload) {
  img::Header h{};
  h.image_type = uint32_t(img::Type::kRommon);
  h.platform_id = 0x1100;
  h.load_addr = 0x40200000;
  h.entry = 0x40200000;
  h.payload_len = payload.size();
  h.payload_crc32 = trustsim::crc32(payload.data(), payload.size());
  strcpy(h.version, "17.3(1r)");
  strcpy(h.platform, "TS-ISR1100");
  std::vector<uint8_t> out(img::kHeaderSize);
  img::write_header(h, out.data());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

}  // namespace

TEST(Crc32, MatchesTheStandardCheckValue) {
  const char* s = "123456789";
  EXPECT_EQ(trustsim::crc32(s, 9), 0xCBF43926u);
  // Incremental use gives the same answer.
  EXPECT_EQ(trustsim::crc32(s + 4, 5, trustsim::crc32(s, 4)), 0xCBF43926u);
}

// Eight bytes per step, one aligned load or eight byte loads each, then a
// byte tail: it must agree with the plain bit-by-bit definition at every
// length, alignment and split.
TEST(Crc32, EveryLengthAlignmentAndSplitMatchesTheBitwiseDefinition) {
  auto bitwise = [](const uint8_t* p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; ++i) {
      c ^= p[i];
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
    }
    return ~c;
  };
  std::vector<uint8_t> buf(80);
  uint32_t x = 12345;
  for (uint8_t& b : buf) b = uint8_t((x = x * 1103515245u + 12345u) >> 16);
  for (size_t off = 0; off < 8; ++off)
    for (size_t len = 0; off + len <= buf.size(); ++len) {
      uint32_t want = bitwise(buf.data() + off, len);
      ASSERT_EQ(trustsim::crc32(buf.data() + off, len), want) << "offset " << off << " length " << len;
      size_t half = len / 3;
      ASSERT_EQ(trustsim::crc32(buf.data() + off + half, len - half, trustsim::crc32(buf.data() + off, half)), want)
          << "offset " << off << " length " << len << " split at " << half;
    }
}

TEST(ImageHeader, RoundTripsEveryField) {
  auto im = make_image({1, 2, 3, 4});
  img::Header h;
  ASSERT_EQ(img::parse_header(im.data(), im.size(), h), img::Error::kOk);
  EXPECT_EQ(h.image_type, uint32_t(img::Type::kRommon));
  EXPECT_EQ(h.platform_id, 0x1100u);
  EXPECT_EQ(h.load_addr, 0x40200000u);
  EXPECT_EQ(h.payload_len, 4u);
  EXPECT_STREQ(h.version, "17.3(1r)");
  EXPECT_STREQ(h.platform, "TS-ISR1100");
  EXPECT_EQ(img::check_payload(h, im.data() + img::kHeaderSize, 4), img::Error::kOk);
}

TEST(ImageHeader, EachCorruptionHasItsOwnError) {
  auto good = make_image(std::vector<uint8_t>(100, 0xAB));
  img::Header h;
  EXPECT_EQ(img::parse_header(good.data(), 100, h), img::Error::kTruncatedHeader);

  auto bad = good;
  bad[0] ^= 1;
  EXPECT_EQ(img::parse_header(bad.data(), bad.size(), h), img::Error::kBadMagic);

  bad = good;
  bad[4] = 9;
  EXPECT_EQ(img::parse_header(bad.data(), bad.size(), h), img::Error::kUnsupportedVersion);

  bad = good;
  bad[20] ^= 0x10;  // load address: header CRC must catch it
  EXPECT_EQ(img::parse_header(bad.data(), bad.size(), h), img::Error::kBadHeaderCrc);

  ASSERT_EQ(img::parse_header(good.data(), good.size(), h), img::Error::kOk);
  EXPECT_EQ(img::check_payload(h, good.data() + img::kHeaderSize, 99), img::Error::kTruncatedPayload);
  bad = good;
  bad[img::kHeaderSize + 50] ^= 0x80;
  EXPECT_EQ(img::check_payload(h, bad.data() + img::kHeaderSize, 100), img::Error::kBadPayloadCrc);
}

TEST(ImageHeader, EntryOutsidePayloadIsRejected) {
  img::Header h{};
  h.image_type = uint32_t(img::Type::kOs);
  h.load_addr = 0x1000;
  h.entry = 0x2000;
  h.payload_len = 16;
  strcpy(h.version, "v");
  strcpy(h.platform, "p");
  uint8_t buf[img::kHeaderSize];
  img::write_header(h, buf);
  img::Header out;
  EXPECT_EQ(img::parse_header(buf, sizeof buf, out), img::Error::kEntryOutsidePayload);
}

TEST(ImageHeader, ErrorTextsNameTheProblem) {
  EXPECT_NE(std::string(img::error_text(img::Error::kTruncatedPayload)).find("truncated"), std::string::npos);
  EXPECT_NE(std::string(img::error_text(img::Error::kBadMagic)).find("magic"), std::string::npos);
}

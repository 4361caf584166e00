#include "duet/opus_codec.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using Catch::Matchers::StartsWith;
using duet::Expected;
using duet::audio::OpusDecoder;
using duet::audio::OpusEncoder;

namespace {

constexpr int kRate = duet::audio::kOpusSampleRate;
constexpr int kFrame = 960;   // 20 ms, what WebRTC sends
constexpr int kFrames = 50;   // one second
constexpr double kSkipSeconds = 0.1;  // the codec's start-up transient, left out of comparisons

// The value of a result that must have one. Throws otherwise, so the test fails with the error's
// message even when this is called inside a CHECK.
template <class T>
T take(Expected<T> result) {
  if (!result) throw std::runtime_error("unexpected error: " + result.error().message);
  return std::move(result).value();
}

// What a result holds, as "<error code>: <message>" or "a value"; failures show all of it.
template <class T>
std::string outcome(const Expected<T>& result) {
  if (result) return "a value";
  return std::string(duet::to_string(result.error().code)) + ": " + result.error().message;
}

// One second of a 440 Hz sine at half of full scale, the same in every channel, interleaved.
std::vector<float> sine(int channels) {
  std::vector<float> pcm;
  for (int i = 0; i < kRate; ++i) {
    const auto value = static_cast<float>(0.5 * std::sin(2 * std::numbers::pi * 440.0 * i / kRate));
    pcm.insert(pcm.end(), static_cast<std::size_t>(channels), value);
  }
  return pcm;
}

std::vector<std::int16_t> to_int16(const std::vector<float>& pcm) {
  std::vector<std::int16_t> out;
  for (float v : pcm) out.push_back(static_cast<std::int16_t>(std::lround(v * 32767.0f)));
  return out;
}

// One channel of interleaved samples, as doubles.
template <class Sample>
std::vector<double> channel(const std::vector<Sample>& pcm, int channels, int which) {
  std::vector<double> out;
  for (std::size_t i = static_cast<std::size_t>(which); i < pcm.size(); i += static_cast<std::size_t>(channels)) {
    out.push_back(static_cast<double>(pcm[i]));
  }
  return out;
}

struct Likeness {
  double correlation;   // 1 when the decoded signal has exactly the input's shape
  double energy_ratio;  // decoded energy over input energy
};

// Compares decoded audio with the input it came from, shifted by the codec's delay.
Likeness compare(const std::vector<double>& input, const std::vector<double>& decoded, int delay) {
  double in_energy = 0, out_energy = 0, cross = 0;
  for (auto i = static_cast<std::size_t>(kSkipSeconds * kRate); i + static_cast<std::size_t>(delay) < input.size(); ++i) {
    const double a = input[i];
    const double b = decoded[i + static_cast<std::size_t>(delay)];
    in_energy += a * a;
    out_energy += b * b;
    cross += a * b;
  }
  return {cross / std::sqrt(in_energy * out_energy), out_energy / in_energy};
}

// Encodes interleaved `pcm` in 20 ms frames; returns the packets.
template <class Sample>
std::vector<std::vector<std::uint8_t>> encode_all(OpusEncoder& encoder, const std::vector<Sample>& pcm) {
  const auto step = static_cast<std::size_t>(kFrame * encoder.channels());
  std::vector<std::vector<std::uint8_t>> packets;
  for (std::size_t at = 0; at + step <= pcm.size(); at += step) {
    packets.push_back(take(encoder.encode(std::span<const Sample>(pcm).subspan(at, step))));
  }
  return packets;
}

std::size_t total_bytes(const std::vector<std::vector<std::uint8_t>>& packets) {
  std::size_t bytes = 0;
  for (const auto& packet : packets) bytes += packet.size();
  return bytes;
}

}  // namespace

TEST_CASE("A 440 Hz sine comes back through a second of 20 ms mono frames", "[audio]") {
  auto encoder = take(OpusEncoder::create(kRate, 1));
  auto decoder = take(OpusDecoder::create(kRate, 1));
  const auto input = to_int16(sine(1));

  const auto packets = encode_all(encoder, input);
  REQUIRE(packets.size() == kFrames);
  // 32 kbit/s is 80 bytes per 20 ms on average; variable bitrate moves single packets around it.
  for (const auto& packet : packets) {
    CHECK(packet.size() >= 10);
    CHECK(packet.size() <= 240);
  }
  CHECK(total_bytes(packets) >= 4000 * 6 / 10);
  CHECK(total_bytes(packets) <= 4000 * 14 / 10);

  std::vector<std::int16_t> output;
  for (const auto& packet : packets) {
    const auto pcm = take(decoder.decode(packet));
    REQUIRE(pcm.size() == kFrame);
    output.insert(output.end(), pcm.begin(), pcm.end());
  }
  const auto likeness = compare(channel(input, 1, 0), channel(output, 1, 0), encoder.lookahead());
  CHECK(likeness.correlation > 0.95);
  CHECK(likeness.energy_ratio == Approx(1.0).margin(0.2));
}

TEST_CASE("Float stereo frames come back with the sine in both channels", "[audio]") {
  auto encoder = take(OpusEncoder::create(kRate, 2, 64'000));
  auto decoder = take(OpusDecoder::create(kRate, 2));
  const auto input = sine(2);

  std::vector<float> output;
  for (const auto& packet : encode_all(encoder, input)) {
    const auto pcm = take(decoder.decode_float(packet));
    REQUIRE(pcm.size() == 2 * kFrame);
    output.insert(output.end(), pcm.begin(), pcm.end());
  }
  for (int which : {0, 1}) {
    CAPTURE(which);
    const auto likeness = compare(channel(input, 2, which), channel(output, 2, which), encoder.lookahead());
    CHECK(likeness.correlation > 0.95);
    CHECK(likeness.energy_ratio == Approx(1.0).margin(0.2));
  }
}

TEST_CASE("The bitrate setting drives the packet sizes", "[audio]") {
  const int bitrate = GENERATE(16'000, 32'000, 64'000);
  CAPTURE(bitrate);
  auto encoder = take(OpusEncoder::create(kRate, 1, 8'000));
  REQUIRE(take(encoder.set_bitrate(bitrate)) == bitrate);

  const auto bytes_per_second = static_cast<double>(total_bytes(encode_all(encoder, to_int16(sine(1)))));
  CHECK(bytes_per_second == Approx(bitrate / 8.0).epsilon(0.4));
}

TEST_CASE("Frames that are not an Opus frame size are refused with bad_value", "[audio]") {
  const int samples = GENERATE(0, 1, 119, 121, 160, 441, 959, 961, 2881, 5760);
  CAPTURE(samples);
  auto mono = take(OpusEncoder::create(kRate, 1));
  const std::vector<std::int16_t> pcm(static_cast<std::size_t>(samples));
  const std::vector<float> pcm_float(static_cast<std::size_t>(samples));
  CHECK_THAT(outcome(mono.encode(pcm)), StartsWith("bad_value: "));
  CHECK_THAT(outcome(mono.encode(pcm_float)), StartsWith("bad_value: "));
}

TEST_CASE("Stereo frames must hold whole sample pairs", "[audio]") {
  auto stereo = take(OpusEncoder::create(kRate, 2));
  CHECK_THAT(outcome(stereo.encode(std::vector<std::int16_t>(2 * kFrame - 1))), StartsWith("bad_value: "));
  CHECK_THAT(outcome(stereo.encode(std::vector<std::int16_t>(2 * kFrame + 1))), StartsWith("bad_value: "));
  CHECK(take(stereo.encode(std::vector<std::int16_t>(2 * kFrame))).size() > 0);
}

TEST_CASE("Every legal frame size is accepted", "[audio]") {
  auto encoder = take(OpusEncoder::create(kRate, 1));
  for (int samples : duet::audio::kOpusFrameSizes) {
    CAPTURE(samples);
    CHECK(take(encoder.encode(std::vector<float>(static_cast<std::size_t>(samples)))).size() > 0);
  }
}

TEST_CASE("Sample rates other than 48 kHz are refused with bad_value", "[audio]") {
  const int rate = GENERATE(-48'000, 0, 8'000, 16'000, 24'000, 44'100, 96'000);
  CAPTURE(rate);
  CHECK_THAT(outcome(OpusEncoder::create(rate, 1)), StartsWith("bad_value: "));
  CHECK_THAT(outcome(OpusDecoder::create(rate, 1)), StartsWith("bad_value: "));
}

TEST_CASE("Channel counts other than 1 and 2 are refused with bad_value", "[audio]") {
  const int channels = GENERATE(-1, 0, 3, 8, 255);
  CAPTURE(channels);
  CHECK_THAT(outcome(OpusEncoder::create(kRate, channels)), StartsWith("bad_value: "));
  CHECK_THAT(outcome(OpusDecoder::create(kRate, channels)), StartsWith("bad_value: "));
}

TEST_CASE("Bitrates outside 6 to 510 kbit/s are refused with bad_value", "[audio]") {
  const int bitrate = GENERATE(-1, 0, 5'999, 510'001, 10'000'000);
  CAPTURE(bitrate);
  CHECK_THAT(outcome(OpusEncoder::create(kRate, 1, bitrate)), StartsWith("bad_value: "));
  auto encoder = take(OpusEncoder::create(kRate, 1));
  CHECK_THAT(outcome(encoder.set_bitrate(bitrate)), StartsWith("bad_value: "));
}

TEST_CASE("The encoder reports the bitrate it applies, capped by libopus per channel", "[audio]") {
  auto mono = take(OpusEncoder::create(kRate, 1));
  auto stereo = take(OpusEncoder::create(kRate, 2));
  CHECK(take(mono.set_bitrate(duet::audio::kMinOpusBitrate)) == duet::audio::kMinOpusBitrate);
  CHECK(take(mono.set_bitrate(duet::audio::kMaxOpusBitrate)) == 300'000);
  CHECK(take(stereo.set_bitrate(duet::audio::kMaxOpusBitrate)) == duet::audio::kMaxOpusBitrate);
}

TEST_CASE("Bytes that are not an Opus packet are refused with bad_value", "[audio]") {
  auto decoder = take(OpusDecoder::create(kRate, 1));
  // Empty; code 3 (an arbitrary number of frames) without its frame count byte; code 3 claiming
  // 0 frames; code 3 claiming 63 frames of 20 ms, far over Opus's 120 ms limit.
  const std::vector<std::uint8_t> packet = GENERATE(
      std::vector<std::uint8_t>{}, std::vector<std::uint8_t>{0x03}, std::vector<std::uint8_t>{0x03, 0x00},
      std::vector<std::uint8_t>{0x0B, 0x3F});
  CAPTURE(packet);
  CHECK_THAT(outcome(decoder.decode(packet)), StartsWith("bad_value: "));
  CHECK_THAT(outcome(decoder.decode_float(packet)), StartsWith("bad_value: "));
}

TEST_CASE("The linked Opus is release 1.3.1", "[audio]") {
  CHECK(duet::audio::opus_version() == "libopus 1.3.1");
}

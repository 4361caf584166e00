#include "duet/opus_codec.hpp"

#include <opus.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <string>

namespace duet::audio {
namespace {

// libopus recommends this output buffer for one packet: enough for 60 ms at the top bitrate.
constexpr opus_int32 kMaxPacketBytes = 4000;

Error opus_failure(std::string_view what, int status) {
  return make_error(ErrorCode::internal, std::string(what) + ": " + opus_strerror(status));
}

Error not_a_packet(int status) {
  return make_error(ErrorCode::bad_value, std::string("not an Opus packet: ") + opus_strerror(status));
}

std::optional<Error> check_format(int sample_rate, int channels) {
  if (sample_rate != kOpusSampleRate) {
    return make_error(ErrorCode::bad_value, "sample rate " + std::to_string(sample_rate) +
                                                " Hz: only 48000 Hz is supported");
  }
  if (channels != 1 && channels != 2) {
    return make_error(ErrorCode::bad_value,
                      std::to_string(channels) + " channels: only 1 (mono) or 2 (stereo)");
  }
  return std::nullopt;
}

std::optional<Error> check_bitrate(int bits_per_second) {
  if (bits_per_second < kMinOpusBitrate || bits_per_second > kMaxOpusBitrate) {
    return make_error(ErrorCode::bad_value, "bitrate " + std::to_string(bits_per_second) +
                                                " bit/s is outside 6000..510000");
  }
  return std::nullopt;
}

int encode_raw(::OpusEncoder* encoder, const std::int16_t* pcm, int frame, unsigned char* out) {
  return opus_encode(encoder, pcm, frame, out, kMaxPacketBytes);
}
int encode_raw(::OpusEncoder* encoder, const float* pcm, int frame, unsigned char* out) {
  return opus_encode_float(encoder, pcm, frame, out, kMaxPacketBytes);
}
int decode_raw(::OpusDecoder* decoder, const std::uint8_t* packet, int bytes, std::int16_t* pcm, int frame) {
  return opus_decode(decoder, packet, bytes, pcm, frame, 0);
}
int decode_raw(::OpusDecoder* decoder, const std::uint8_t* packet, int bytes, float* pcm, int frame) {
  return opus_decode_float(decoder, packet, bytes, pcm, frame, 0);
}

template <class Sample>
Expected<std::vector<std::uint8_t>> encode_frame(::OpusEncoder* encoder, int channels,
                                                 std::span<const Sample> pcm) {
  const auto values = pcm.size();
  const auto frame = values / static_cast<std::size_t>(channels);
  // std::ranges algorithms are missing from emscripten 3.1.6's libc++; hence the iterator pairs.
  const bool legal = std::any_of(std::begin(kOpusFrameSizes), std::end(kOpusFrameSizes),
                                 [&](int size) { return frame == static_cast<std::size_t>(size); });
  if (values % static_cast<std::size_t>(channels) != 0 || !legal) {
    return make_error(ErrorCode::bad_value,
                      std::to_string(values) + " values for " + std::to_string(channels) +
                          " channel(s) is not an Opus frame (120, 240, 480, 960, 1920 or 2880 "
                          "samples per channel)");
  }
  std::vector<std::uint8_t> packet(kMaxPacketBytes);
  const int bytes = encode_raw(encoder, pcm.data(), static_cast<int>(frame), packet.data());
  if (bytes < 0) return opus_failure("opus_encode", bytes);
  packet.resize(static_cast<std::size_t>(bytes));
  return packet;
}

template <class Sample>
Expected<std::vector<Sample>> decode_packet(::OpusDecoder* decoder, int channels,
                                            std::span<const std::uint8_t> packet) {
  if (packet.empty()) return make_error(ErrorCode::bad_value, "not an Opus packet: empty");
  if (packet.size() > static_cast<std::size_t>(std::numeric_limits<opus_int32>::max())) {
    return make_error(ErrorCode::bad_value, "not an Opus packet: over 2 GiB");  // opus_int32 sizes
  }
  const auto bytes = static_cast<opus_int32>(packet.size());
  // Reads only the packet's header, and refuses packets over 120 ms, so `frame` (at most 5760)
  // can size the buffer. It does not refuse a header that counts zero frames, which RFC 6716
  // forbids, so that is checked here.
  const int frame = opus_packet_get_nb_samples(packet.data(), bytes, kOpusSampleRate);
  if (frame <= 0) return not_a_packet(frame < 0 ? frame : OPUS_INVALID_PACKET);
  std::vector<Sample> pcm(static_cast<std::size_t>(frame) * static_cast<std::size_t>(channels));
  const int decoded = decode_raw(decoder, packet.data(), bytes, pcm.data(), frame);
  // The header parsed but the frames did not: still the sender's bytes at fault, not ours.
  if (decoded == OPUS_INVALID_PACKET) return not_a_packet(decoded);
  if (decoded < 0) return opus_failure("opus_decode", decoded);
  pcm.resize(static_cast<std::size_t>(decoded) * static_cast<std::size_t>(channels));
  return pcm;
}

}  // namespace

bool is_opus_frame_size(int samples_per_channel) {
  return std::find(std::begin(kOpusFrameSizes), std::end(kOpusFrameSizes), samples_per_channel) !=
         std::end(kOpusFrameSizes);
}

std::string_view opus_version() { return opus_get_version_string(); }

struct OpusEncoder::State {
  explicit State(::OpusEncoder* encoder) : opus(encoder) {}
  ~State() { opus_encoder_destroy(opus); }
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ::OpusEncoder* opus;
};

struct OpusDecoder::State {
  explicit State(::OpusDecoder* decoder) : opus(decoder) {}
  ~State() { opus_decoder_destroy(opus); }
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ::OpusDecoder* opus;
};

OpusEncoder::OpusEncoder(std::unique_ptr<State> state, int channels)
    : state_(std::move(state)), channels_(channels) {}
OpusEncoder::OpusEncoder(OpusEncoder&&) noexcept = default;
OpusEncoder& OpusEncoder::operator=(OpusEncoder&&) noexcept = default;
OpusEncoder::~OpusEncoder() = default;

OpusDecoder::OpusDecoder(std::unique_ptr<State> state, int channels)
    : state_(std::move(state)), channels_(channels) {}
OpusDecoder::OpusDecoder(OpusDecoder&&) noexcept = default;
OpusDecoder& OpusDecoder::operator=(OpusDecoder&&) noexcept = default;
OpusDecoder::~OpusDecoder() = default;

Expected<OpusEncoder> OpusEncoder::create(int sample_rate, int channels, int bitrate) {
  if (auto error = check_format(sample_rate, channels)) return *error;
  if (auto error = check_bitrate(bitrate)) return *error;
  int status = OPUS_OK;
  ::OpusEncoder* opus = opus_encoder_create(sample_rate, channels, OPUS_APPLICATION_VOIP, &status);
  if (status != OPUS_OK) return opus_failure("opus_encoder_create", status);
  OpusEncoder encoder(std::make_unique<State>(opus), channels);
  if (auto applied = encoder.set_bitrate(bitrate); !applied) return applied.error();
  return encoder;
}

Expected<std::vector<std::uint8_t>> OpusEncoder::encode(std::span<const std::int16_t> pcm) {
  return encode_frame(state_->opus, channels_, pcm);
}

Expected<std::vector<std::uint8_t>> OpusEncoder::encode(std::span<const float> pcm) {
  return encode_frame(state_->opus, channels_, pcm);
}

Expected<int> OpusEncoder::set_bitrate(int bits_per_second) {
  if (auto error = check_bitrate(bits_per_second)) return *error;
  if (int status = opus_encoder_ctl(state_->opus, OPUS_SET_BITRATE(bits_per_second)); status != OPUS_OK) {
    return opus_failure("OPUS_SET_BITRATE", status);
  }
  opus_int32 applied = 0;
  if (int status = opus_encoder_ctl(state_->opus, OPUS_GET_BITRATE(&applied)); status != OPUS_OK) {
    return opus_failure("OPUS_GET_BITRATE", status);
  }
  return static_cast<int>(applied);
}

int OpusEncoder::lookahead() const {
  opus_int32 samples = 0;
  // Cannot fail on a live encoder: OPUS_GET_LOOKAHEAD only reads a field.
  opus_encoder_ctl(state_->opus, OPUS_GET_LOOKAHEAD(&samples));
  return static_cast<int>(samples);
}

Expected<OpusDecoder> OpusDecoder::create(int sample_rate, int channels) {
  if (auto error = check_format(sample_rate, channels)) return *error;
  int status = OPUS_OK;
  ::OpusDecoder* opus = opus_decoder_create(sample_rate, channels, &status);
  if (status != OPUS_OK) return opus_failure("opus_decoder_create", status);
  return OpusDecoder(std::make_unique<State>(opus), channels);
}

Expected<std::vector<std::int16_t>> OpusDecoder::decode(std::span<const std::uint8_t> packet) {
  return decode_packet<std::int16_t>(state_->opus, channels_, packet);
}

Expected<std::vector<float>> OpusDecoder::decode_float(std::span<const std::uint8_t> packet) {
  return decode_packet<float>(state_->opus, channels_, packet);
}

}  // namespace duet::audio

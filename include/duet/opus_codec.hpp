// Opus, the voice codec of WebRTC, as the audio engine uses it wherever Duet handles audio
// itself rather than through the browser: recording voice messages as Ogg Opus, measuring and
// benchmarking the codec natively and in wasm. This wraps libopus in move-only RAII handles that
// take spans and return errors as values, and fixes what Duet does not vary: 48 kHz (the clock of
// WebRTC's Opus and the rate browsers' audio runs at; resampling is the caller's business),
// interleaved mono or stereo samples, and the VoIP application, which favours speech. An encoder
// or decoder carries one stream's state, so use one per stream; neither is thread-safe, and one
// that has been moved from may only be assigned to or destroyed.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "duet/error.hpp"

namespace duet::audio {

inline constexpr int kOpusSampleRate = 48'000;
// Opus frames last 2.5, 5, 10, 20, 40 or 60 ms; these are their sizes in samples per channel.
inline constexpr int kOpusFrameSizes[] = {120, 240, 480, 960, 1920, 2880};
// Bits per second. The range is RFC 7587's for Opus over RTP; 32 kbit/s carries wideband speech
// well and is what browsers send for mono voice.
inline constexpr int kMinOpusBitrate = 6'000;
inline constexpr int kMaxOpusBitrate = 510'000;
inline constexpr int kDefaultOpusBitrate = 32'000;

// True for the sizes in kOpusFrameSizes.
bool is_opus_frame_size(int samples_per_channel);

// The linked libopus's version string, e.g. "libopus 1.3.1".
std::string_view opus_version();

class OpusEncoder {
 public:
  // bad_value unless sample_rate is kOpusSampleRate, channels is 1 or 2 and bitrate is within
  // kMinOpusBitrate..kMaxOpusBitrate; internal when Opus cannot make the encoder.
  static Expected<OpusEncoder> create(int sample_rate, int channels, int bitrate = kDefaultOpusBitrate);

  // One frame of interleaved samples (frame size x channels values) to one packet. bad_value
  // when the frame size is not in kOpusFrameSizes. Float samples are nominally -1..1.
  Expected<std::vector<std::uint8_t>> encode(std::span<const std::int16_t> pcm);
  Expected<std::vector<std::uint8_t>> encode(std::span<const float> pcm);

  // Takes effect from the next frame; returns the bitrate the encoder now uses, which libopus
  // caps at 300 kbit/s per channel. bad_value outside kMinOpusBitrate..kMaxOpusBitrate.
  Expected<int> set_bitrate(int bits_per_second);

  int channels() const { return channels_; }
  // How many samples per channel decoded audio trails the input by (Opus's look-ahead): what
  // to skip to line decoded audio up with the original.
  int lookahead() const;

  OpusEncoder(OpusEncoder&&) noexcept;
  OpusEncoder& operator=(OpusEncoder&&) noexcept;
  ~OpusEncoder();

 private:
  // Holds the libopus encoder. Defined with the implementation, so this header needs no Opus
  // headers and declares no names of libopus's (which are global and would clash with ours).
  struct State;
  OpusEncoder(std::unique_ptr<State> state, int channels);

  std::unique_ptr<State> state_;
  int channels_;
};

class OpusDecoder {
 public:
  // bad_value unless sample_rate is kOpusSampleRate and channels is 1 or 2; internal when Opus
  // cannot make the decoder.
  static Expected<OpusDecoder> create(int sample_rate, int channels);

  // One packet to interleaved samples: every frame it holds, up to 120 ms. bad_value when the
  // bytes are not an Opus packet (empty, or malformed).
  Expected<std::vector<std::int16_t>> decode(std::span<const std::uint8_t> packet);
  Expected<std::vector<float>> decode_float(std::span<const std::uint8_t> packet);

  int channels() const { return channels_; }

  OpusDecoder(OpusDecoder&&) noexcept;
  OpusDecoder& operator=(OpusDecoder&&) noexcept;
  ~OpusDecoder();

 private:
  struct State;  // holds the libopus decoder, as for the encoder
  OpusDecoder(std::unique_ptr<State> state, int channels);

  std::unique_ptr<State> state_;
  int channels_;
};

}  // namespace duet::audio

// What both benchmark pages of `tools/bench setup` measure with, so Duet and the seed stack are
// timed the same way: one wall clock for every page of the run, a per-call timeline of named
// marks, and the first remote video frame a <video> presents.
//
// Every time is `performance.timeOrigin + performance.now()`: milliseconds since the epoch with
// sub-millisecond resolution. Each page computes it from the same system clock (one machine, one
// browser), so a time taken on the callee's page can be subtracted from one taken on the caller's;
// setup.mjs checks how far the pages' clocks disagree and reports it (`clock_skew_ms`).

/** Now, on the run's shared clock, in ms. */
export const now = () => performance.timeOrigin + performance.now();

/** A page-relative DOMHighResTimeStamp (as in rVFC metadata) on the shared clock. */
const shared = (stamp) => (typeof stamp === 'number' && stamp > 0 ? performance.timeOrigin + stamp : null);

/** Named marks of one call; only the first time of each name counts. */
export class Timeline {
  marks = {};
  mark(name, at = now()) {
    if (!(name in this.marks)) this.marks[name] = at;
  }
}

/**
 * A fresh <video> for one call's remote stream, and a promise of its first presented frame.
 * requestVideoFrameCallback fires once a decoded frame has been handed to the compositor:
 * `presentedAt` is that moment (metadata.presentationTime), `callbackAt` when the callback ran
 * (with the page's next rendering update), `receivedAt` when the frame's last packet arrived (WebRTC
 * sources only), `presentedFrames` how many frames the element had presented (1 unless the
 * callback came late). A new element per call, so a frame of the previous call cannot count.
 * With `timeline` (BENCH_PROBE=1) the element's events and the first decoded frame are marked.
 */
export function remoteVideo(timeline = null) {
  document.getElementById('remote')?.remove();
  const video = document.createElement('video');
  video.id = 'remote';
  video.autoplay = true;
  video.playsInline = true;
  video.width = 320;
  video.height = 240;
  document.body.append(video);
  let resolveFrame;
  const firstFrame = new Promise((resolve) => { resolveFrame = resolve; });
  let armed = false;
  const watched = new Set();
  if (timeline) {
    for (const type of ['loadstart', 'loadeddata', 'playing', 'waiting', 'resize']) {
      video.addEventListener(type, () => timeline.mark(`video:${type}`));
    }
  }
  return {
    video,
    firstFrame,
    /** Plays `stream` in the element (as the app does, on every call); the first arms the callback. */
    show(stream) {
      video.srcObject = stream;
      if (!stream) return;
      video.play().catch(() => {}); // resolves only once frames flow; autoplay is allowed by a flag
      if (timeline) {
        for (const track of stream.getVideoTracks()) {
          if (watched.has(track)) continue;
          watched.add(track);
          track.addEventListener('unmute', () => timeline.mark('video:unmute'));
          markFirstFrame(track, timeline, 'video:decoded');
        }
      }
      if (armed) return;
      armed = true;
      video.requestVideoFrameCallback((_, metadata) => {
        resolveFrame({
          presentedAt: shared(metadata.presentationTime) ?? now(),
          callbackAt: now(),
          receivedAt: shared(metadata.receiveTime),
          presentedFrames: metadata.presentedFrames,
          width: metadata.width,
          height: metadata.height,
        });
      });
    },
    remove() {
      video.srcObject = null;
      video.remove();
    },
  };
}

/** Rejects after `ms` with `what`, unless `promise` settles first. */
export function within(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** Stops every track of a stream. */
export function stopTracks(stream) {
  for (const track of stream?.getTracks() ?? []) track.stop();
}

/**
 * Diagnostics (BENCH_PROBE=1): polls `pc().getStats()` every `everyMs` until stop() and keeps a
 * row whenever a video RTP counter changed, with its time on the shared clock. It shows where a
 * slow call spent its time: frames captured and encoded, packets sent and received, keyframe
 * requests. The polling costs CPU, so figures of a probed run are not the benchmark's.
 */
export function probeStats(pc, everyMs = 5) {
  const rows = [];
  let last = '';
  let stopped = false;
  const pick = (report) => {
    const row = {};
    for (const s of report.values()) {
      if (s.type === 'media-source' && s.kind === 'video') Object.assign(row, { srcFrames: s.frames });
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        Object.assign(row, {
          framesEncoded: s.framesEncoded, keyFramesEncoded: s.keyFramesEncoded, framesSent: s.framesSent,
          packetsSent: s.packetsSent, bytesSent: s.bytesSent, pliIn: s.pliCount, firIn: s.firCount, nackIn: s.nackCount,
          targetBitrate: s.targetBitrate, width: s.frameWidth, encoder: s.encoderImplementation, limit: s.qualityLimitationReason,
        });
      }
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        Object.assign(row, {
          packetsReceived: s.packetsReceived, framesReceived: s.framesReceived, framesDecoded: s.framesDecoded,
          keyFramesDecoded: s.keyFramesDecoded, framesDropped: s.framesDropped, pliOut: s.pliCount, firOut: s.firCount, nackOut: s.nackCount,
          packetsLost: s.packetsLost,
        });
      }
      if (s.type === 'candidate-pair' && s.nominated) Object.assign(row, { pair: s.state, outBitrate: s.availableOutgoingBitrate });
    }
    return row;
  };
  (async () => {
    while (!stopped) {
      const connection = pc();
      if (connection && connection.connectionState !== 'closed') {
        try {
          const row = pick(await connection.getStats());
          const key = JSON.stringify(row);
          if (key !== last) {
            last = key;
            rows.push({ at: now(), ...row });
          }
        } catch { /* closed meanwhile */ }
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return { stop() { stopped = true; return rows; } };
}

/**
 * Diagnostics (BENCH_PROBE=1): marks `name` when the first frame of `track` can be read, from a
 * clone through a MediaStreamTrackProcessor (Chromium): for a camera, its first captured frame;
 * for a remote track, its first decoded frame.
 */
export function markFirstFrame(track, timeline, name) {
  if (!track || !globalThis.MediaStreamTrackProcessor) return;
  const reader = new MediaStreamTrackProcessor({ track: track.clone() }).readable.getReader();
  reader.read().then(({ value }) => {
    timeline.mark(name);
    value?.close();
    reader.cancel();
  }, () => {});
}

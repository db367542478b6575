// A WHEP player (draft-ietf-wish-whep) in the browser: one recvonly offer POSTed to a WHEP endpoint, the answer
// applied, DELETE at the end. No npm package, no build step: import it as an ES module.
//   const player = new WHEPPlayer("/whep/ROOM/NAME", { token });
//   video.srcObject = await player.play();   // throws WHEPError (status, retryAfter) if the server refuses
//   await player.stop();

/** A refusal: the HTTP status, the server's reason and, for 409/503, the seconds to wait before trying again. */
export class WHEPError extends Error {
  constructor(status, message, retryAfter) {
    super(message);
    this.name = "WHEPError";
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

export class WHEPPlayer {
  #url;
  #token;
  #pc = null;
  #session = null;
  #stream = null;

  /** `url`: the WHEP endpoint (absolute, or relative to the page); `token`: sent as `Authorization: Bearer`. */
  constructor(url, { token = null, iceServers = [] } = {}) {
    this.#url = new URL(url, globalThis.location?.href).href;
    this.#token = token;
    this.iceServers = iceServers;
  }

  /** The peer connection, e.g. for getStats(); null before play(). */
  peerConnection() { return this.#pc; }
  /** The session URL the server gave (DELETE ends it); null before play() succeeds. */
  sessionURL() { return this.#session; }

  /** Resolves with the MediaStream that receives the stream (tracks arrive as the media does). */
  async play() {
    if (this.#pc) throw new Error("already playing");
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    this.#pc = pc;
    this.#stream = new MediaStream();
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    pc.ontrack = (event) => this.#stream.addTrack(event.track);
    try {
      // No trickle: Parley is ICE-lite and learns the browser's address from its checks, so the offer goes at once.
      await pc.setLocalDescription(await pc.createOffer());
      const response = await fetch(this.#url, {
        method: "POST", headers: this.#headers({ "Content-Type": "application/sdp" }), body: pc.localDescription.sdp,
      });
      const body = await response.text();
      if (response.status !== 201) {
        let reason = body;
        try { reason = JSON.parse(body).detail ?? body; } catch { /* plain text */ }
        const retry = Number(response.headers.get("Retry-After"));
        throw new WHEPError(response.status, reason || `HTTP ${response.status}`, Number.isFinite(retry) && retry > 0 ? retry : null);
      }
      this.#session = new URL(response.headers.get("Location"), this.#url).href;
      await pc.setRemoteDescription({ type: "answer", sdp: body });
      return this.#stream;
    } catch (error) {
      pc.close();
      this.#pc = null;
      throw error;
    }
  }

  /** Ends the play: DELETE on the session (errors ignored: the server ends it by ICE consent anyway). */
  async stop() {
    const session = this.#session;
    this.#session = null;
    this.#pc?.close();
    this.#pc = null;
    if (session) await fetch(session, { method: "DELETE", headers: this.#headers({}) }).catch(() => {});
  }

  #headers(extra) {
    return this.#token ? { ...extra, Authorization: `Bearer ${this.#token}` } : extra;
  }
}

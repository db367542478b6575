import { test } from "node:test";
import assert from "node:assert/strict";
import { FakePeerConnection, installFakeMedia, pc } from "./fakes.mjs";
import { WHEPPlayer, WHEPError } from "../whep.js";

/** fetch as a WHEP server answers: `responses` in order; records the requests. */
function fakeFetch(responses) {
  const requests = [];
  globalThis.fetch = async (url, init) => {
    requests.push({ url, method: init.method, headers: init.headers, body: init.body });
    const r = responses.shift();
    return { status: r.status, text: async () => r.body ?? "", headers: { get: (name) => r.headers?.[name] ?? null } };
  };
  return requests;
}

test("play() posts a recvonly offer with the token, applies the answer, and stop() deletes the session", async () => {
  installFakeMedia();
  const requests = fakeFetch([
    { status: 201, body: "answer-sdp", headers: { Location: "/whep/r/cam/abc" } },
    { status: 200 },
  ]);
  const player = new WHEPPlayer("http://h:8080/whep/r/cam", { token: "t0k" });
  const stream = await player.play();
  assert.deepEqual(pc(0).transceivers.map((t) => [t.kind, t.direction]), [["video", "recvonly"], ["audio", "recvonly"]]);
  assert.deepEqual(requests[0], { url: "http://h:8080/whep/r/cam", method: "POST", body: "offer0",
    headers: { "Content-Type": "application/sdp", Authorization: "Bearer t0k" } });
  assert.deepEqual(pc(0).remoteDescription, { type: "answer", sdp: "answer-sdp" });
  assert.equal(player.sessionURL(), "http://h:8080/whep/r/cam/abc");
  pc(0).receive("video");
  assert.equal(stream.getVideoTracks().length, 1);
  await player.stop();
  assert.deepEqual(requests[1], { url: "http://h:8080/whep/r/cam/abc", method: "DELETE", body: undefined,
    headers: { Authorization: "Bearer t0k" } });
  assert.equal(pc(0).closed, true);
});

test("a refusal is a WHEPError with the server's reason and when to try again", async () => {
  installFakeMedia();
  fakeFetch([{ status: 409, body: JSON.stringify({ status: 409, detail: "'cam' publishes nothing yet" }), headers: { "Retry-After": "5" } }]);
  const player = new WHEPPlayer("http://h/whep/r/cam");
  await assert.rejects(player.play(), (error) => error instanceof WHEPError && error.status === 409
    && error.message === "'cam' publishes nothing yet" && error.retryAfter === 5);
  assert.equal(FakePeerConnection.instances[0].closed, true);
  assert.equal(player.peerConnection(), null);
  fakeFetch([{ status: 404, body: "" }]);
  await assert.rejects(new WHEPPlayer("http://h/whep/r/nobody").play(), (error) => error.status === 404 && error.retryAfter === null);
});
